"""What charging asks the forwarding service on the hook path: whose call is this, and where does it go.

A call with service `forward` and `forwarded_from` (the business's number)
is served in the business's name: its caller blacklist and schedule are
checked, the agent or destination is chosen (`Business.choose`), the leg is
rated on that number from the business's own area, and charged to the
business's paying account. Everything here reads and records aggregates in
the authorize's own unit of work (never a view), so the pick is saved, or
not, with the hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ledger.charging import CallSession
from ledger.forwarding import Business, business_id
from ledger.unit_of_work import UnitOfWork
from rating.numberplan import DialPlan
from services.charging.requests import CallRequest, Refusal, e164_of

#: Refusal reasons of forwarded calls (beside charging's own).
NOT_FORWARDED, OUTSIDE_SCHEDULE, NO_AGENT_FREE = "not_forwarded", "outside_schedule", "no_agent_free"


@dataclass(frozen=True)
class Route:
    business: Business
    agent: str  # E.164
    caller: str

    def request(self, req: CallRequest) -> CallRequest:
        """The request as charging rates it: the business's account, the agent's number."""
        return replace(req, account=self.business.account, callee=self.agent)

    def answer(self) -> dict[str, Any]:
        b = self.business
        return {"business": b.number, "agent": self.agent, "destination": self.agent,
                "presented_number": b.presented, "greeting": b.greeting}


def business_of(uow: UnitOfWork, forwarded_from: str | None, dial: DialPlan) -> Business | None:
    e164 = e164_of(forwarded_from, dial) if forwarded_from else None
    return uow.find(business_id(e164), Business) if e164 else None


def route(uow: UnitOfWork, req: CallRequest, caller: str | None, dial: DialPlan, now: datetime) -> Route:
    """Where a forwarded call goes, or a Refusal; records nothing."""
    business = business_of(uow, req.forwarded_from, dial)
    if business is None:
        raise Refusal(NOT_FORWARDED, f"{req.forwarded_from!r} is not a number forwarded to this platform")
    who = caller or req.caller
    if business.blocks(who):
        raise Refusal("blacklisted", f"the caller is blacklisted by {business.number}")
    if not business.forwards_at(now):
        raise Refusal(OUTSIDE_SCHEDULE, f"{business.number} is not forwarded at this hour")
    agent = business.choose(now)
    if agent is None:
        if not business.agents:  # the operator's fix is a profile, not waiting for a free line
            raise Refusal(NO_AGENT_FREE, f"{business.number} has no agents in its profile")
        raise Refusal(NO_AGENT_FREE, f"no agent of {business.number} is free")
    return Route(business, agent, who)


def record_route(route: Route, call_id: str, now: datetime) -> None:
    route.business.route(call_id, route.agent, route.caller, now)


def record_turned_away(uow: UnitOfWork, req: CallRequest, caller: str | None, reason: str, dial: DialPlan,
                       now: datetime) -> None:
    """A forwarded call refused: kept in the business's call log (calls into the system)."""
    business = business_of(uow, req.forwarded_from, dial)
    if business is not None:
        business.turn_away(req.call_id, caller or req.caller, reason, now)


def forwarded_from(session: CallSession) -> str | None:
    """The business number a forwarded session was for: from the request it recorded (canonical JSON)."""
    if session.service != "forward":
        return None
    return json.loads(session.request).get("forwarded_from")  # type: ignore[no-any-return]


def finish(uow: UnitOfWork, session: CallSession, dial: DialPlan, ended_at: datetime, billsec: int,
           charged: int, expired: bool = False) -> None:
    """Free the agent of a forwarded call at its end or expiry, with what the call log needs."""
    business = business_of(uow, forwarded_from(session), dial)
    if business is None or session.authorized_at is None:
        return
    answered = session.answered_at
    outcome = "expired" if expired else ("answered" if answered is not None else "abandoned")
    business.finish(session.call_id, outcome, session.authorized_at, answered, ended_at, billsec, charged)
