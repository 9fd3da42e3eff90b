"""Switch hooks and IVR menu of missed-call notification (来电提醒), as FastAPI routes.

The switch reports a missed call with its cause, a caller's reachable-again
request keyed at the platform's IVR, and the callee reachable again
(registration, attach, or a busy line gone idle). The owner's menu (history
on request, PIN, blacklist) takes the owner's PIN on every request. Each
route checks the switch's token before it reads the body, parses the body
strictly, runs one call of `services.missed_calls` off the event loop and
answers JSON with money as decimal strings. A refusal is a 200 with its
`reason`; a malformed request is a 4xx `{"error", "message"}` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from adapters.http.errors import (
    json_response,
)
from adapters.http.switch_calls import switch_call
from adapters.http.models import Callee, Caller, CallId, ErrorAnswer
from ledger.money import format_money
from services.missed_calls import MissedCalls

Body = TypeVar("Body", bound=BaseModel)
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorAnswer} for code in (401, 404, 409, 422)}
MONEY = ("fee", "charged", "balance")
Pin = Annotated[str, Field(min_length=1, max_length=32, description="Never logged.")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class MissedBody(_Body):
    call_id: CallId
    caller: Caller
    callee: Callee
    cause: Literal["busy", "off", "unreachable", "out_of_area"]


class ReachableRequestBody(_Body):
    call_id: CallId
    caller: Caller
    callee: Callee
    #: Where to send the notice; default the caller's own number.
    notify: Callee | None = None


class ReachableBody(_Body):
    #: The switch's id of the registration or attach (a retry with the same id sends nothing more).
    event_id: CallId
    callee: Callee


class PinCheckBody(_Body):
    number: Callee
    pin: Pin


class PinChangeBody(_Body):
    number: Callee
    old_pin: Pin | None = None
    new_pin: Pin


class HistoryBody(_Body):
    call_id: CallId
    number: Callee
    pin: Pin


class BlacklistBody(_Body):
    number: Callee
    pin: Pin
    caller: Caller
    blocked: bool = True


def _money(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: format_money(v) if k in MONEY and isinstance(v, int) and not isinstance(v, bool) else _money(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_money(v) for v in value]
    return value


def _documented(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def build_missed_call_router(service: MissedCalls, switch_of: Callable[[str | None], str]) -> APIRouter:
    router = APIRouter(prefix="/v1/missed-calls", tags=["missed-call notification"], responses=ERRORS)

    async def run(request: Request, model: type[Body], call: Callable[[Body, str], dict[str, Any]]) -> Response:
        outcome = await switch_call(request, switch_of, model, call)
        return outcome if isinstance(outcome, Response) else json_response(_money(outcome))

    @router.post("", openapi_extra=_documented(MissedBody))
    async def missed(request: Request) -> Response:
        """A call the switch could not put through (busy, off, unreachable, out of area). `recorded` false with
        `reason` `not_subscribed`, `subscription_suspended` or `blacklisted` when nothing is kept; a retry of a
        recorded `call_id` returns the first answer."""
        return await run(request, MissedBody, lambda b, actor: service.missed(
            b.call_id, b.caller, b.callee, b.cause, actor))

    @router.post("/reachable-requests", openapi_extra=_documented(ReachableRequestBody))
    async def request_reachable(request: Request) -> Response:
        """The caller keyed "tell me when they are reachable" (at `notify`, default their own number); the
        notice costs them `fee` when it is sent. `accepted` false: `unknown_account` or `insufficient_funds`."""
        return await run(request, ReachableRequestBody, lambda b, actor: service.request_reachable(
            b.call_id, b.caller, b.callee, b.notify, actor))

    @router.post("/reachable", openapi_extra=_documented(ReachableBody))
    async def reachable(request: Request) -> Response:
        """The callee is reachable again: the pending notices and reachable-again notices go out now."""
        return await run(request, ReachableBody, lambda b, actor: service.reachable(b.event_id, b.callee, actor))

    @router.post("/owner/pin-check", openapi_extra=_documented(PinCheckBody))
    async def pin_check(request: Request) -> Response:
        """The owner's PIN for the menu: `verified`, or `reason` and `tries_left` (a wrong try counts)."""
        return await run(request, PinCheckBody, lambda b, actor: service.check_pin(b.number, b.pin, actor))

    @router.post("/owner/pin", openapi_extra=_documented(PinChangeBody))
    async def pin_change(request: Request) -> Response:
        """Set the owner's PIN (6 to 10 digits); once one is set, `old_pin` is needed."""
        return await run(request, PinChangeBody, lambda b, actor: service.change_pin(
            b.number, b.new_pin, b.old_pin, actor))

    @router.post("/owner/history", openapi_extra=_documented(HistoryBody))
    async def history(request: Request) -> Response:
        """The owner's latest missed calls for the IVR to read out (来话点播), charged `charged`; a retry with
        the same `call_id` is charged once."""
        return await run(request, HistoryBody, lambda b, actor: service.history(
            b.number, actor, pin=b.pin, op_id=f"ivr:{b.call_id}"))

    @router.post("/owner/blacklist", openapi_extra=_documented(BlacklistBody))
    async def blacklist(request: Request) -> Response:
        """Blacklist a caller for the owner's account (`blocked` false lets them back)."""
        return await run(request, BlacklistBody, lambda b, actor: service.block(
            b.number, b.caller, actor, pin=b.pin, blocked=b.blocked))

    return router
