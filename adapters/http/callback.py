"""The callback hooks for the switch and its IVR, and the SMS inlet of a gateway that has one.

Adapters translate, they don't decide: each hook checks the switch's token
before it reads the body, parses the body strictly (422 `invalid_request`
otherwise), runs one call of `services.callback` off the event loop and
formats money as decimal strings. A refusal the caller must hear is a 200
with its `reason`; a malformed request is a 4xx `{"error", "message"}` and
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from adapters.http.callback_models import (
    BindAnswer,
    BindBody,
    CallbackEndAnswer,
    CallbackEndBody,
    DestinationAnswer,
    DestinationBody,
    InboundAnswer,
    InboundSms,
    PlaceAnswer,
    PlaceBody,
    RechargeAnswer,
    RechargeBody,
)
from adapters.http.errors import Unauthorized, error, json_response, ledger_error, validation_message
from adapters.http.models import ErrorAnswer
from adapters.http.switch_calls import switch_call
from ledger.money import format_money
from services.callback import CallbackCards, Callbacks
from services.ports import Text
from services.store_errors import is_store_unavailable, unavailable

Body = TypeVar("Body", bound=BaseModel)
MONEY = ("balance", "available", "hold", "charged", "leg_a_charged", "leg_b_charged", "amount", "price_per_minute")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorAnswer}, 404: {"model": ErrorAnswer}, 409: {"model": ErrorAnswer},
    422: {"model": ErrorAnswer},
}


@runtime_checkable
class SmsInlet(Protocol):
    """A gateway that can be handed a text as if a phone sent it, and shows what it sent (fake, logging)."""

    def receive(self, sender: str, body: str, recipient: str | None = None) -> None: ...

    def outbox(self) -> list[tuple[str, Text]]: ...


def _money(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: format_money(v) if k in MONEY and isinstance(v, int) and not isinstance(v, bool) else v
            for k, v in answer.items()}


def _documented(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


class CallbackHooks:
    def __init__(self, callbacks: Callbacks, cards: CallbackCards, switch_of: Callable[[str | None], str]) -> None:
        self.callbacks = callbacks
        self.cards = cards
        self.switch_of = switch_of

    async def run(self, request: Request, model: type[Body],
                  call: Callable[[Body, str], dict[str, Any]]) -> Response:
        outcome = await switch_call(request, self.switch_of, model, call)
        return outcome if isinstance(outcome, Response) else json_response(_money(outcome))


def build_callback_router(hooks: CallbackHooks) -> APIRouter:
    router = APIRouter(prefix="/v1/callback", tags=["callback"], responses=ERRORS)
    callbacks, cards = hooks.callbacks, hooks.cards

    @router.post("/calls", response_model=PlaceAnswer, openapi_extra=_documented(PlaceBody))
    async def place(request: Request) -> Response:
        """A call to the access number: reject it unanswered (`reject` is always true) and, if the caller's
        card can pay, ring the caller back through the dialer (leg A, call id `<call_id>-a`)."""
        return await hooks.run(request, PlaceBody, lambda b, actor: callbacks.place(
            b.call_id, b.caller, b.access_number, actor))

    @router.post("/calls/{call_id}/destination", response_model=DestinationAnswer,
                 openapi_extra=_documented(DestinationBody))
    async def destination(call_id: str, request: Request) -> Response:
        """The subscriber keyed a destination: authorize leg B (`<call_id>-b`) and leg A together; `max_seconds`
        is the bridged time both legs' costs fit in, `warn_after_seconds` when to play the low-balance warning."""
        return await hooks.run(request, DestinationBody, lambda b, actor: callbacks.bridge(
            call_id, b.destination, actor))

    @router.post("/calls/{call_id}/end", response_model=CallbackEndAnswer, openapi_extra=_documented(CallbackEndBody))
    async def end(call_id: str, request: Request) -> Response:
        """Both legs are over (a leg still open is ended at the billsec given): what they cost, the balance to
        announce. Without a bridge, leg A's time is charged alone."""
        return await hooks.run(request, CallbackEndBody, lambda b, actor: callbacks.end(
            call_id, b.leg_a_billsec, b.leg_b_billsec, b.cause, actor))

    @router.post("/bind", response_model=BindAnswer, openapi_extra=_documented(BindBody))
    async def bind(request: Request) -> Response:
        """Bind a card to the calling number with the card's PIN (the IVR of a fixed line that cannot text).
        A wrong PIN is `bound: false`, `reason: wrong_pin`, and counts toward the card's lockout."""
        return await hooks.run(request, BindBody, lambda b, actor: cards.bind(b.card, b.pin, b.caller, actor))

    @router.post("/recharge", response_model=RechargeAnswer, openapi_extra=_documented(RechargeBody))
    async def recharge(request: Request) -> Response:
        """Redeem a voucher keyed in the IVR into the calling number's account; a retry with the same
        `call_id` returns the first answer."""
        return await hooks.run(request, RechargeBody, lambda b, actor: cards.recharge(
            b.voucher, b.pin, b.caller, actor, op_id=f"ivr-recharge:{b.call_id}"))

    return router


def build_sms_router(inlet: SmsInlet, switch_of: Callable[[str | None], str]) -> APIRouter:
    """`POST /v1/sms/inbound` plays a text arriving at the gateway; `GET /v1/sms/outbox` shows what it sent."""
    router = APIRouter(prefix="/v1/sms", tags=["sms (test gateway)"], responses=ERRORS)

    def sent(to: str | None = None, after: set[str] | None = None) -> list[dict[str, str]]:
        return [{"id": i, "from": t.sender, "to": t.recipient, "text": t.body} for i, t in inlet.outbox()
                if (to is None or t.recipient == to) and (after is None or i not in after)]

    @router.post("/inbound", response_model=InboundAnswer, openapi_extra=_documented(InboundSms))
    async def inbound(request: Request) -> Response:
        """A text from a phone to the access number; the answer lists the replies it caused."""
        try:
            switch_of(request.headers.get("authorization"))
        except Unauthorized as exc:
            return error("unauthorized", str(exc), 401, {"WWW-Authenticate": "Bearer"})
        try:
            body = InboundSms.model_validate_json(await request.body())
        except ValidationError as err:
            return error("invalid_request", validation_message(err.errors()), 422)

        def deliver() -> list[dict[str, str]]:
            before = {i for i, _ in inlet.outbox()}
            inlet.receive(body.sender, body.text, body.recipient)
            return sent(after=before)

        try:
            replies = await run_in_threadpool(deliver)
        except Exception as exc:
            if is_store_unavailable(exc):  # the gateway gets the hooks' 503 and delivers the text again
                return ledger_error(unavailable(exc))
            raise
        return json_response({"received": True, "replies": replies})

    @router.get("/outbox")
    def outbox(request: Request, to: str | None = None) -> Response:
        """The texts the gateway sent (the last 1,000), oldest first; `to` picks one recipient (E.164)."""
        try:
            switch_of(request.headers.get("authorization"))
        except Unauthorized as exc:
            return error("unauthorized", str(exc), 401, {"WWW-Authenticate": "Bearer"})
        return json_response({"messages": sent(to)})

    return router
