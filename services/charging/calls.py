"""Real-time charging: the switch's questions answered by the ledger.

Each hook is a *command* (a function of a unit of work) so the HTTP edge can
run many of them in one transaction (`services.group_commit`); the plain
methods (`authorize`, `end` …) run one command on its own.

Guarantees:

* idempotent per call id — the session id is derived from it, so a repeated
  authorize returns the first answer and reserves nothing; the same call id
  with a different body gets `duplicate_call` and changes nothing;
* no overdraft — the hold is the rated cost of `max_seconds`, computed from
  the account's available balance, and `Account.reserve` refuses more;
* the charge at the end is the exact rated cost of `billsec`, never more
  than the hold; the rest of the hold is released in the same event;
* a refusal is recorded (a `Refused` session) after a second look at fresh
  state, so a cached copy never refuses a call that the store would allow.

Money is int ten-thousandths throughout; the edges format it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson

from ledger import house
from ledger.accounts import ACTIVE, CLOSED, Account
from ledger.application import Command, Ledger
from ledger.blacklists import EVERYWHERE, Blacklist
from ledger.call_ids import blacklist_id, tariff_id
from ledger.call_ids import call_id as session_id
from ledger.charging import (
    ENDED,
    EXPIRED,
    REFUSED,
    CallNotFound,
    CallNotOpen,
    CallSession,
    check_call_texts,
)
from ledger.errors import AccountNotFound, InvalidRequest, LedgerError
from ledger.ids import account_id, phone_id
from ledger.phones import PhoneBinding
from ledger.tariff_book import TariffBook, TariffNotFound
from ledger.unit_of_work import UnitOfWork, evict
from rating.numberplan import Destination, DialPlan, InvalidNumber, classify, to_e164
from rating.rate import MAX_CALL_SECONDS, max_seconds_for, price_at, rate_call
from rating.tariffs import RateRow, TariffPlan
from rating.tariffs import TariffBook as RatingBook

SERVICES = ("direct", "callback", "conference", "forward", "phonebar", "missed_call")
REASONS = ("insufficient_funds", "unknown_account", "no_rate", "blacklisted", "account_closed", "duplicate_call")
EXPIRY_ACTOR = "system:expiry"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ChargingPolicy:
    hold_ttl: int = 600
    low_balance: int = 20_000
    max_call_seconds: int = MAX_CALL_SECONDS
    default_plan: str = ""
    dial_plan: DialPlan = field(default_factory=DialPlan)
    #: Without a log-following ledger (`Ledger.sync`): how long a cached tariff or
    #: blacklist is trusted before it is read again. With one (every container), a
    #: cached tariff or blacklist is dropped as soon as the log shows it changed.
    refresh_seconds: float = 5.0


@dataclass(frozen=True)
class CallRequest:
    """An authorize request as the switch sent it (already parsed at the edge)."""

    call_id: str
    caller: str
    callee: str
    service: str
    account: str | None = None
    booth: str | None = None
    forwarded_from: str | None = None
    conference_id: str | None = None
    switch: str | None = None

    def fingerprint(self) -> str:
        """The request as canonical JSON: a retry has the same one, another call a different one."""
        return orjson.dumps({f: getattr(self, f) for f in _REQUEST_FIELDS}, option=orjson.OPT_SORT_KEYS).decode()


_REQUEST_FIELDS = tuple(f.name for f in fields(CallRequest))


class _Refusal(Exception):
    def __init__(self, reason: str, message: str, account: Account | None = None,
                 destination: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.account, self.destination = reason, message, account, destination


@lru_cache(maxsize=8192)
def _e164(raw: str, plan: DialPlan) -> str | None:
    try:
        return to_e164(raw, plan)
    except InvalidNumber:
        return None


@lru_cache(maxsize=8192)
def _caller_area(e164: str | None, plan: DialPlan) -> str | None:
    if e164 is None:
        return None
    try:
        return classify(e164, plan).area
    except InvalidNumber:
        return None


@lru_cache(maxsize=8192)
def _classify(callee: str, plan: DialPlan, area: str | None) -> Any:
    return classify(callee, plan, area)


@lru_cache(maxsize=1024)
def _row(rate_json: str) -> RateRow:
    return RateRow.from_dict(json.loads(rate_json))


def _rate_row(rate: dict[str, Any]) -> RateRow:
    return _row(json.dumps(rate, sort_keys=True))


class Charging:
    """The charging engine over one Ledger. Thread-safe; holds only caches."""

    def __init__(self, ledger: Ledger, policy: ChargingPolicy | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.ledger = ledger
        self.policy = policy or ChargingPolicy()
        self.clock = clock
        self._lock = threading.Lock()
        self._books: dict[str, tuple[float, RatingBook | None]] = {}
        self._blacklist: tuple[float, dict[str, frozenset[str]]] | None = None
        if ledger.sync is not None:
            ledger.sync.subscribe(self._changed)

    def _changed(self, ids: set[UUID]) -> None:
        """The log shows these aggregates changed (any process): forget tariffs and blacklist built from them."""
        with self._lock:
            for name in [n for n in self._books if tariff_id(n) in ids]:
                del self._books[name]
            if self._blacklist is not None and blacklist_id() in ids:
                self._blacklist = None

    def _trusted(self, stamp: float, now: float) -> bool:
        return self.ledger.sync is not None or now - stamp < self.policy.refresh_seconds

    # --- tariffs ------------------------------------------------------------

    def publish_plan(self, name: str, rows: Sequence[RateRow], effective_from: datetime, actor: str,
                     *, tz: str | None = None, fees: dict[str, int] | None = None) -> dict[str, Any]:
        """Publish the next version of tariff `name`; refused whole if any row is invalid."""

        def command(uow: UnitOfWork) -> dict[str, Any]:
            book = uow.find(tariff_id(name), TariffBook) or uow.add(TariffBook.open(name, actor))
            try:
                plan = TariffPlan(name=name, version=book.next_version, effective_from=effective_from,
                                  rows=tuple(rows), tz=tz or "Asia/Shanghai", fees=fees or {})
            except (TypeError, ValueError) as err:
                raise InvalidRequest(str(err)) from None
            book.publish(plan.to_dict(), plan.effective_from, actor)
            return {"name": name, "version": plan.version, "effective_from": plan.effective_from.isoformat(),
                    "rows": len(plan.rows)}

        result = self.ledger.execute(command)
        with self._lock:
            self._books.pop(name, None)
        return result

    def tariff(self, name: str) -> RatingBook | None:
        """Every version of tariff `name` (cached until the log shows it changed)."""
        now = time.monotonic()
        cached = self._books.get(name)
        if cached is not None and self._trusted(cached[0], now):
            return cached[1]
        evict(self.ledger, [tariff_id(name)])
        book = UnitOfWork(self.ledger).find(tariff_id(name), TariffBook)
        loaded = RatingBook(TariffPlan.from_dict(p) for p in book.plans) if book and book.plans else None
        with self._lock:
            self._books[name] = (now, loaded)
        self._drop_if_stale(tariff_id(name), book, lambda: self._books.pop(name, None))
        return loaded

    def plan(self, name: str, version: int | None = None, at: datetime | None = None,
             *, upcoming: bool = False) -> TariffPlan:
        """Version `version`, else the one in force at `at` (default now); with `upcoming`, a tariff
        not yet in force at `at` gives the version that starts first."""
        book = self.tariff(name)
        if book is None:
            raise TariffNotFound(f"no tariff {name}")
        if version is not None:
            for plan in book.versions:
                if plan.version == version:
                    return plan
            raise TariffNotFound(f"tariff {name} has no version {version}")
        found = book.at(at or self.clock())
        if found is None and upcoming:
            found = book.versions[0]
        if found is None:
            raise TariffNotFound(f"tariff {name} has no version in force at {(at or self.clock()).isoformat()}")
        return found

    def quote(self, dialled: str, plan_name: str, at: datetime | None = None,
              caller: str | None = None) -> RateQuote:
        """How tariff `plan_name` prices a call to `dialled` at `at` (default: now).

        Same number classification and row choice as `authorize` (longest prefix,
        else the category row; a local number is local to `caller`'s area, default
        the home area), without an account or a hold; `row` is None when the
        version in force has no rate for the destination.
        """
        when = at or self.clock()
        plan = self.plan(plan_name, at=when)
        dial = self.policy.dial_plan
        try:
            destination = _classify(dialled, dial, _caller_area(_e164(caller, dial) if caller else None, dial))
        except InvalidNumber as err:
            raise InvalidRequest(str(err)) from None
        return RateQuote(destination.e164, destination.category, plan, plan.find_rate(destination), when)

    # --- blacklist ----------------------------------------------------------

    def block(self, number: str, actor: str, *, account: str | None = None, reason: str = "") -> dict[str, Any]:
        e164 = self.normalise(number)
        scope = account or EVERYWHERE

        def command(uow: UnitOfWork) -> dict[str, Any]:
            if account is not None and uow.find(account_id(account), Account) is None:
                raise AccountNotFound(f"no account {account}")
            blacklist = uow.find(blacklist_id(), Blacklist) or uow.add(Blacklist.start(actor))
            blacklist.block(scope, e164, reason, actor)
            return {"scope": scope, "number": e164, "blocked": True}

        return self._changed_blacklist(self.ledger.execute(command))

    def unblock(self, number: str, actor: str, *, account: str | None = None) -> dict[str, Any]:
        e164 = self.normalise(number)
        scope = account or EVERYWHERE

        def command(uow: UnitOfWork) -> dict[str, Any]:
            blacklist = uow.find(blacklist_id(), Blacklist)
            if blacklist is None:
                raise InvalidRequest(f"{e164} is not blacklisted for {scope}")
            blacklist.unblock(scope, e164, actor)
            return {"scope": scope, "number": e164, "blocked": False}

        return self._changed_blacklist(self.ledger.execute(command))

    def _changed_blacklist(self, result: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._blacklist = None
        return result

    def blacklist(self) -> dict[str, frozenset[str]]:
        now = time.monotonic()
        cached = self._blacklist
        if cached is not None and self._trusted(cached[0], now):
            return cached[1]
        evict(self.ledger, [blacklist_id()])
        found = UnitOfWork(self.ledger).find(blacklist_id(), Blacklist)
        entries = {k: frozenset(v) for k, v in found.entries.items() if v} if found else {}
        with self._lock:
            self._blacklist = (now, entries)
        self._drop_if_stale(blacklist_id(), found, lambda: setattr(self, "_blacklist", None))
        return entries

    def _drop_if_stale(self, aggregate_id: UUID, loaded: Any, drop: Callable[[], object]) -> None:
        """A copy loaded while the log showed a newer version is not kept (the listener may have run first)."""
        sync = self.ledger.sync
        if sync is not None and sync.stale(aggregate_id, loaded.version if loaded is not None else 0):
            with self._lock:
                drop()

    def normalise(self, number: str) -> str:
        e164 = _e164(number, self.policy.dial_plan)
        if e164 is None:
            raise InvalidRequest(f"{number!r} is not a phone number")
        return e164

    # --- authorize ----------------------------------------------------------

    def authorize(self, request: CallRequest, actor: str = "switch") -> dict[str, Any]:
        return self.ledger.execute(self.authorize_command(request, actor))

    def authorize_command(self, request: CallRequest, actor: str = "switch") -> Command:
        if request.service not in SERVICES:
            raise InvalidRequest(f"service must be one of {', '.join(SERVICES)}")
        if not request.call_id or len(request.call_id) > 200:
            raise InvalidRequest("a call id is 1 to 200 characters")
        check_call_texts(vars(request))
        sid = session_id(request.call_id)
        fingerprint = request.fingerprint()
        attempts = [0]

        def command(uow: UnitOfWork) -> dict[str, Any]:
            # First try: a call id this process has not seen is taken to be new,
            # without a read; if it was not, the save collides and the retry reads.
            attempts[0] += 1
            existing = self._peek(uow, sid) if attempts[0] == 1 else uow.find(sid, CallSession)
            if existing is not None:
                if existing.request != fingerprint:
                    return _refusal_answer(request.call_id, "duplicate_call",
                                           f"call id {request.call_id} was used for another call")
                return existing.answer
            return self._open(uow, request, fingerprint, actor)

        return command

    def _peek(self, uow: UnitOfWork, sid: UUID) -> CallSession | None:
        """The session if this unit or the cache holds it, without reading the store."""
        if sid in uow.touched:
            return uow.find(sid, CallSession)
        cache: Any = self.ledger.repository.cache
        try:
            cache.get(sid)
        except KeyError:
            return None
        return uow.find(sid, CallSession)

    def _open(self, uow: UnitOfWork, req: CallRequest, fingerprint: str, actor: str) -> dict[str, Any]:
        now = self.clock()
        caller = _e164(req.caller, self.policy.dial_plan)
        try:
            try:
                decision = self._decide(uow, req, caller, now)
            except _Refusal:
                # A refusal read from cached copies gets a second look at the store.
                stale = [i for i in (account_id(req.account) if req.account else None,
                                     phone_id(caller) if caller else None)
                         if i is not None and i in uow.touched and not uow.touched[i].pending_events]
                if not stale:
                    raise
                evict(self.ledger, stale)
                for i in stale:
                    uow.touched.pop(i, None)
                decision = self._decide(uow, req, caller, now)
        except _Refusal as refusal:
            answer = _refusal_answer(req.call_id, refusal.reason, refusal.message,
                                     refusal.account, refusal.destination, self.policy.low_balance)
            uow.add(CallSession.refuse(
                call_id=req.call_id, request=fingerprint,
                account=refusal.account.number if refusal.account else req.account,
                caller=req.caller, callee=req.callee, service=req.service, booth=req.booth, switch=req.switch,
                reason=refusal.reason, message=refusal.message, refused_at=now, actor=actor, answer=answer,
            ))
            return answer
        account, destination, plan, row, max_seconds, hold = decision
        if hold:
            account.reserve(req.call_id, hold, actor)
        price, band = price_at(row, now, plan.zone)
        answer = {
            "call_id": req.call_id,
            "authorized": True,
            "reason": None,
            "message": None,
            "max_seconds": max_seconds,
            "account": account.number,
            "balance": account.balance,
            "available": account.available,
            "hold": hold,
            "low_balance": account.available < self.policy.low_balance,
            "destination": {"e164": destination.e164, "category": destination.category,
                            "prefix": row.prefix, "name": row.name},
            "rate": {"plan": plan.name, "version": plan.version, "price_per_minute": price, "band": band,
                     "first_increment": row.first_increment, "next_increment": row.next_increment,
                     "connect_fee": row.connect_fee, "minimum_charge": row.minimum_charge},
        }
        uow.add(CallSession.authorize(
            call_id=req.call_id, request=fingerprint, account=account.number, caller=req.caller,
            callee=req.callee, callee_e164=destination.e164, category=destination.category,
            destination_prefix=row.prefix, destination_name=row.name, service=req.service, booth=req.booth,
            bar=account.number if account.kind == "phonebar" else None, switch=req.switch,
            plan=plan.name, plan_version=plan.version, rate={**row.to_dict(), "tz": plan.tz},
            hold=hold, max_seconds=max_seconds, authorized_at=now,
            expires_at=now + timedelta(seconds=self.policy.hold_ttl), actor=actor, answer=answer,
        ))
        return answer

    def _decide(self, uow: UnitOfWork, req: CallRequest, caller: str | None,
                now: datetime) -> tuple[Account, Any, TariffPlan, RateRow, int, int]:
        account = self._account_for(uow, req, caller)
        if account.status == CLOSED:
            raise _Refusal("account_closed", f"account {account.number} is closed", account)
        if account.status != ACTIVE:
            raise _Refusal("account_closed", f"account {account.number} is {account.status}", account)
        dial = self.policy.dial_plan
        try:
            destination = _classify(req.callee, dial, _caller_area(caller, dial))
        except InvalidNumber as err:
            raise _Refusal("no_rate", str(err), account) from None
        dest = {"e164": destination.e164, "category": destination.category, "prefix": None, "name": None}
        blocked = self.blacklist()
        for scope in (account.number, EVERYWHERE):
            numbers = blocked.get(scope)
            if numbers and ((caller or req.caller) in numbers or destination.e164 in numbers):
                raise _Refusal("blacklisted", f"a number of this call is blacklisted for {scope}", account, dest)
        name = account.plan or self.policy.default_plan
        book = self.tariff(name) if name else None
        plan = book.at(now) if book else None
        if plan is None:
            raise _Refusal("no_rate", f"account {account.number} has no tariff in force", account, dest)
        row = plan.find_rate(destination)
        if row is None:
            raise _Refusal("no_rate", f"tariff {plan.name} v{plan.version} has no rate for {destination.e164}",
                           account, dest)
        dest.update(prefix=row.prefix, name=row.name)
        max_seconds = max_seconds_for(row, account.available, now, plan.zone, self.policy.max_call_seconds)
        if max_seconds <= 0:
            raise _Refusal("insufficient_funds",
                           f"account {account.number} cannot pay the first {row.first_increment} s", account, dest)
        hold = rate_call(row, max_seconds, now, plan.zone).cost
        return account, destination, plan, row, max_seconds, hold

    @staticmethod
    def _account_for(uow: UnitOfWork, req: CallRequest, caller: str | None) -> Account:
        number = req.account
        if number is None:
            binding = uow.find(phone_id(caller), PhoneBinding) if caller else None
            if binding is None or binding.account is None:
                raise _Refusal("unknown_account", f"{req.caller} is not bound to an account")
            number = binding.account
        account = uow.find(account_id(number), Account)
        if account is None:
            raise _Refusal("unknown_account", f"no account {number}")
        return account

    # --- answer, interim, end -------------------------------------------------

    @staticmethod
    def _session(uow: UnitOfWork, call: str) -> CallSession:
        session = uow.find(session_id(call), CallSession)
        if session is None:
            raise CallNotFound(f"no call {call}")
        return session

    def answer(self, call: str, answered_at: datetime | None = None) -> dict[str, Any]:
        return self.ledger.execute(self.answer_command(call, answered_at))

    def answer_command(self, call: str, answered_at: datetime | None = None) -> Command:
        at = (answered_at or self.clock()).astimezone(UTC)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            session = self._session(uow, call)
            session.answered(at, reported_at=self.clock(), ttl=self.policy.hold_ttl)
            return {"call_id": call, "status": session.status, "max_seconds": session.seconds_left}

        return command

    def interim(self, call: str, used_seconds: int) -> dict[str, Any]:
        return self.ledger.execute(self.interim_command(call, used_seconds))

    def interim_command(self, call: str, used_seconds: int) -> Command:
        if isinstance(used_seconds, bool) or not isinstance(used_seconds, int) or used_seconds < 0:
            raise InvalidRequest("used_seconds is a non-negative whole number")

        def command(uow: UnitOfWork) -> dict[str, Any]:
            session = self._session(uow, call)
            if session.is_open and used_seconds > session.used_seconds:
                used = min(self._cost(session, used_seconds, session.answered_at or session.authorized_at),
                           session.hold)
                session.report_interim(used_seconds, used, reported_at=self.clock(), ttl=self.policy.hold_ttl)
                if session.hold:
                    self._account(uow, session).report_usage(call, used)
            else:
                session.report_interim(used_seconds, 0)  # refused calls raise; others change nothing
            return {"call_id": call, "continue": session.is_open and used_seconds < session.max_seconds,
                    "max_seconds": session.seconds_left, "used": session.used}

        return command

    def end(self, call: str, billsec: int, ended_at: datetime | None = None, cause: str = "") -> dict[str, Any]:
        return self.ledger.execute(self.end_command(call, billsec, ended_at, cause))

    def end_command(self, call: str, billsec: int, ended_at: datetime | None = None, cause: str = "",
                    actor: str = "switch") -> Command:
        if isinstance(billsec, bool) or not isinstance(billsec, int) or billsec < 0:
            raise InvalidRequest("billsec is a non-negative whole number")
        check_call_texts({"call_id": call, "cause": cause})
        ended_at = ended_at.astimezone(UTC) if ended_at else None

        def command(uow: UnitOfWork) -> dict[str, Any]:
            session = self._session(uow, call)
            if session.status == ENDED:
                return session.end_answer
            if session.status == REFUSED:
                return {"call_id": call, "charged": 0, "cost": 0, "balance": None, "available": None,
                        "low_balance": False, "billsec": 0, "flags": "refused", "service": session.service}
            account = self._account(uow, session)
            if session.status == EXPIRED:
                return session.late_end or self._end_after_expiry(session, account, billsec,
                                                                  ended_at or self.clock(), cause, actor)
            end_at = ended_at or self.clock()
            assert session.authorized_at is not None
            rated_at = session.answered_at or (end_at - timedelta(seconds=billsec) if ended_at else None) \
                or session.authorized_at
            cost = self._cost(session, billsec, rated_at)
            charged = min(cost, session.hold)
            flags = ",".join(f for f, on in (("capped", cost > session.hold),
                                             ("over_max", billsec > session.max_seconds)) if on)
            if session.hold:
                account.settle(call, charged, house.revenue(session.service, session.category), actor, flags)
            answer = {"call_id": call, "charged": charged, "cost": cost, "balance": account.balance,
                      "available": account.available, "low_balance": account.balance < self.policy.low_balance,
                      "billsec": billsec, "flags": flags, "service": session.service}
            session.end(billsec=billsec, answered_at=rated_at, ended_at=end_at, cause=cause, cost=cost,
                        flags=flags, actor=actor, answer=answer)
            if account.kind == "phonebar" and account.retail_plan:
                self._price_retail(session, account.retail_plan, billsec, rated_at)
            return answer

        return command

    def _end_after_expiry(self, session: CallSession, account: Account, billsec: int, ended_at: datetime,
                          cause: str, actor: str) -> dict[str, Any]:
        """A hangup reported after the hold expired: the usage is recorded, never lost.

        What the call cost beyond the expiry charge is debited as far as the
        account's available money allows (never below zero, never from other
        calls' holds); the call is flagged for review, and `uncollected` when
        the account could not pay all of it.
        """
        assert session.rated_at is not None
        cost = self._cost(session, billsec, session.rated_at)
        owed = max(0, cost - session.charged)
        collected = min(owed, max(0, account.available)) if account.status == ACTIVE else 0
        if collected:
            account.debit(collected, house.revenue(session.service, session.category), actor,
                          f"late end of expired call {session.call_id}")
        flags = "expired,late_end,review" + (",uncollected" if collected < owed else "")
        answer = {"call_id": session.call_id, "charged": session.charged + collected, "cost": cost,
                  "balance": account.balance, "available": account.available,
                  "low_balance": account.balance < self.policy.low_balance,
                  "billsec": billsec, "flags": flags, "service": session.service}
        session.end_after_expiry(billsec, ended_at, cause, actor, answer, cost=cost, charged=collected,
                                 flags=flags)
        return answer

    def _price_retail(self, session: CallSession, plan_name: str, billsec: int, at: datetime) -> None:
        """Price a booth call under the bar's retail tariff; a tariff without a rate for it leaves it unpriced."""
        try:
            plan = self.plan(plan_name, at=at)
        except TariffNotFound:
            return
        row = plan.find_rate(Destination(session.callee_e164, session.category, None, ""))
        if row is None:
            return
        amount = rate_call(row, billsec, at, plan.tz).cost
        session.price_retail(plan=plan.name, plan_version=plan.version, rate={**row.to_dict(), "tz": plan.tz},
                             amount=amount)

    @staticmethod
    def _cost(session: CallSession, seconds: int, at: datetime | None) -> int:
        assert at is not None
        rate = session.rate
        return rate_call(_rate_row(rate), seconds, at, rate.get("tz", "Asia/Shanghai")).cost

    @staticmethod
    def _account(uow: UnitOfWork, session: CallSession) -> Account:
        assert session.account is not None
        account = uow.find(account_id(session.account), Account)
        if account is None:
            raise AccountNotFound(f"no account {session.account}")
        return account

    def balance(self, number: str) -> dict[str, Any]:
        """Balance for an IVR prompt: by account number, or by a bound phone number; as fresh as the store."""
        self.ledger.fresh()
        uow = UnitOfWork(self.ledger)
        account = uow.find(account_id(number), Account)
        if account is None:
            e164 = _e164(number, self.policy.dial_plan)
            binding = uow.find(phone_id(e164), PhoneBinding) if e164 else None
            if binding is not None and binding.account is not None:
                account = uow.find(account_id(binding.account), Account)
        if account is None:
            raise AccountNotFound(f"no account or bound number {number}")
        return {"account": account.number, "balance": account.balance, "available": account.available,
                "low_balance": account.balance < self.policy.low_balance, "status": account.status}

    def check_pin(self, number: str, pin: str, actor: str) -> dict[str, Any]:
        """An IVR's PIN check, by account number or a bound phone number; wrong tries count to the lockout."""
        account = self.balance(number)["account"]
        return {**self.ledger.check_pin(account, pin, actor), "account": account}

    # --- expiry -------------------------------------------------------------

    def expire_command(self, call: str, now: datetime) -> Command:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            session = self._session(uow, call)
            if not session.is_open or session.expires_at is None or session.expires_at > now:
                return {"call_id": call, "expired": False, "status": session.status}
            if session.hold:
                self._account(uow, session).settle(
                    call, session.used, house.revenue(session.service, session.category), EXPIRY_ACTOR, "expired")
            session.expire(now, EXPIRY_ACTOR)
            return {"call_id": call, "expired": True, "charged": session.charged}

        return command

    def expire_stale_holds(self, now: datetime, candidates: Iterable[str]) -> list[dict[str, Any]]:
        """Settle every candidate session past its expiry at its last reported usage.

        `candidates` may include calls that are closed or not yet due: each is
        checked against its own events, so running this twice settles once.
        """
        results: list[dict[str, Any]] = []
        calls = list(candidates)
        for start in range(0, len(calls), 256):
            chunk = [(self.expire_command(c, now), None) for c in calls[start : start + 256]]
            for outcome in self.ledger.execute_many(chunk):
                if isinstance(outcome, dict) and outcome.get("expired"):
                    results.append(outcome)
        return results

    # --- rerating -------------------------------------------------------------

    def rerate_command(self, call: str, plan_name: str, version: int | None, actor: str) -> Command:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            session = self._session(uow, call)
            if session.status not in (ENDED, EXPIRED):
                raise CallNotOpen(f"call {call} is {session.status}; only finished calls are rerated")
            assert session.rated_at is not None
            plan = self.plan(plan_name, version, at=session.rated_at)
            destination = _Destination(session.callee_e164, session.category)
            row = plan.find_rate(destination)
            if row is None:
                raise NoRateForCall(f"tariff {plan.name} v{plan.version} has no rate for {destination.e164}")
            cost = rate_call(row, session.billsec, session.rated_at, plan.zone).cost
            difference = cost - session.cost
            if difference == 0 and (plan.name, plan.version) == (session.plan, session.plan_version):
                return {"call_id": call, "changed": False, "difference": 0}
            account = self._account(uow, session)
            counter = house.revenue(session.service, session.category)
            memo = f"rerate call {call} to {plan.name} v{plan.version}"
            if difference > 0:
                account.debit(difference, counter, actor, memo)
            elif difference < 0:
                account.credit(-difference, counter, actor, memo)
            session.rerate(plan=plan.name, plan_version=plan.version, rate={**row.to_dict(), "tz": plan.tz},
                           billsec=session.billsec, cost=cost, actor=actor)
            return {"call_id": call, "changed": True, "difference": difference, "cost": cost}

        return command

    def rerate(self, calls: Iterable[str], plan_name: str, version: int | None, actor: str) -> dict[str, Any]:
        """Re-price finished calls; each difference is a new credit or debit, never an edit."""
        self.plan(plan_name, version, upcoming=True)  # an unknown plan or version fails before anything runs
        rerated, unchanged, difference = 0, 0, 0
        skipped: list[dict[str, str]] = []
        calls = list(calls)
        for start in range(0, len(calls), 256):
            part = calls[start : start + 256]
            outcomes = self.ledger.execute_many([(self.rerate_command(c, plan_name, version, actor), None)
                                                 for c in part])
            for call, outcome in zip(part, outcomes):
                if isinstance(outcome, LedgerError):
                    skipped.append({"call_id": call, "reason": outcome.code, "message": str(outcome)})
                elif outcome["changed"]:
                    rerated += 1
                    difference += outcome["difference"]
                else:
                    unchanged += 1
        return {"selected": len(calls), "rerated": rerated, "unchanged": unchanged, "difference": difference,
                "skipped": skipped}


