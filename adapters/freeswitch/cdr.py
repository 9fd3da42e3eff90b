"""The mod_json_cdr receiver: `POST /v1/freeswitch/cdr?uuid=<uuid>`, one CDR per request.

The body is the CDR as raw JSON (`application/json`, mod_json_cdr's
default) or a form field `cdr=` (its `encode` setting); the string values
inside are URL-encoded unless `encode-values` is off, and both are read.
The CDR's `variables` give `ringledger_call_id` (set at park or originate),
`billsec`, `end_uepoch`/`end_epoch` and `hangup_cause`.

Guarantees (mod_json_cdr takes any 2xx as done and retries anything else):

* a 2xx is sent only once the call's end is committed or fsynced to the
  spool; a 503 `unavailable` when neither could be done, so the switch
  sends it again;
* a CDR repeated, or one whose hangup event arrived first, charges nothing
  more (the end is idempotent per call id): the answer is the first one;
* a body that is not such a CDR is refused with a 400 `invalid_cdr` and a
  message saying what is wrong, and changes nothing; a CDR of a channel
  that is not ours (no `ringledger_call_id`: a bridged B leg) is answered
  200 `recorded: false`, so the switch does not retry it forever.

Authentication: mod_json_cdr's `cred` (HTTP Basic `name:<switch token>`),
or a bearer token, checked like the hooks' before the body is read.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request, Response

from adapters.freeswitch.inbound import CALL_VAR
from adapters.freeswitch.reports import Reports, instant
from adapters.http.errors import Unauthorized, error, json_response, ledger_error
from adapters.spool import Spooled
from ledger.errors import LedgerError, StoreUnavailable
from ledger.money import format_money
from services.store_errors import is_store_unavailable


class InvalidCdr(ValueError):
    pass


#: The largest CDR body taken: a full mod_json_cdr record (callflow, app_log, every variable) is often
#: larger than a switch hook's body, so this path has its own limit.
MAX_CDR_BODY_BYTES = 262_144
_SECONDS = re.compile(r"[0-9]{1,9}")  # ASCII digits only; a billsec past 31 years is not a call
_EPOCH = re.compile(r"[0-9]{1,19}")


def _ended(get: dict[str, str]) -> datetime | None:
    """The CDR's end from end_uepoch (or end_epoch); a value that is not a time is an `InvalidCdr`."""
    for name, scale in (("end_uepoch", 1), ("end_epoch", 1_000_000)):
        raw = get.get(name, "")
        if not raw:
            continue
        if not _EPOCH.fullmatch(raw):
            raise InvalidCdr(f"variables.{name} is not a time: {raw[:20]!r}")
        try:
            return instant(int(raw) * scale)
        except (OverflowError, ValueError, OSError):
            raise InvalidCdr(f"variables.{name} is not a time: {raw[:20]!r}") from None
    return None


@dataclass(frozen=True)
class Cdr:
    call_id: str | None
    uuid: str
    billsec: int
    ended_at: datetime | None
    cause: str


def _value(raw: Any, decode: bool) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InvalidCdr(f"a variable is a {type(raw).__name__}, not a string")
    return unquote(raw) if decode else raw


def parse_cdr(body: bytes, content_type: str = "") -> Cdr:
    """A CDR from either encoding; `InvalidCdr` says what is wrong with anything else."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        raise InvalidCdr("the body is empty")
    if "x-www-form-urlencoded" in content_type or text.startswith("cdr="):
        fields = parse_qs(text, keep_blank_values=True)
        if "cdr" not in fields:
            raise InvalidCdr("a form body needs the field cdr")
        text = fields["cdr"][0]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidCdr(f"the CDR is not JSON: {err.msg} at character {err.pos}") from None
    if not isinstance(data, dict) or not isinstance(data.get("variables"), dict):
        raise InvalidCdr("the CDR has no variables object")
    variables = data["variables"]
    # Values are URL-encoded unless encode-values is off: a value with a '%' is decoded.
    get = {k: _value(v, isinstance(v, str) and "%" in v) for k, v in variables.items()
           if k in (CALL_VAR, "uuid", "billsec", "end_uepoch", "end_epoch", "hangup_cause")}
    uuid = get.get("uuid", "")
    if not uuid:
        raise InvalidCdr("the CDR's variables have no uuid")
    raw_billsec = get.get("billsec", "")
    if not _SECONDS.fullmatch(raw_billsec):
        raise InvalidCdr(f"variables.billsec is not a whole number of seconds: {raw_billsec[:20]!r}")
    ended = _ended(get)
    return Cdr(get.get(CALL_VAR) or None, uuid, int(raw_billsec), ended, get.get("hangup_cause", "").lower())


def _token(authorization: str | None) -> str | None:
    """The switch token of a Basic (`name:token`) or Bearer authorization."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


class CdrReceiver:
    def __init__(self, reports: Reports, switch_of: Any, max_body_bytes: int = MAX_CDR_BODY_BYTES) -> None:
        self.reports = reports
        self.switch_of = switch_of
        self.max_body_bytes = max_body_bytes
        self.received = 0
        self.spooled = 0

    async def receive(self, authorization: str | None, content_type: str, body: bytes) -> Response:
        try:
            token = _token(authorization)
            self.switch_of(f"Bearer {token}" if token else None)
        except Unauthorized as exc:
            return error("unauthorized", str(exc) or "a switch token is required", 401,
                         {"WWW-Authenticate": 'Basic realm="ringledger"'})
        try:
            cdr = parse_cdr(body, content_type)
        except InvalidCdr as exc:
            return error("invalid_cdr", str(exc), 400)
        if cdr.call_id is None:
            return json_response({"uuid": cdr.uuid, "recorded": False,
                                  "reason": f"not a ringledger call (no {CALL_VAR})"})
        try:
            outcome = await self.reports.end(cdr.call_id, cdr.billsec, cdr.ended_at, cdr.cause)
        except LedgerError as exc:
            return ledger_error(exc)
        except Exception as exc:
            if is_store_unavailable(exc) or isinstance(exc, OSError):  # not even the spool took it
                return error("unavailable", "the CDR could not be recorded or spooled; send it again", 503)
            raise
        self.received += 1
        if isinstance(outcome, Spooled):
            self.spooled += 1
            return json_response({"call_id": cdr.call_id, "recorded": True, "spooled": True}, 202)
        return json_response({"call_id": cdr.call_id, "recorded": True, "spooled": False,
                              "charged": format_money(int(outcome.get("charged") or 0)),
                              "billsec": outcome.get("billsec"),
                              "flags": outcome.get("flags")})


def build_cdr_router(receiver: CdrReceiver) -> APIRouter:
    router = APIRouter(prefix="/v1/freeswitch", tags=["FreeSWITCH"])

    @router.post("/cdr")
    async def cdr(request: Request) -> Response:
        """mod_json_cdr posts here: a 2xx once the CDR is committed or spooled durably, 503 otherwise."""
        return await receiver.receive(request.headers.get("authorization"),
                                      request.headers.get("content-type", ""), await request.body())

    return router


__all__ = ["MAX_CDR_BODY_BYTES", "Cdr", "CdrReceiver", "InvalidCdr", "StoreUnavailable", "build_cdr_router",
           "parse_cdr"]
