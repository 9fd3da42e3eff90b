"""Errors cross the HTTP edge once: `{"error": CODE, "message": TEXT}` with a 4xx status.

A refusal to authorize is not an error (it is a 200 with `authorized: false`);
these are for requests that are malformed, unauthenticated or about a call
the ledger does not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from ledger.errors import IdempotencyConflict, InvalidRequest, LedgerError, NotFound
from ledger.money import MoneyFormatError


class Unauthorized(Exception):
    """No bearer token, or one that no configured switch holds."""


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def error(code: str, message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": code, "message": message}, status, headers)


def status_for(err: LedgerError) -> int:
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, InvalidRequest):
        return 422
    if err.code in ("busy", "unavailable"):
        return 503
    if isinstance(err, IdempotencyConflict):
        return 409
    return 409


def ledger_error(err: LedgerError) -> Response:
    return error(err.code, str(err), status_for(err))


def validation_message(problems: Sequence[Any]) -> str:
    """pydantic's errors as one line: `field: problem; …` (at most five)."""
    parts = []
    for problem in problems[:5]:
        where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body") or "body"
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")  # pydantic's wrapper
        parts.append(f"{where}: {message}")
    return "; ".join(parts) or "invalid request"


#: The router's own refusals, in the one shape.
_HTTP_ERRORS = {
    404: ("not_found", "there is nothing at this path; see /docs for the switch hooks and /graphql for the portal"),
    405: ("method_not_allowed", "this path does not take that method; see /docs"),
}


def install(app: FastAPI) -> None:
    async def on_ledger_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LedgerError)
        return ledger_error(exc)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error("invalid_request", validation_message(exc.errors()), 422)

    async def on_money(request: Request, exc: Exception) -> Response:
        return error("invalid_request", str(exc), 422)

    async def on_unauthorized(request: Request, exc: Exception) -> Response:
        return error("unauthorized", str(exc) or "a switch bearer token is required", 401,
                     {"WWW-Authenticate": "Bearer"})

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code, message = _HTTP_ERRORS.get(exc.status_code, ("http_error", str(exc.detail)))
        return error(code, message, exc.status_code, dict(exc.headers or {}))

    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(LedgerError, on_ledger_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(MoneyFormatError, on_money)
    app.add_exception_handler(Unauthorized, on_unauthorized)
