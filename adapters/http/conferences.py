"""Switch hooks of the conference service and the subscriber's PIN change, as FastAPI routes.

The switch authenticates with its bearer token, as on every hook. Each route
parses the body strictly, calls `services.conferences` (or `services.pins`)
off the event loop, and answers JSON; a refusal of the instant trigger is a
200 with `accepted: false` and a `reason`, like `authorized: false`. Errors
keep the one shape `{"error", "message"}` and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from adapters.http.errors import json_response
from adapters.http.switch_calls import switch_call
from adapters.http.models import PRINTABLE, Callee, Caller, ErrorAnswer
from services.charging import Charging
from services.conferences import Conferences
from services.pins import change_pin_answer

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorAnswer} for code in (401, 404, 409, 422)}


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=True)


class TriggerBody(_Body):
    call_id: Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]
    caller: Caller


class NumberBody(_Body):
    number: Callee


class LegBody(_Body):
    event: Literal["joined", "failed", "hangup"]
    cause: Annotated[str, Field(max_length=64, pattern=PRINTABLE)] = ""


class PinChangeBody(_Body):
    old_pin: str = Field(min_length=1, max_length=32, description="The PIN in use (never logged).")
    new_pin: str = Field(min_length=1, max_length=32, description="The new PIN, 6 to 10 digits (never logged).")


class Leg(BaseModel):
    leg: str
    number: str
    attempt: int
    status: str
    retry_at: datetime | None


class ConferenceAnswer(BaseModel):
    conference_id: str | None
    accepted: bool = True
    #: Why a trigger was not accepted: unknown_account, account_closed or insufficient_funds.
    reason: str | None = None
    message: str | None = None
    status: str | None = None
    initiator: str | None = None
    account: str | None = None
    participants: list[str] = []
    #: Legs this request had the switch place (dial) or cut.
    legs: list[str] = []
    leg_list: list[Leg] = []


class PinChangeAnswer(BaseModel):
    account: str
    changed: bool
    #: None when changed, else `wrong_pin` or `pin_locked`.
    reason: str | None
    tries_left: int


def _body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` describing the JSON body a route validates itself (for /docs and the fuzz tests)."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}


def _answer(result: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in result.items() if k in ConferenceAnswer.model_fields}
    out["accepted"] = result.get("accepted", True)
    out["leg_list"] = [{**{k: leg[k] for k in ("leg", "number", "attempt", "status")},
                        "retry_at": leg["retry_at"].isoformat() if leg.get("retry_at") else None}
                       for leg in result.get("leg_list", [])]
    return out


def build_conference_router(conferences: Conferences, charging: Charging,
                            switch_of: Callable[[str | None], str]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["conference hooks"], responses=ERRORS)

    async def run(request: Request, model: type[BaseModel] | None,
                  work: Callable[[Any, str], dict[str, Any]]) -> Response:
        outcome = await switch_call(request, switch_of, model, work)
        return outcome if isinstance(outcome, Response) else json_response(outcome)

    @router.post("/conferences", response_model=ConferenceAnswer, openapi_extra=_body(TriggerBody))
    async def trigger(request: Request) -> Response:
        """The initiator rang the conference access number: reject it unanswered (`answer` is always
        `reject`), and the platform calls the initiator back (leg in `legs`)."""
        return await run(request, TriggerBody, lambda b, actor: {
            **_answer(conferences.start_instant(b.call_id, b.caller, actor)), "answer": "reject"})

    @router.post("/conferences/{conference_id}/participants", response_model=ConferenceAnswer,
                 openapi_extra=_body(NumberBody))
    async def invite(conference_id: str, request: Request) -> Response:
        """The initiator keyed a participant's number: it is called into the conference."""
        return await run(request, NumberBody,
                         lambda b, actor: _answer(conferences.invite(conference_id, b.number, actor)))

    @router.post("/conferences/{conference_id}/drop", response_model=ConferenceAnswer, openapi_extra=_body(NumberBody))
    async def drop(conference_id: str, request: Request) -> Response:
        """The initiator drops a participant: its leg is cut."""
        return await run(request, NumberBody,
                         lambda b, actor: _answer(conferences.drop(conference_id, b.number, actor)))

    @router.post("/conferences/{conference_id}/legs/{leg}", response_model=ConferenceAnswer,
                 openapi_extra=_body(LegBody))
    async def leg_event(conference_id: str, leg: str, request: Request) -> Response:
        """A leg the platform placed was answered (`joined`), not answered (`failed`: retried as booked)
        or hung up (`hangup`: the initiator's ends the conference and cuts the other legs)."""
        return await run(request, LegBody,
                         lambda b, actor: _answer(conferences.leg_event(conference_id, leg, b.event, b.cause)))

    @router.post("/accounts/{number}/pin/change", response_model=PinChangeAnswer, openapi_extra=_body(PinChangeBody))
    async def pin_change(number: str, request: Request) -> Response:
        """A subscriber changes their PIN by phone (account number or bound phone); a wrong old PIN is
        an answer (`changed` false) and counts toward the lockout after five."""
        return await run(request, PinChangeBody,
                         lambda b, actor: change_pin_answer(charging, number, b.old_pin, b.new_pin, actor))

    return router
