"""Real-time charging: the switch's questions answered by the ledger.

Each hook is a *command* (a function of a unit of work) so the HTTP edge can
run many of them in one transaction (`services.group_commit`); the plain
methods (`authorize`, `end` …) run one command on its own.

Guarantees:

* idempotent per call id — the session id is derived from it, so a repeated
  authorize returns the first answer and reserves nothing; the same call id
  with a different body gets `duplicate_call` and changes nothing;
* no overdraft — the hold is the rated cost of `max_seconds`, one slice
  (`ChargingPolicy.grant_seconds`) or what the available balance pays for if
  less, and `Account.reserve` refuses more; `grants` extends it slice by slice;
* the charge at the end is the exact rated cost of `billsec`, never more
  than the hold; the rest of the hold is released in the same event;
* a refusal is recorded (a `Refused` session) after a second look at fresh
  state, so a cached copy never refuses a call that the store would allow.

Money is int ten-thousandths throughout; the edges format it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ledger import house
from ledger.accounts import ACTIVE, CLOSED, Account
from ledger.application import Command
from ledger.blacklists import EVERYWHERE
from ledger.call_ids import call_id as session_id
from ledger.charging import (
    AUTHORIZED,
    ENDED,
    EXPIRED,
    REFUSED,
    CallSession,
    check_call_texts,
)
from ledger.errors import AccountNotFound, InvalidRequest
from ledger.ids import account_id, phone_id
from ledger.instants import check_instant, check_not_before
from ledger.phones import PhoneBinding
from ledger.tariff_book import TariffNotFound
from ledger.unit_of_work import UnitOfWork, evict
from rating.numberplan import Destination, InvalidNumber
from rating.rate import price_at, rate_call
from rating.tariffs import RateRow, TariffPlan
from services.charging.blacklist import Blacklisting
from services.charging.grants import CutAfterCommit, Cuts, Granting
from services.charging.requests import (
    EXPIRY_ACTOR,
    rate_row_of,
    SERVICES,
    CallRequest,
    Refusal,
    caller_area,
    classify_callee,
    e164_of,
    refusal_answer,
)
from services.charging.permits import account_refusal  # the account's call permissions
from services.charging.rerating import Rerating
from services.phonebar.permits import booth_refusal, note_charge  # phone-bar booths and deposit alert
from services.forwarding import routing as forwarding  # calls served in a business's name

#: The longest call a hangup may report (the hook contract's limit on `billsec`).
MAX_BILLSEC = 86_400


class Charging(Granting, Rerating, Blacklisting):
    """The charging engine over one Ledger: authorize, answer, interim, end, expiry, balance and PIN
    (tariffs, blacklist and rerating come from the classes it is made of). Thread-safe; holds only caches."""

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
                    return refusal_answer(request.call_id, "duplicate_call",
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
        dial = self.policy.dial_plan
        caller = e164_of(req.caller, dial)
        route: forwarding.Route | None = None

        def decide() -> tuple[Account, Any, TariffPlan, RateRow, int, int]:
            nonlocal route
            if req.service != "forward":
                return self._decide(uow, req, caller, now)
            route = forwarding.route(uow, req, caller, dial, now)  # the business's agent, rated from its area
            return self._decide(uow, route.request(req), caller, now, origin=route.business.number)

        try:
            try:
                decision = decide()
            except Refusal:
                # A refusal read from cached copies gets a second look at the store.
                business = forwarding.business_of(uow, req.forwarded_from, dial)
                account = route.business.account if route else req.account
                stale = [i for i in (account_id(account) if account else None,
                                     phone_id(caller) if caller else None,
                                     business.id if business is not None else None)
                         if i is not None and i in uow.touched and not uow.touched[i].pending_events]
                if not stale:
                    raise
                evict(self.ledger, stale)
                for i in stale:
                    uow.touched.pop(i, None)
                route = None
                decision = decide()
        except Refusal as refusal:
            if req.service == "forward":
                forwarding.record_turned_away(uow, req, caller, refusal.reason, dial, now)
            answer = refusal_answer(req.call_id, refusal.reason, refusal.message,
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
        if route is not None:
            forwarding.record_route(route, req.call_id, now)
        price, band = price_at(row, now, plan.zone)
        answer = {
            "call_id": req.call_id,
            "authorized": True,
            "reason": None,
            "message": None,
            "max_seconds": max_seconds,
            "granted_seconds": max_seconds,
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
        if route is not None:
            answer["forward"] = route.answer()
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

    def _decide(self, uow: UnitOfWork, req: CallRequest, caller: str | None, now: datetime,
                origin: str | None = None) -> tuple[Account, Any, TariffPlan, RateRow, int, int]:
        """The account, destination, tariff, rate row, grant and hold of a call, or a Refusal.

        `origin` is the number the leg is placed from when it is not the caller's (a forwarded call
        leaves from the business's number): local or long distance is judged from its area.
        """
        account = self._account_for(uow, req, caller)
        if account.status == CLOSED:
            raise Refusal("account_closed", f"account {account.number} is closed", account)
        if account.status != ACTIVE:
            raise Refusal("account_closed", f"account {account.number} is {account.status}", account)
        dial = self.policy.dial_plan
        try:
            destination = classify_callee(req.callee, dial, caller_area(origin or caller, dial))
        except InvalidNumber as err:
            raise Refusal("no_rate", str(err), account) from None
        dest = {"e164": destination.e164, "category": destination.category, "prefix": None, "name": None}
        refused = account_refusal(account, destination.e164, destination.category)  # the account's permissions
        if refused is not None:
            raise Refusal(*refused, account, dest)
        booth_refused = booth_refusal(uow, account, req.booth, destination)  # phone-bar booth permissions
        if booth_refused is not None:
            raise Refusal(*booth_refused, account, dest)
        blocked = self.blacklist()
        for scope in (account.number, EVERYWHERE):
            numbers = blocked.get(scope)
            if numbers and ((caller or req.caller) in numbers or destination.e164 in numbers):
                raise Refusal("blacklisted", f"a number of this call is blacklisted for {scope}", account, dest)
        name = account.plan or self.policy.default_plan
        book = self.tariff(name) if name else None
        plan = book.at(now) if book else None
        if plan is None:
            raise Refusal("no_rate", f"account {account.number} has no tariff in force", account, dest)
        row = plan.find_rate(destination)
        if row is None:
            raise Refusal("no_rate", f"tariff {plan.name} v{plan.version} has no rate for {destination.e164}",
                           account, dest)
        assert book is not None
        row = book.discounted(row, destination.category)  # the hold is sized on the discounted price
        dest.update(prefix=row.prefix, name=row.name)
        max_seconds = self.first_grant(row, account.available, now, plan.zone, req.cap_seconds)
        if max_seconds <= 0:
            raise Refusal("insufficient_funds",
                           f"account {account.number} cannot pay the first {row.first_increment} s", account, dest)
        hold = rate_call(row, max_seconds, now, plan.zone).cost
        return account, destination, plan, row, max_seconds, hold

    @staticmethod
    def _account_for(uow: UnitOfWork, req: CallRequest, caller: str | None) -> Account:
        number = req.account
        if number is None:
            binding = uow.find(phone_id(caller), PhoneBinding) if caller else None
            if binding is None or binding.account is None:
                raise Refusal("unknown_account", f"{req.caller} is not bound to an account")
            number = binding.account
        account = uow.find(account_id(number), Account)
        if account is None:
            raise Refusal("unknown_account", f"no account {number}")
        return account

    # --- answer, interim, end -------------------------------------------------

    def answer(self, call: str, answered_at: datetime | None = None) -> dict[str, Any]:
        command = self.answer_command(call, answered_at)
        answer = self.ledger.execute(command)
        self.after_commit(command)
        return answer

    def answer_command(self, call: str, answered_at: datetime | None = None) -> CutAfterCommit:
        at = check_instant(answered_at, "answered_at") if answered_at is not None else self.clock().astimezone(UTC)

        def command(uow: UnitOfWork, cuts: Cuts) -> dict[str, Any]:
            session = self._session(uow, call)
            first = session.status == AUTHORIZED
            session.answered(at, reported_at=self.clock(), ttl=self.policy.hold_ttl)
            if first:
                self.reprice_at_answer(uow, session, cuts, "switch")
            return {"call_id": call, "status": session.status,
                    "max_seconds": session.seconds_left if session.cut_reason is None else 0,
                    "granted_seconds": session.max_seconds}

        return CutAfterCommit(command)

    def end(self, call: str, billsec: int, ended_at: datetime | None = None, cause: str = "") -> dict[str, Any]:
        return self.ledger.execute(self.end_command(call, billsec, ended_at, cause))

    def end_command(self, call: str, billsec: int, ended_at: datetime | None = None, cause: str = "",
                    actor: str = "switch") -> Command:
        if isinstance(billsec, bool) or not isinstance(billsec, int) or billsec < 0:
            raise InvalidRequest("billsec is a non-negative whole number")
        check_call_texts({"call_id": call, "cause": cause})
        if billsec > MAX_BILLSEC:
            raise InvalidRequest(f"billsec is at most {MAX_BILLSEC} (one day)")
        ended_at = check_instant(ended_at, "ended_at") if ended_at is not None else None

        def command(uow: UnitOfWork) -> dict[str, Any]:
            session = self._session(uow, call)
            if session.status == ENDED:
                return session.end_answer
            if session.status == REFUSED:
                return {"call_id": call, "charged": 0, "cost": 0, "balance": None, "available": None,
                        "low_balance": False, "billsec": 0, "flags": "refused", "service": session.service}
            if ended_at is not None:
                check_not_before(ended_at, session.authorized_at, "ended_at")
            account = self._account(uow, session)
            if session.status == EXPIRED:
                return session.late_end or self._end_after_expiry(session, account, billsec,
                                                                  ended_at or self.clock(), cause, actor)
            end_at = ended_at or self.clock()
            assert session.authorized_at is not None
            rated_at = session.answered_at or (end_at - timedelta(seconds=billsec) if ended_at else None) \
                or session.authorized_at
            assert session.account is not None
            tz = str(session.rate.get("tz", "Asia/Shanghai"))
            free, usage = self.free_seconds_left(uow, session.plan, session.account, rated_at, tz)
            charge = rate_call(rate_row_of(session.rate), billsec, rated_at, tz, free)
            cost = charge.cost  # free minutes only lower it: the hold still covers it
            if usage is not None:
                usage.use(call, charge.free_seconds, actor)
            over_max = billsec > session.max_seconds
            self.top_up_at_end(session, account, billsec, cost, actor)
            charged = min(cost, session.hold)
            flags = ",".join(f for f, on in (("capped", cost > session.hold), ("over_max", over_max),
                                             ("cut", session.cut_reason is not None)) if on)
            if session.hold:
                account.settle(call, charged, house.revenue(session.service, session.category), actor, flags)
                note_charge(uow, account, charged, end_at)  # phone-bar low-deposit alert
            answer = {"call_id": call, "charged": charged, "cost": cost, "balance": account.balance,
                      "available": account.available, "low_balance": account.balance < self.policy.low_balance,
                      "billsec": billsec, "flags": flags, "service": session.service}
            session.end(billsec=billsec, answered_at=rated_at, ended_at=end_at, cause=cause, cost=cost,
                        flags=flags, actor=actor, answer=answer)
            if session.service == "forward":
                forwarding.finish(uow, session, self.policy.dial_plan, end_at, billsec, charged)
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

    def balance(self, number: str) -> dict[str, Any]:
        """Balance for an IVR prompt: by account number, or by a bound phone number; as fresh as the store."""
        self.ledger.fresh()
        uow = UnitOfWork(self.ledger)
        account = uow.find(account_id(number), Account)
        if account is None:
            e164 = e164_of(number, self.policy.dial_plan)
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
                note_charge(uow, self._account(uow, session), session.used, now)  # phone-bar low-deposit alert
            session.expire(now, EXPIRY_ACTOR)
            if session.service == "forward":
                forwarding.finish(uow, session, self.policy.dial_plan, now, session.used_seconds, session.charged,
                                  expired=True)
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
