"""One way in for a switch's JSON request to a service (callback, conference, forwarding, missed-call hooks).

The token is checked before the body is read; the body is validated
against its model; the service runs in a worker thread, never on the event
loop the hooks share. Each failure is answered in the one error shape:
401 without a known token, 422 for a malformed body (or PIN: no try is counted), the ledger's
own status for a refusal, and 503 `unavailable` when the store does not
answer (the switch fails closed and retries with the same id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from adapters.http.errors import Unauthorized, error, ledger_error, validation_message
from ledger.errors import LedgerError
from services.store_errors import is_store_unavailable, unavailable


async def switch_call(request: Request, switch_of: Callable[[str | None], str], model: type[BaseModel] | None,
                      call: Callable[[Any, str], dict[str, Any]]) -> dict[str, Any] | Response:
    """`call(body, "switch:<name>")`'s answer, or the error `Response` to send instead."""
    try:
        switch = switch_of(request.headers.get("authorization"))
    except Unauthorized as exc:
        return error("unauthorized", str(exc), 401, {"WWW-Authenticate": "Bearer"})
    try:
        body = model.model_validate_json(await request.body()) if model is not None else None
    except ValidationError as err:
        return error("invalid_request", validation_message(err.errors()), 422)
    try:
        return await run_in_threadpool(call, body, f"switch:{switch}")
    except LedgerError as err:
        return ledger_error(err)
    except Exception as exc:
        if is_store_unavailable(exc):
            return ledger_error(unavailable(exc))
        raise
