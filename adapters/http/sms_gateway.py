"""The HTTP inlets of an SMS gateway that calls us back: Kannel's get-url (texts in) and dlr-url (reports).

Kannel cannot send a bearer header, so its URLs carry the switch token as
`token=` (a header works too). Each query is parsed strictly before
anything runs: a malformed one is a 4xx `{"error", "message"}` and changes
nothing; a report for a text we never sent is a 404.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from adapters.http.errors import Unauthorized, error, json_response, ledger_error, validation_message
from ledger.errors import LedgerError
from ledger.outbound_sms import REPORTS
from ledger.text import has_control
from services.sms_outbox import is_message_id
from services.store_errors import is_store_unavailable


class HttpInlet(Protocol):
    def receive(self, sender: str, body: str, recipient: str | None = None) -> None: ...

    def delivery(self, reference: str, mask: int) -> None: ...


class KannelText(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    sender: str = Field(alias="from", min_length=1, max_length=32, pattern=r"^\+?[0-9]{1,31}$")
    recipient: str | None = Field(None, alias="to", max_length=32, pattern=r"^\+?[0-9]{0,31}$")
    text: str = Field(max_length=1600)

    @field_validator("text")
    @classmethod
    def _printable(cls, value: str) -> str:
        if has_control(value.replace("\n", " ").replace("\r", " ")):
            raise ValueError("a text must not contain control characters")
        return value


class KannelReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ref: str = Field(max_length=64)
    status: int

    @field_validator("ref")
    @classmethod
    def _ours(cls, value: str) -> str:
        if not is_message_id(value):
            raise ValueError("ref is one of our message ids (sms-<32 hex digits>)")
        return value

    @field_validator("status")
    @classmethod
    def _known(cls, value: int) -> int:
        if value not in REPORTS:
            raise ValueError(f"status is a DLR value: one of {', '.join(map(str, sorted(REPORTS)))}")
        return value


def build_gateway_router(inlet: HttpInlet, switch_of: Callable[[str | None], str]) -> APIRouter:
    router = APIRouter(prefix="/v1/sms", tags=["sms gateway (Kannel)"])

    async def run(request: Request, model: type[BaseModel], call: Callable[[Any], None],
                  answer: dict[str, Any]) -> Response:
        token = request.query_params.get("token")
        try:
            switch_of(f"Bearer {token}" if token else request.headers.get("authorization"))
        except Unauthorized as exc:
            return error("unauthorized", str(exc), 401, {"WWW-Authenticate": "Bearer"})
        try:
            parsed = model.model_validate(dict(request.query_params))
        except ValidationError as err:
            return error("invalid_request", validation_message(err.errors()), 422)
        try:
            await run_in_threadpool(call, parsed)
        except LedgerError as err:
            return ledger_error(err)
        except Exception as exc:
            if is_store_unavailable(exc):
                return error("unavailable", "the ledger's store is not answering; send again later", 503)
            raise
        return json_response(answer)

    @router.get("/kannel/inbound")
    async def inbound(request: Request) -> Response:
        """Kannel's get-url for a received text: `from=%p&to=%P&text=%a` (the reply goes out through sendsms)."""
        return await run(request, KannelText, lambda t: inlet.receive(t.sender, t.text, t.recipient),
                         {"received": True})

    @router.get("/dlr")
    async def delivery(request: Request) -> Response:
        """Kannel's dlr-url: `ref` (our message id) and `status` (the DLR value, `%d`), recorded on the text."""
        return await run(request, KannelReport, lambda r: inlet.delivery(r.ref, r.status), {"recorded": True})

    return router


class RedactQuery(logging.Filter):
    """Drops the query string of `prefix` paths from uvicorn's access log: Kannel's URLs carry the
    token and the text (which may hold a PIN) there."""

    def __init__(self, prefix: str = "/v1/sms/") -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) \
                and args[2].startswith(self.prefix) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?…", *args[3:])
        return True


def redact_access_log() -> None:
    """Install `RedactQuery` on uvicorn's access log once."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQuery) for f in access.filters):
        access.addFilter(RedactQuery())
