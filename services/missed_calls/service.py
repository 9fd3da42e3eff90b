"""Missed-call notification (来电提醒): the one service behind the switch hooks, the IVR, SMS and GraphQL.

Guarantees:

* a missed call is recorded only for a callee whose number is bound to an
  account with an active subscription for its cause (`missed_call_busy`
  for busy, `missed_call_off` for off, unreachable or out of area), and
  whose caller is not blacklisted for that account or everywhere;
  otherwise nothing is recorded and the answer says why;
* each notice window and each reachable-again request is sent at most once
  per claim: the claim is an event saved before the gateway is called, so a
  retried or concurrent report finds nothing left to send; a send the
  gateway refuses is recorded and waits for the next report;
* a reachable-again notice costs its requester `reachable_fee`, debited
  whole in the claiming save or not at all (no money: recorded unpaid,
  nothing sent) and credited back if the gateway refuses the text;
* the history on request costs `history_fee` to the owner's account, whole
  or not at all, and shows nothing when it cannot be paid;
* notices and requests pending 24 hours lapse, by the scheduler's job and
  whenever their box is next touched; what the gateway refused, and a
  request made while the callee is reachable, is sent by the scheduler's
  job while the callee stays reachable;
* every fee is posted against a house revenue account, so the trial balance
  stays zero; bad input is refused before anything is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ledger import house
from ledger.accounts import ACTIVE as ACCOUNT_ACTIVE
from ledger.accounts import Account
from ledger.application import Ledger
from ledger.blacklists import EVERYWHERE
from ledger.errors import (
    AccountNotFound,
    InsufficientFunds,
    InvalidRequest,
    NumberNotBound,
    PinLocked,
    WrongPin,
)
from ledger.ids import account_id
from ledger.missed_call_adverts import Adverts, adverts_id
from ledger.missed_calls import (
    CAUSES,
    SERVICES,
    MissedCallBox,
    NoPin,
    NotSubscribed,
    SubscriptionSuspended,
    box_id,
    window_key,
)
from ledger.pins import MAX_PIN_TRIES, check_pin_format
from ledger.subscriptions import ACTIVE as SUBSCRIPTION_ACTIVE
from ledger.subscriptions import SUSPENDED, Subscription, subscription_id
from ledger.text import check_text
from ledger.unit_of_work import UnitOfWork
from projections import missed_calls as view
from services.charging import Charging
from services.missed_calls.wording import history_text, notice_text, reachable_text
from services.ports import SmsGateway

REACHABLE_FEE = 1000  # 0.10 a reachable-again SMS, charged to the caller who asked (短信回叫)
HISTORY_FEE = 1000  # 0.10 a history on request (来话点播), by IVR or SMS
REACHABLE_REVENUE = house.revenue("missed_call", "reachable_sms")
HISTORY_REVENUE = house.revenue("missed_call", "history")
HISTORY_SIZE = 5
SYSTEM = "system:missed-calls"


class MissedCalls:
    def __init__(self, ledger: Ledger, views: Any, charging: Charging, sms: SmsGateway,
                 clock: Callable[[], datetime], timezone: str, fresh: Callable[[], None], *,
                 reachable_fee: int = REACHABLE_FEE, history_fee: int = HISTORY_FEE) -> None:
        self.ledger = ledger
        self.views = views
        self.charging = charging
        self.sms = sms
        self.clock = clock
        self.timezone = timezone
        self.fresh = fresh
        self.reachable_fee = reachable_fee
        self.history_fee = history_fee

    # --- helpers -------------------------------------------------------------------------

    def number(self, value: Any, what: str) -> str:
        check_text(value, what, 32, required=True)
        return self.charging.normalise(value)

    @staticmethod
    def _id(value: Any, what: str) -> str:
        return check_text(value, what, 100, required=True)

    def _account_of(self, phone: str) -> str | None:
        try:
            return self.ledger.account_for_phone(phone)
        except NumberNotBound:
            return None

    def _box(self, uow: UnitOfWork, callee: str, actor: str) -> MissedCallBox:
        return uow.find(box_id(callee), MissedCallBox) or uow.add(MissedCallBox.open(callee, self.timezone, actor))

    def _advert(self, uow: UnitOfWork, recipient: str, at: datetime) -> str | None:
        book = uow.find(adverts_id(), Adverts)
        if book is None:
            return None
        theirs = uow.find(box_id(recipient), MissedCallBox)
        return book.choose(at, self.timezone, recipient, theirs.group if theirs else None)

    @staticmethod
    def _available(account: Account | None) -> int:
        return account.available if account is not None and account.status == ACCOUNT_ACTIVE else 0

    def _blacklisted(self, account: str, caller: str) -> bool:
        lists = self.charging.blacklist()
        return any(caller in lists.get(scope, ()) for scope in (account, EVERYWHERE))

    # --- the switch: a missed call, the callee back ------------------------------------------------

    def missed(self, call_id: str, caller: str, callee: str, cause: str, actor: str) -> dict[str, Any]:
        """A call the switch could not put through. `recorded` false with a `reason` when nothing is kept:
        `not_subscribed`, `subscription_suspended`, `blacklisted`."""
        call = self._id(call_id, "a call id")
        if cause not in CAUSES:
            raise InvalidRequest(f"a cause is one of {', '.join(CAUSES)}")
        src, dst = self.number(caller, "a caller"), self.number(callee, "a callee")
        service = SERVICES[CAUSES[cause]]
        base = {"call_id": call, "caller": src, "callee": dst, "cause": cause, "service": service}
        account = self._account_of(dst)
        if account is None:
            return {**base, "recorded": False, "reason": "not_subscribed",
                    "message": f"{dst} is not bound to an account"}
        if self._blacklisted(account, src):
            return {**base, "recorded": False, "reason": "blacklisted",
                    "message": f"{src} is blacklisted for account {account}"}
        now = self.clock()

        def command(uow: UnitOfWork) -> dict[str, Any]:
            sub = uow.find(subscription_id(account, service), Subscription)
            if sub is None or sub.status not in (SUBSCRIPTION_ACTIVE, SUSPENDED):
                raise NotSubscribed(f"account {account} has no subscription to {service}")
            if sub.status == SUSPENDED:
                raise SubscriptionSuspended(f"the subscription of account {account} to {service} is suspended"
                                            " (unpaid)")
            box = self._box(uow, dst, actor)
            box.lapse(now)
            kept = box.miss(call, src, cause, account, now)
            window = kept or {"window": None, "count": None}
            return {**base, "recorded": True, "reason": None, "account": account, **window,
                    "offer_reachable": True}

        try:
            return self.ledger.execute(command, op=(f"missed-call:{call}", json.dumps([src, dst, cause])))
        except (NotSubscribed, SubscriptionSuspended) as err:  # nothing is recorded, not even the answer
            return {**base, "recorded": False, "reason": err.code, "message": str(err)}

    def request_reachable(self, call_id: str | None, caller: str, callee: str, notify: str | None,
                          actor: str) -> dict[str, Any]:
        """The caller asks to be told (at `notify`, default their own number) when the callee is reachable.

        Without a call id (asked by SMS), one request per caller, callee, number to notify and local hour. `accepted` false
        with `unknown_account` (the caller has no account to pay with) or `insufficient_funds` (it cannot
        pay one notice now); nothing is recorded then."""
        src, dst = self.number(caller, "a caller"), self.number(callee, "a callee")
        to = self.number(notify, "a number to notify") if notify else src
        request = (self._id(call_id, "a call id") if call_id is not None
                   else f"sms:{window_key(src, self.clock(), self.timezone)}:{dst}:{to}")
        base = {"call_id": request, "caller": src, "callee": dst, "notify": to, "fee": self.reachable_fee}
        payer = self._account_of(src)
        if payer is None:
            return {**base, "accepted": False, "reason": "unknown_account",
                    "message": f"{src} is not bound to an account that could pay the notice"}
        now = self.clock()

        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = uow.get(account_id(payer), Account, lambda: AccountNotFound(f"no account {payer}"))
            if self._available(account) < self.reachable_fee:
                raise InsufficientFunds(f"account {payer} cannot pay the notice")  # not kept: a later try may pay
            box = self._box(uow, dst, actor)
            box.lapse(now)
            box.request_reachable(request, src, to, payer, now)
            return {**base, "accepted": True, "reason": None, "account": payer}

        try:
            return self.ledger.execute(command, op=(f"missed-reachable-request:{request}",
                                                    json.dumps([src, dst, to])))
        except InsufficientFunds as err:
            return {**base, "accepted": False, "reason": err.code, "account": payer, "message": str(err)}

    def reachable(self, event_id: str, callee: str, actor: str) -> dict[str, Any]:
        """The callee is reachable again: send each pending notice (one SMS a window, advert appended) and
        serve each pending reachable-again request (its fee charged). A repeated report id sends nothing."""
        report = self._id(event_id, "an event id")
        dst = self.number(callee, "a callee")
        now = self.clock()
        claimed: list[dict[str, Any]] = []

        def command(uow: UnitOfWork) -> dict[str, Any]:
            claimed.clear()
            answer: dict[str, Any] = {"event_id": report, "callee": dst, "notices": [], "reachable_notices": [],
                                      "unpaid": [], "lapsed": []}
            box = uow.find(box_id(dst), MissedCallBox)
            if box is None:
                return answer
            answer["lapsed"] = box.lapse(now)
            if box.came_back(report, now):
                self._dispatch(uow, box, now, actor, answer, claimed)
            return answer

        answer = self.ledger.execute(command, op=(f"missed-came-back:{report}", json.dumps([dst])))
        failed = [c["ref"] for c in claimed if not self._send(dst, c)]
        return {**answer, "failed": failed}

    def _dispatch(self, uow: UnitOfWork, box: MissedCallBox, now: datetime, actor: str, answer: dict[str, Any],
                  claimed: list[dict[str, Any]]) -> None:
        """Claim every pending notice and serve every pending request of a reachable callee (in `uow`)."""
        dst = box.callee
        for key in box.pending_windows():
            w = box.windows[key]
            body = notice_text(w["caller"], w["first_at"], w["count"], self.timezone, self._advert(uow, dst, now))
            box.claim_notice(key, body, now)
            claimed.append({"kind": "notice", "ref": key, "to": dst, "body": body})
            answer["notices"].append({"window": key, "caller": w["caller"], "count": w["count"]})
        for key in box.pending_requests():
            r = box.requests[key]
            payer = uow.find(account_id(r["account"]), Account)
            available = self._available(payer)
            if payer is None or available < self.reachable_fee:
                box.reachable_unpaid(key, self.reachable_fee, available, now)
                answer["unpaid"].append({"request": key, "account": r["account"], "reason": "insufficient_funds"})
                continue
            body = reachable_text(dst, self._advert(uow, r["notify"], now))
            payer.debit(self.reachable_fee, REACHABLE_REVENUE, actor, f"reachable notice {dst} {key}")
            box.claim_reachable(key, body, self.reachable_fee, now)
            claimed.append({"kind": "reachable", "ref": key, "to": r["notify"], "body": body, "account": r["account"]})
            answer["reachable_notices"].append({"request": key, "notify": r["notify"], "account": r["account"],
                                                "charged": self.reachable_fee})

    def retry_due(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Send what waits for a callee last reported reachable: a notice or a reachable-again notice the
        gateway refused, or a request made while the callee was reachable. Each is claimed as on a report,
        so a run racing a report (or another run) sends nothing twice."""
        at = now or self.clock()
        self.fresh()
        done = []
        for callee in view.waiting_while_reachable(self.views):
            claimed: list[dict[str, Any]] = []

            def command(uow: UnitOfWork, callee: str = callee, claimed: list[dict[str, Any]] = claimed
                        ) -> dict[str, Any]:
                claimed.clear()
                answer: dict[str, Any] = {"callee": callee, "notices": [], "reachable_notices": [], "unpaid": [],
                                          "lapsed": []}
                box = uow.find(box_id(callee), MissedCallBox)
                if box is None or not box.reachable:
                    return answer
                answer["lapsed"] = box.lapse(at)
                self._dispatch(uow, box, at, SYSTEM, answer, claimed)
                return answer

            answer = self.ledger.execute(command)
            failed = [c["ref"] for c in claimed if not self._send(callee, c)]
            if answer["notices"] or answer["reachable_notices"] or answer["unpaid"] or answer["lapsed"]:
                done.append({**answer, "failed": failed})
        return done

    def _send(self, callee: str, claim: dict[str, Any]) -> bool:
        """Hand one claimed text to the gateway; a refusal is recorded (and a fee credited back)."""
        try:
            self.sms.send(claim["to"], claim["body"])
            return True
        except Exception as err:  # the gateway refused or is away: the claim goes back to pending
            error = f"{type(err).__name__}: {err}"
        now = self.clock()

        def undo(uow: UnitOfWork) -> dict[str, Any]:
            box = uow.get(box_id(callee), MissedCallBox, lambda: InvalidRequest("no box"))
            if claim["kind"] == "notice":
                box.notice_failed(claim["ref"], error, now)
            elif box.requests[claim["ref"]]["status"] == "sent":
                payer = uow.get(account_id(claim["account"]), Account, lambda: AccountNotFound("no account"))
                payer.credit(self.reachable_fee, REACHABLE_REVENUE, SYSTEM, f"refund reachable notice {claim['ref']}")
                box.reachable_failed(claim["ref"], self.reachable_fee, error, now)
            return {}

        self.ledger.execute(undo)
        return False

    def lapse_due(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Lapse what has waited 24 hours, for every callee the view shows with such notices or requests."""
        at = now or self.clock()
        self.fresh()
        done = []
        for callee in view.lapse_due(self.views, at):

            def command(uow: UnitOfWork, callee: str = callee) -> dict[str, Any]:
                box = uow.find(box_id(callee), MissedCallBox)
                return {"callee": callee, "lapsed": box.lapse(at) if box else []}

            result = self.ledger.execute(command)
            if result["lapsed"]:
                done.append(result)
        return done

    # --- the owner's menu -------------------------------------------------------------------

    def _owner_account(self, number: str) -> str:
        account = self._account_of(number)
        if account is None:
            raise AccountNotFound(f"{number} is not bound to an account")
        return account

    def check_pin(self, number: str, pin: str, actor: str) -> dict[str, Any]:
        """The owner's PIN for the IVR menu: `verified`, or `reason` (`wrong_pin`, `pin_locked`, `no_pin`) and
        `tries_left`. Every wrong try is recorded and counts toward the lockout; a malformed PIN counts nothing."""
        owner = self.number(number, "a number")
        check_pin_format(pin)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            box = self._box(uow, owner, actor)
            box.verify_pin(self.ledger.pins.matches(f"missed:{owner}", pin, box.pvv), actor)
            return {"number": owner, "verified": True, "reason": None, "tries_left": MAX_PIN_TRIES}

        try:
            return self.ledger.execute(command)
        except (WrongPin, PinLocked, NoPin) as err:
            self.ledger.fresh()
            box = UnitOfWork(self.ledger).find(box_id(owner), MissedCallBox)
            left = max(0, MAX_PIN_TRIES - (box.pin_failures if box else 0))
            return {"number": owner, "verified": False, "reason": err.code, "tries_left": left}

    def change_pin(self, number: str, new_pin: str, old_pin: str | None, actor: str, *,
                   reset: bool = False) -> dict[str, Any]:
        """Set the owner's PIN. Once one is set, the old one must be given (a wrong one counts toward the
        lockout) unless it is the operator's `reset`, which also lifts a lockout."""
        owner = self.number(number, "a number")
        check_pin_format(new_pin)
        if old_pin is not None:
            check_pin_format(old_pin)
        self._owner_account(owner)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            box = self._box(uow, owner, actor)
            if box.pvv is not None and not reset:
                if old_pin is None:
                    raise WrongPin("the old PIN is needed to change it")
                box.verify_pin(self.ledger.pins.matches(f"missed:{owner}", old_pin, box.pvv), actor)
            box.set_pin(self.ledger.pins.pvv(f"missed:{owner}", new_pin), actor)
            return {"number": owner, "changed": True, "reason": None, "tries_left": MAX_PIN_TRIES}

        try:
            return self.ledger.execute(command)
        except (WrongPin, PinLocked) as err:
            self.ledger.fresh()
            box = UnitOfWork(self.ledger).find(box_id(owner), MissedCallBox)
            left = max(0, MAX_PIN_TRIES - (box.pin_failures if box else 0))
            return {"number": owner, "changed": False, "reason": err.code, "tries_left": left}

    def _unlocked(self, owner: str, pin: str | None, actor: str) -> dict[str, Any] | None:
        """None when the owner may go on (no PIN asked: SMS from the number itself, or the operator)."""
        if pin is None:
            return None
        checked = self.check_pin(owner, pin, actor)
        return None if checked["verified"] else checked

    def history(self, number: str, actor: str, *, pin: str | None = None, op_id: str | None = None) -> dict[str, Any]:
        """The owner's latest missed calls (来话点播), for `history_fee` from the owner's account.

        `shown` false with `insufficient_funds` (nothing charged) or a PIN refusal."""
        owner = self.number(number, "a number")
        account = self._owner_account(owner)
        refused = self._unlocked(owner, pin, actor)
        if refused is not None:
            return {**refused, "shown": False, "calls": [], "charged": 0}
        self.fresh()
        calls = view.notices(self.views, owner, HISTORY_SIZE)
        text = history_text(calls, self.timezone)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            payer = uow.get(account_id(account), Account, lambda: AccountNotFound(f"no account {account}"))
            if self._available(payer) < self.history_fee:
                return {"number": owner, "account": account, "shown": False, "reason": "insufficient_funds",
                        "calls": [], "charged": 0, "balance": payer.balance, "text": None}
            payer.debit(self.history_fee, HISTORY_REVENUE, actor, f"missed-call history {owner}")
            return {"number": owner, "account": account, "shown": True, "reason": None, "calls": calls,
                    "charged": self.history_fee, "balance": payer.balance, "text": text}

        op = (f"missed-history:{self._id(op_id, 'an operation id')}", json.dumps([owner])) if op_id else None
        return self.ledger.execute(command, op=op)

    def block(self, number: str, caller: str, actor: str, *, pin: str | None = None,
              blocked: bool = True) -> dict[str, Any]:
        """The owner blacklists (or lets back) a caller: no notice, no record for their calls."""
        owner = self.number(number, "a number")
        account = self._owner_account(owner)
        other = self.number(caller, "a caller")
        refused = self._unlocked(owner, pin, actor)
        if refused is not None:
            return {**refused, "changed": False}
        if blocked:
            done = self.charging.block(other, actor, account=account, reason="missed-call owner")
        else:
            done = self.charging.unblock(other, actor, account=account)
        return {"number": owner, "account": account, "caller": done["number"], "blocked": done["blocked"],
                "changed": True, "reason": None}

    def set_group(self, number: str, group: str | None, actor: str) -> dict[str, Any]:
        owner = self.number(number, "a number")
        if group is not None:
            check_text(group, "a user group", 32, required=True)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            box = self._box(uow, owner, actor)
            box.set_group(group, actor)
            return {"number": owner, "group": box.group}

        return self.ledger.execute(command)

    # --- adverts (the operator) -------------------------------------------------------------

    def set_advert(self, name: str, text: str, actor: str, *, from_hour: int | None = None,
                   to_hour: int | None = None, prefix: str | None = None, group: str | None = None) -> dict[str, Any]:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            book = uow.find(adverts_id(), Adverts) or uow.add(Adverts.start(actor))
            book.set(name, text, from_hour, to_hour, prefix, group, actor)
            return dict(book.adverts[name])

        return self.ledger.execute(command)

    def remove_advert(self, name: str, actor: str) -> dict[str, Any]:
        check_text(name, "an advert's name", 32, required=True)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            book = uow.find(adverts_id(), Adverts) or uow.add(Adverts.start(actor))
            book.remove(name, actor)
            return {"name": name, "removed": True}

        return self.ledger.execute(command)

    def adverts(self) -> list[dict[str, Any]]:
        self.ledger.fresh()
        book = UnitOfWork(self.ledger).find(adverts_id(), Adverts)
        return [dict(a) for _, a in sorted(book.adverts.items())] if book else []

    # --- reads ---------------------------------------------------------------------------------

    def notices(self, number: str, limit: int = 100) -> list[dict[str, Any]]:
        """Every notice window of a callee, latest first (free: the operator's read)."""
        owner = self.number(number, "a number")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidRequest("a limit is 1 to 1000")
        self.fresh()
        return view.notices(self.views, owner, limit)