@dataclass(frozen=True)
class RateQuote:
    """A priced destination: `price`/`cost` are `rating.rate` applied to `row` at `at` in the plan's zone."""

    e164: str
    category: str
    plan: TariffPlan
    row: RateRow | None
    at: datetime

    def price(self) -> tuple[int, str | None]:
        """Price per minute and band name in force at `at` (requires a row)."""
        assert self.row is not None
        return price_at(self.row, self.at, self.plan.zone)

    def cost(self, seconds: int) -> int:
        """The exact cost of a call of `seconds` talk seconds answered at `at` (requires a row)."""
        assert self.row is not None
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise InvalidRequest("seconds is a non-negative whole number")
        return rate_call(self.row, seconds, self.at, self.plan.zone).cost


@dataclass(frozen=True)
class _Destination:
    e164: str
    category: str


def _refusal_answer(call: str, reason: str, message: str, account: Account | None = None,
                    destination: dict[str, Any] | None = None, low_balance: int = 0) -> dict[str, Any]:
    return {
        "call_id": call,
        "authorized": False,
        "reason": reason,
        "message": message,
        "max_seconds": 0,
        "account": account.number if account else None,
        "balance": account.balance if account else None,
        "available": account.available if account else None,
        "hold": 0,
        "low_balance": bool(account and account.available < low_balance),
        "destination": destination,
        "rate": None,
    }


class NoRateForCall(LedgerError):
    code = "no_rate"
