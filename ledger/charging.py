"""Call sessions: one aggregate per switch call id, the CDR of record.

The id is derived from the switch's call id (`ledger.call_ids.call_id`), so a
retried authorize collides instead of reserving twice. The session records
what an auditor needs without a join: who called whom, how the destination
was classified, which tariff version and rate row priced it, the hold, the
seconds and the cost. The money itself moves on the `Account` (a hold named
by the call id: reserved at authorize, settled at end or expiry), saved in
the same transaction as the session's events.

Holds come in slices: `max_seconds` is the time granted so far and `hold`
the money held for it (the rated cost of any call up to `max_seconds`);
`GrantExtended` grows both, never shrinks them; `GrantRepriced` (at an
answer in a dearer time band) holds more or grants fewer seconds; `CallCut`
records once that the switch was told to stop.

Invariants: a session is either refused (never holds money) or authorized;
an authorized session is closed exactly once, by `Ended` or `Expired`;
an open hold expires `ttl` seconds after the last report (authorize, answer,
interim) and, once answered, never before `ttl` past the end of its granted
time; each report only ever moves the expiry later;
`charged` never exceeds the hold; a rerating never edits the charge, it
appends a `Rerated` event whose `difference` moves money separately.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.call_ids import call_id as session_id
from ledger.errors import InvalidRequest, LedgerError, NotFound
from ledger.instants import check_instant, check_not_before
from ledger.text import MAX_CALLEE_DIGITS, MAX_CALLER_DIGITS, check_digits, check_text

AUTHORIZED, REFUSED, ANSWERED, ENDED, EXPIRED = "authorized", "refused", "answered", "ended", "expired"
OPEN = (AUTHORIZED, ANSWERED)
#: The longest of each text a switch sends: callers have up to 20 digits and callees up to 28
#: (`MAX_DIGITS`), with room for a '+' and separators.
CALL_TEXT_LIMITS = {"call_id": 200, "caller": 64, "callee": 64, "service": 20, "account": 20, "booth": 64,
                    "forwarded_from": 64, "conference_id": 64, "switch": 64, "cause": 64}
MAX_DIGITS = {"caller": MAX_CALLER_DIGITS, "callee": MAX_CALLEE_DIGITS}


def check_call_texts(fields: dict[str, Any]) -> None:
    """Refuse (InvalidRequest) a call's text that is too long or holds a control character,
    and an identifier (all but `cause`) with leading or trailing whitespace: " x" and "x"
    are two calls or two booths, never one by accident."""
    for name, limit in CALL_TEXT_LIMITS.items():
        value = fields.get(name)
        if value is not None:
            check_text(value, name, limit, required=name == "call_id")
            if name != "cause" and value != value.strip():
                raise InvalidRequest(f"{name} must not begin or end with whitespace")
    for name, most in MAX_DIGITS.items():
        value = fields.get(name)
        if value is not None:
            check_digits(value, name, most)


class CallSession(Aggregate):
    #: What a phone bar's walk-in customer pays for the call (the bar's retail tariff), once priced.
    retail: int | None = None
    #: Why the call was cut (its grant ran out and no next slice could be held), once it was.
    cut_reason: str | None = None

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.status = AUTHORIZED
        self.request = ""
        self.answer: dict[str, Any] = {}
        self.account: str | None = None
        self.service = ""
        self.category = ""
        self.callee_e164 = ""
        self.hold = 0
        self.max_seconds = 0
        self.rate: dict[str, Any] = {}
        self.plan: str | None = None
        self.plan_version: int | None = None
        self.authorized_at: datetime | None = None
        self.answered_at: datetime | None = None
        self.expires_at: datetime | None = None
        self.used_seconds = 0
        self.used = 0
        self.billsec = 0
        self.rated_at: datetime | None = None  # the instant the final price was read at
        self.charged = 0
        self.corrections = 0
        self.end_answer: dict[str, Any] = {}
        self.late_end: dict[str, Any] | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> CallSession:
        """A fast copy for the repository cache: events replace attributes whole, never mutate them."""
        clone = object.__new__(type(self))
        state = self.__dict__.copy()
        state["_pending_events"] = list(self._pending_events)
        clone.__dict__.update(state)
        return clone

    # --- opening: authorized or refused ------------------------------------

    class Authorized(Aggregate.Created):
        call_id: str
        request: str
        account: str
        caller: str
        callee: str
        callee_e164: str
        category: str
        destination_prefix: str | None
        destination_name: str
        service: str
        booth: str | None
        bar: str | None
        switch: str | None
        plan: str
        plan_version: int
        rate: dict[str, Any]
        hold: int
        max_seconds: int
        authorized_at: datetime
        expires_at: datetime
        actor: str
        answer: dict[str, Any]

        def apply(self, session: CallSession) -> None:
            session.request = self.request
            session.answer = self.answer
            session.account = self.account
            session.service = self.service
            session.category = self.category
            session.callee_e164 = self.callee_e164
            session.hold = self.hold
            session.max_seconds = self.max_seconds
            session.rate = self.rate
            session.plan = self.plan
            session.plan_version = self.plan_version
            session.authorized_at = self.authorized_at
            session.expires_at = self.expires_at

    @classmethod
    def authorize(cls, **fields: Any) -> CallSession:
        """Open an authorized session; the caller has already reserved `hold` on the account."""
        if fields["hold"] < 0 or fields["max_seconds"] <= 0:
            raise InvalidRequest("an authorized call needs a hold >= 0 and max_seconds > 0")
        check_call_texts(fields)
        return cls._create(cls.Authorized, id=session_id(fields["call_id"]), **fields)

    class Refused(Aggregate.Created):
        call_id: str
        request: str
        account: str | None
        caller: str
        callee: str
        service: str
        booth: str | None
        switch: str | None
        reason: str
        message: str
        refused_at: datetime
        actor: str
        answer: dict[str, Any]

        def apply(self, session: CallSession) -> None:
            session.status = REFUSED
            session.request = self.request
            session.answer = self.answer
            session.account = self.account
            session.service = self.service
            session.authorized_at = self.refused_at

    @classmethod
    def refuse(cls, **fields: Any) -> CallSession:
        check_call_texts(fields)
        return cls._create(cls.Refused, id=session_id(fields["call_id"]), **fields)

    # --- progress -----------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def _check_authorized(self) -> None:
        if self.status == REFUSED:
            raise CallNotOpen(f"call {self.call_id} was refused ({self.answer.get('reason')})")

    def expiry_after_report(self, reported_at: datetime, ttl: int,
                            answered_at: datetime | None = None, granted: int | None = None) -> datetime:
        """When the hold expires after a report at `reported_at` (the rule in the module docstring).

        Unanswered: `ttl` after the report. Answered: `ttl` after the later of
        the report and the end of the granted time (answer + `granted`, by
        default the seconds granted so far). Never earlier than the expiry
        already recorded.
        """
        answered_at = answered_at or self.answered_at
        last = reported_at
        if answered_at is not None:
            last = max(last, answered_at + timedelta(seconds=self.max_seconds if granted is None else granted))
        expires = last + timedelta(seconds=ttl)
        return max(expires, self.expires_at) if self.expires_at is not None else expires

    class Answered(Aggregate.Event):
        class_version = 2
        answered_at: datetime
        expires_at: datetime | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["expires_at"] = None  # recorded before expiry moved with reports

        def apply(self, session: CallSession) -> None:
            session.status = ANSWERED
            session.answered_at = self.answered_at
            if self.expires_at is not None:
                session.expires_at = self.expires_at

    def answered(self, at: datetime, *, reported_at: datetime | None = None, ttl: int | None = None) -> None:
        """Record the answer instant once; a repeat (or an answer after the end) changes nothing.

        With `ttl`, the hold's expiry moves per `expiry_after_report` (report time `reported_at`, default `at`).
        """
        self._check_authorized()
        if self.status == AUTHORIZED:
            at = check_instant(at, "answered_at")
            check_not_before(at, self.authorized_at, "answered_at")
            expires_at = None if ttl is None else self.expiry_after_report(reported_at or at, ttl, at)
            self.trigger_event(self.Answered, answered_at=at, expires_at=expires_at)

    class InterimReported(Aggregate.Event):
        class_version = 2
        used_seconds: int
        used: int
        expires_at: datetime | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["expires_at"] = None  # recorded before expiry moved with reports

        def apply(self, session: CallSession) -> None:
            session.used_seconds = self.used_seconds
            session.used = self.used
            if self.expires_at is not None:
                session.expires_at = self.expires_at

    def report_interim(self, used_seconds: int, used: int, *, reported_at: datetime | None = None,
                       ttl: int | None = None) -> None:
        """Record progress; a report older than the last one (a retry) changes nothing.

        With `reported_at` and `ttl`, the hold's expiry moves per `expiry_after_report`.
        """
        self._check_authorized()
        if used_seconds < 0:
            raise InvalidRequest("used_seconds must not be negative")
        if self.is_open and used_seconds > self.used_seconds:
            expires_at = None if reported_at is None or ttl is None else self.expiry_after_report(reported_at, ttl)
            self.trigger_event(self.InterimReported, used_seconds=used_seconds, used=min(used, self.hold),
                               expires_at=expires_at)

    class GrantExtended(Aggregate.Event):
        """The next slice: the call may now run `max_seconds` in all, and `hold` (in all) is held for it.

        `at_seconds` is the call's length when it was granted (the switch's
        report, or the ledger's own estimate when the switch is silent);
        `extended_by` is the money added to the account's hold (`HoldExtended`).
        """

        max_seconds: int
        hold: int
        extended_by: int
        at_seconds: int
        expires_at: datetime | None
        actor: str

        def apply(self, session: CallSession) -> None:
            session.max_seconds = self.max_seconds
            session.hold = self.hold
            if self.expires_at is not None:
                session.expires_at = self.expires_at

    def extend_grant(self, *, max_seconds: int, hold: int, at_seconds: int, reported_at: datetime | None,
                     ttl: int, actor: str) -> None:
        """Grant more time (never less) with at least as much held; the expiry follows the new grant end.

        `reported_at` is the instant of the switch's report, or None when the
        ledger extends on its own (then only the grant's end moves the expiry).
        """
        if not self.is_open:
            raise CallNotOpen(f"call {self.call_id} is already {self.status}")
        if max_seconds < self.max_seconds or hold < self.hold or (max_seconds, hold) == (self.max_seconds, self.hold):
            raise InvalidRequest("a grant extension adds seconds or money and takes none away")
        assert self.authorized_at is not None
        expires_at = self.expiry_after_report(reported_at or self.answered_at or self.authorized_at, ttl,
                                              granted=max_seconds)
        self.trigger_event(self.GrantExtended, max_seconds=max_seconds, hold=hold, extended_by=hold - self.hold,
                           at_seconds=at_seconds, expires_at=expires_at, actor=actor)

    class GrantRepriced(Aggregate.Event):
        """The call was answered in a dearer time band than it was authorized in: its grant is priced again
        at the answer instant, `hold` (in all) held for it, and fewer seconds granted if no more could be held."""

        max_seconds: int
        hold: int
        extended_by: int
        actor: str

        def apply(self, session: CallSession) -> None:
            session.max_seconds = self.max_seconds
            session.hold = self.hold

    def reprice_grant(self, *, max_seconds: int, hold: int, actor: str) -> None:
        """At the answer: never more seconds, never less money held than before."""
        if not self.is_open:
            raise CallNotOpen(f"call {self.call_id} is already {self.status}")
        if max_seconds > self.max_seconds or max_seconds < 0 or hold < self.hold:
            raise InvalidRequest("a repriced grant grants no more seconds and holds no less money")
        if (max_seconds, hold) != (self.max_seconds, self.hold):
            self.trigger_event(self.GrantRepriced, max_seconds=max_seconds, hold=hold, extended_by=hold - self.hold,
                               actor=actor)

    class CallCut(Aggregate.Event):
        """The switch was told to stop the call (its grant ended and no next slice could be held)."""

        reason: str
        at_seconds: int
        cut_at: datetime
        actor: str

        def apply(self, session: CallSession) -> None:
            session.cut_reason = self.reason

    def cut(self, reason: str, at_seconds: int, at: datetime, actor: str) -> bool:
        """Record the cut once; returns True the first time (the caller then asks the switch to cut)."""
        if not self.is_open:
            raise CallNotOpen(f"call {self.call_id} is already {self.status}")
        if self.cut_reason is not None:
            return False
        self.trigger_event(self.CallCut, reason=reason, at_seconds=at_seconds, cut_at=at, actor=actor)
        return True

    @property
    def seconds_left(self) -> int:
        return max(0, self.max_seconds - self.used_seconds) if self.is_open else 0

    # --- closing --------------------------------------------------------------

    class Ended(Aggregate.Event):
        account: str
        billsec: int
        answered_at: datetime
        ended_at: datetime
        cause: str
        plan: str
        plan_version: int
        cost: int
        charged: int
        flags: str
        actor: str
        answer: dict[str, Any]

        def apply(self, session: CallSession) -> None:
            session.status = ENDED
            session.charged = self.charged
            session.billsec = self.billsec
            session.rated_at = self.answered_at
            session.end_answer = self.answer

    def end(self, *, billsec: int, answered_at: datetime, ended_at: datetime, cause: str,
            cost: int, flags: str, actor: str, answer: dict[str, Any]) -> None:
        self._check_authorized()
        if not self.is_open:
            raise CallNotOpen(f"call {self.call_id} is already {self.status}")
        if billsec < 0 or cost < 0:
            raise InvalidRequest("billsec and cost must not be negative")
        ended_at = check_instant(ended_at, "ended_at")
        check_not_before(ended_at, self.authorized_at, "ended_at")
        check_call_texts({"cause": cause})
        assert self.account is not None and self.plan is not None and self.plan_version is not None
        self.trigger_event(
            self.Ended, account=self.account, billsec=billsec, answered_at=answered_at, ended_at=ended_at,
            cause=cause, plan=self.plan, plan_version=self.plan_version, cost=cost,
            charged=min(cost, self.hold), flags=flags, actor=actor, answer=answer,
        )

    class Expired(Aggregate.Event):
        """Never closed by the switch: settled at the last reported usage, flagged for review."""

        account: str
        expired_at: datetime
        used_seconds: int
        charged: int
        flags: str
        actor: str

        def apply(self, session: CallSession) -> None:
            session.status = EXPIRED
            session.charged = self.charged
            session.billsec = self.used_seconds
            session.rated_at = session.answered_at or session.authorized_at

    def expire(self, at: datetime, actor: str) -> None:
        if not self.is_open:
            raise CallNotOpen(f"call {self.call_id} is already {self.status}")
        assert self.account is not None
        self.trigger_event(
            self.Expired, account=self.account, expired_at=at, used_seconds=self.used_seconds,
            charged=self.used, flags="expired", actor=actor,
        )

    class EndedAfterExpiry(Aggregate.Event):
        """The switch's late hangup report, flagged for review.

        `cost` is the rated cost of the reported `billsec`; `charged` is what was
        collected on top of the expiry charge (at most the account's available
        money, so never below zero). Version 1 recorded neither: nothing moved.
        """

        class_version = 2
        billsec: int
        ended_at: datetime
        cause: str
        actor: str
        answer: dict[str, Any]
        cost: int | None
        charged: int
        flags: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(cost=None, charged=0, flags="late_end")

        def apply(self, session: CallSession) -> None:
            session.late_end = self.answer
            if self.cost is not None:
                session.charged += self.charged
                session.billsec = self.billsec

    def end_after_expiry(self, billsec: int, ended_at: datetime, cause: str, actor: str,
                         answer: dict[str, Any], *, cost: int | None = None, charged: int = 0,
                         flags: str = "late_end") -> None:
        if self.status != EXPIRED:
            raise CallNotOpen(f"call {self.call_id} is {self.status}, not expired")
        if charged < 0 or (cost is not None and cost < 0):
            raise InvalidRequest("a late end's cost and charge must not be negative")
        ended_at = check_instant(ended_at, "ended_at")
        if self.late_end is None:
            self.trigger_event(self.EndedAfterExpiry, billsec=billsec, ended_at=ended_at, cause=cause,
                               actor=actor, answer=answer, cost=cost, charged=charged, flags=flags)

    # --- corrections ---------------------------------------------------------

    class Rerated(Aggregate.Event):
        """A price correction: the original charge stands; `difference` moves separately."""

        account: str
        plan: str
        plan_version: int
        rate: dict[str, Any]
        billsec: int
        previous_cost: int
        cost: int
        difference: int
        actor: str

        def apply(self, session: CallSession) -> None:
            session.corrections += self.difference
            session.plan = self.plan
            session.plan_version = self.plan_version
            session.rate = self.rate

    class RetailPriced(Aggregate.Event):
        """The walk-in customer's price under the bar's retail tariff; the bar collects it, no ledger money moves."""

        plan: str
        plan_version: int
        rate: dict[str, Any]
        amount: int

        def apply(self, session: CallSession) -> None:
            session.retail = self.amount

    def price_retail(self, *, plan: str, plan_version: int, rate: dict[str, Any], amount: int) -> None:
        if self.status != ENDED:
            raise CallNotOpen(f"call {self.call_id} is {self.status}; only an ended call has a retail price")
        if amount < 0:
            raise InvalidRequest("a retail price must not be negative")
        self.trigger_event(self.RetailPriced, plan=plan, plan_version=plan_version, rate=rate, amount=amount)

    @property
    def cost(self) -> int:
        """What the call costs now: the original charge plus every correction."""
        return self.charged + self.corrections

    def rerate(self, *, plan: str, plan_version: int, rate: dict[str, Any], billsec: int,
               cost: int, actor: str) -> int:
        """Record the new price; returns the difference (positive: the customer owes more)."""
        if self.status not in (ENDED, EXPIRED):
            raise CallNotOpen(f"call {self.call_id} is {self.status}; only finished calls are rerated")
        if cost < 0:
            raise InvalidRequest("a rerated cost must not be negative")
        assert self.account is not None
        difference = cost - self.cost
        self.trigger_event(
            self.Rerated, account=self.account, plan=plan, plan_version=plan_version, rate=rate,
            billsec=billsec, previous_cost=self.cost, cost=cost, difference=difference, actor=actor,
        )
        return difference


class CallNotFound(NotFound):
    code = "unknown_call"


class CallNotOpen(LedgerError):
    code = "call_not_open"
