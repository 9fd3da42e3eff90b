"""A business's forwarding profile (CTI 呼叫转移): calls forwarded from its number are served in its name.

One `Business` per forwarded number (id derived from the E.164 number). It
holds the profile (paying account, presented number, greeting, agents or
destinations and how calls are shared among them), the weekly schedule (in
the zone the operator registered it in), the caller blacklist, and the
state the call distributor needs: which agents hold a call now and how
many calls each has been given in the current period (the local day).

Guarantees:

* an agent is given a call only while it is free: not holding a forwarded
  call that was routed and not yet finished, and not marked busy;
* with `even` distribution the call goes to the free agent given the fewest
  calls this period (ties by the profile's order of agents), so agents that
  stay free get equal counts, within one, in every period; an agent that is
  busy is skipped and not counted; with `in_order` it goes to the first free
  one (a hunt list of destinations);
* a pick is recorded (`CallRouted`) in the same unit of work as the call's
  authorization: two calls racing for one agent collide on this aggregate's
  version and the second is decided again on the first's state;
* a routed call is finished once (`CallFinished`), by its end or its expiry.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidRequest, NotFound
from ledger.ids import derived_id
from ledger.text import check_text

DISTRIBUTIONS = ("even", "in_order")
MAX_AGENTS = 100
MAX_RULES = 50
MAX_BLOCKED = 1000
MAX_GREETING = 200
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def business_id(number: str) -> UUID:
    return derived_id("business:" + number)


def check_schedule(rules: Any) -> list[dict[str, Any]]:
    """Weekly rules as stored: `days` (ISO weekdays 1 = Monday … 7), `start` and `end` as HH:MM, start < end.

    An empty list means the number is forwarded at every hour.
    """
    if not isinstance(rules, (list, tuple)) or len(rules) > MAX_RULES:
        raise InvalidRequest(f"a schedule is a list of at most {MAX_RULES} rules")
    out = []
    for rule in rules:
        if not isinstance(rule, dict):
            raise InvalidRequest("a schedule rule has days, start and end")
        days, start, end = rule.get("days"), rule.get("start"), rule.get("end")
        if (not isinstance(days, (list, tuple)) or not days
                or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in days)):
            raise InvalidRequest("a rule's days are ISO weekdays, 1 (Monday) to 7 (Sunday)")
        for name, value in (("start", start), ("end", end)):
            if not isinstance(value, str) or not _CLOCK.match(value):
                raise InvalidRequest(f"a rule's {name} is a time of day HH:MM (00:00 to 24:00), got {value!r}")
        if not start < end:
            raise InvalidRequest(f"a rule's start ({start}) is before its end ({end})")
        out.append({"days": sorted(set(days)), "start": start, "end": end})
    return out


def check_prefixes(prefixes: Any, what: str) -> list[str]:
    """Digits of E.164 numbers or prefixes (a leading + is dropped), as stored."""
    if not isinstance(prefixes, (list, tuple)) or len(prefixes) > MAX_BLOCKED:
        raise InvalidRequest(f"{what} is a list of at most {MAX_BLOCKED} entries")
    cleaned = []
    for p in prefixes:
        digits = p[1:] if isinstance(p, str) and p.startswith("+") else p
        if not isinstance(digits, str) or not (digits.isascii() and digits.isdigit() and 1 <= len(digits) <= 20):
            raise InvalidRequest(f"an entry of {what} is 1 to 20 ASCII digits (with or without +), got {p!r}")
        cleaned.append(digits)
    return sorted(set(cleaned))


class Business(Aggregate):
    class Registered(Aggregate.Created):
        number: str
        account: str
        tz: str
        actor: str

    def __init__(self, number: str, account: str, tz: str, actor: str) -> None:
        self.number = number
        self.account = account
        self.tz = tz
        self.presented = number
        self.greeting = ""
        self.agents: list[str] = []
        self.distribution = "even"
        self.schedule: list[dict[str, Any]] = []
        self.blocked_numbers: list[str] = []
        self.blocked_prefixes: list[str] = []
        self.period = ""
        self.served: dict[str, int] = {}
        self.open_calls: dict[str, str] = {}  # call id -> agent
        self.marked_busy: list[str] = []

    @classmethod
    def register(cls, number: str, account: str, tz: str, actor: str) -> Business:
        ZoneInfo(tz)  # an unknown zone fails here, before anything is recorded
        return cls._create(cls.Registered, id=business_id(number), number=number, account=account, tz=tz,
                           actor=actor)

    # --- the profile ----------------------------------------------------------

    class ProfileSet(Aggregate.Event):
        presented: str
        greeting: str
        agents: list[str]
        distribution: str
        actor: str

        def apply(self, b: Business) -> None:
            b.presented, b.greeting, b.distribution = self.presented, self.greeting, self.distribution
            b.agents = list(self.agents)
            b.marked_busy = [a for a in b.marked_busy if a in b.agents]

    def set_profile(self, presented: str, greeting: str, agents: list[str], distribution: str, actor: str) -> None:
        check_text(greeting, "a greeting", MAX_GREETING)
        if distribution not in DISTRIBUTIONS:
            raise InvalidRequest(f"distribution is one of {', '.join(DISTRIBUTIONS)}")
        if len(agents) > MAX_AGENTS:
            raise InvalidRequest(f"agents are at most {MAX_AGENTS} numbers")
        twice = sorted({a for a in agents if agents.count(a) > 1})
        if twice:
            raise InvalidRequest(f"an agent is listed twice: {', '.join(twice)}")
        if self.number in agents:
            raise InvalidRequest("the forwarded number cannot be one of its own agents (the call would loop)")
        self.trigger_event(self.ProfileSet, presented=presented, greeting=greeting, agents=list(agents),
                           distribution=distribution, actor=actor)

    class ScheduleSet(Aggregate.Event):
        rules: list[dict[str, Any]]
        actor: str

        def apply(self, b: Business) -> None:
            b.schedule = list(self.rules)

    def set_schedule(self, rules: Any, actor: str) -> None:
        self.trigger_event(self.ScheduleSet, rules=check_schedule(rules), actor=actor)

    class BlacklistSet(Aggregate.Event):
        numbers: list[str]
        prefixes: list[str]
        actor: str

        def apply(self, b: Business) -> None:
            b.blocked_numbers, b.blocked_prefixes = list(self.numbers), list(self.prefixes)

    def set_blacklist(self, numbers: Any, prefixes: Any, actor: str) -> None:
        self.trigger_event(self.BlacklistSet, numbers=check_prefixes(numbers, "blocked numbers"),
                           prefixes=check_prefixes(prefixes, "blocked prefixes"), actor=actor)

    class AgentMarked(Aggregate.Event):
        agent: str
        busy: bool
        actor: str

        def apply(self, b: Business) -> None:
            rest = [a for a in b.marked_busy if a != self.agent]
            b.marked_busy = [*rest, self.agent] if self.busy else rest

    def mark_agent(self, agent: str, busy: bool, actor: str) -> None:
        if agent not in self.agents:
            raise UnknownAgent(f"{agent} is not an agent of {self.number}")
        self.trigger_event(self.AgentMarked, agent=agent, busy=busy, actor=actor)

    # --- what a call asks -------------------------------------------------------

    def local(self, at: datetime) -> datetime:
        return at.astimezone(ZoneInfo(self.tz))

    def forwards_at(self, at: datetime) -> bool:
        """Whether the schedule forwards the number at `at` (always, without rules)."""
        if not self.schedule:
            return True
        local = self.local(at)
        hhmm, day = local.strftime("%H:%M"), local.isoweekday()
        return any(day in r["days"] and r["start"] <= hhmm < r["end"] for r in self.schedule)

    def blocks(self, caller_e164: str) -> bool:
        digits = caller_e164.lstrip("+")
        return digits in self.blocked_numbers or any(digits.startswith(p) for p in self.blocked_prefixes)

    def period_of(self, at: datetime) -> str:
        """The ACD's counting period: the local day."""
        return self.local(at).date().isoformat()

    def served_in(self, period: str) -> dict[str, int]:
        return dict(self.served) if period == self.period else {}

    def busy(self) -> set[str]:
        return {*self.open_calls.values(), *self.marked_busy}

    def choose(self, at: datetime) -> str | None:
        """The agent the next call goes to (None: none is free); records nothing."""
        busy = self.busy()
        free = [(i, a) for i, a in enumerate(self.agents) if a not in busy]
        if not free:
            return None
        if self.distribution == "in_order":
            return free[0][1]
        served = self.served_in(self.period_of(at))
        return min(free, key=lambda ia: (served.get(ia[1], 0), ia[0]))[1]

    # --- the calls --------------------------------------------------------------

    class CallRouted(Aggregate.Event):
        call_id: str
        agent: str
        caller: str
        period: str
        routed_at: datetime

        def apply(self, b: Business) -> None:
            if self.period != b.period:
                b.period, b.served = self.period, {}
            b.served = {**b.served, self.agent: b.served.get(self.agent, 0) + 1}
            b.open_calls = {**b.open_calls, self.call_id: self.agent}

    def route(self, call_id: str, agent: str, caller: str, at: datetime) -> None:
        if agent not in self.agents or agent in self.busy():
            raise InvalidRequest(f"agent {agent} is not free")
        self.trigger_event(self.CallRouted, call_id=call_id, agent=agent, caller=caller,
                           period=self.period_of(at), routed_at=at)

    class CallTurnedAway(Aggregate.Event):
        call_id: str
        caller: str
        reason: str
        at: datetime

    def turn_away(self, call_id: str, caller: str, reason: str, at: datetime) -> None:
        self.trigger_event(self.CallTurnedAway, call_id=call_id, caller=caller, reason=reason, at=at)

    class CallFinished(Aggregate.Event):
        call_id: str
        agent: str
        outcome: str  # answered, abandoned (the caller hung up before an answer) or expired
        answered_at: datetime | None
        ended_at: datetime
        waited: int  # seconds from the routing to the answer, or to the end when not answered
        billsec: int
        charged: int

        def apply(self, b: Business) -> None:
            b.open_calls = {k: v for k, v in b.open_calls.items() if k != self.call_id}

    def finish(self, call_id: str, outcome: str, routed_at: datetime, answered_at: datetime | None,
               ended_at: datetime, billsec: int, charged: int) -> None:
        agent = self.open_calls.get(call_id)
        if agent is None:
            return  # finished already (an end after an expiry)
        waited = max(0, round(((answered_at or ended_at) - routed_at).total_seconds()))  # whole seconds
        self.trigger_event(self.CallFinished, call_id=call_id, agent=agent, outcome=outcome,
                           answered_at=answered_at, ended_at=ended_at, waited=waited, billsec=billsec,
                           charged=charged)

    def profile(self) -> dict[str, Any]:
        return {"number": self.number, "account": self.account, "presented": self.presented,
                "greeting": self.greeting, "agents": list(self.agents), "distribution": self.distribution,
                "schedule": list(self.schedule), "blocked_numbers": list(self.blocked_numbers),
                "blocked_prefixes": list(self.blocked_prefixes), "timezone": self.tz,
                "busy": sorted(self.busy())}


class BusinessNotFound(NotFound):
    code = "unknown_business"


class BusinessExists(InvalidRequest):
    code = "business_exists"


class UnknownAgent(InvalidRequest):
    code = "unknown_agent"
