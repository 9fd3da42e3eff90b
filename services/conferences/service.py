"""The conference use cases: book, cancel, fire, retry, invite, drop, leg reports, instant trigger.

Guarantees:

* a call is placed (Dialer) or cut (CallControl) only after the event that
  decides it has committed; a command that loses a race to another process
  is run again on fresh state and decides nothing twice, so a booking fires
  once however many processes try;
* every leg is an ordinary switch call: the switch authorizes it with
  `service=conference`, the conference id and the initiator's account, so
  each leg is rated on its own (local, long distance …) and charged to the
  initiator;
* bad input (unknown conference, a number that is no phone number, a time
  in the past, retries out of range) is refused before anything is recorded.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid5

from ledger.accounts import ACTIVE, Account
from ledger.application import Ledger
from ledger.conferences import Conference, ConferenceNotFound, conference_id
from ledger.errors import AccountNotFound, InvalidRequest
from ledger.ids import NAMESPACE, account_id, phone_id
from ledger.phones import PhoneBinding
from ledger.text import check_text
from ledger.unit_of_work import UnitOfWork
from rating.numberplan import DialPlan, InvalidNumber, to_e164
from services.ports import CallControl, Dialer, Origination

SYSTEM = "system:conference"
LEG_EVENTS = ("joined", "failed", "hangup")
#: How far ahead a conference can be booked.
MAX_AHEAD = timedelta(days=366)


class Conferences:
    def __init__(self, ledger: Ledger, dialer: Dialer, call_control: CallControl, clock: Callable[[], datetime], *,
                 dial_plan: DialPlan | None = None, max_seconds: int = 14_400) -> None:
        self.ledger = ledger
        self.dialer = dialer
        self.call_control = call_control
        self.clock = clock
        self.dial_plan = dial_plan or DialPlan()
        self.max_seconds = max_seconds

    # --- helpers ---------------------------------------------------------------------

    def number(self, raw: Any, what: str = "a phone number") -> str:
        check_text(raw, what, 64, required=True)
        try:
            return to_e164(raw, self.dial_plan)
        except InvalidNumber as err:
            raise InvalidRequest(f"{what}: {err}") from None

    @staticmethod
    def _conference(uow: UnitOfWork, cid: str) -> Conference:
        check_text(cid, "a conference id", 64, required=True)
        return uow.get(conference_id(cid), Conference, lambda: ConferenceNotFound(f"no conference {cid}"))

    @staticmethod
    def _payer(uow: UnitOfWork, account: str | None, initiator: str) -> Account:
        number = account
        if number is None:
            binding = uow.find(phone_id(initiator), PhoneBinding)
            if binding is None or binding.account is None:
                raise AccountNotFound(f"{initiator} is not bound to an account")
            number = binding.account
        check_text(number, "an account number", 20, required=True)
        return uow.get(account_id(number), Account, lambda: AccountNotFound(f"no account {number}"))

    def _act(self, cid: str, step: Callable[[Conference], list[str]], *, cut_reason: str = "") -> dict[str, Any]:
        """Run `step` on the conference in one unit of work; after the commit, dial or cut the legs it names."""
        def command(uow: UnitOfWork) -> dict[str, Any]:
            conference = self._conference(uow, cid)
            return {"legs": step(conference), **self.summary(conference)}

        result = self.ledger.execute(command)
        self._after(result, cut_reason)
        return result

    def _after(self, result: dict[str, Any], cut_reason: str) -> None:
        if cut_reason:
            for leg in result["legs"]:
                self.call_control.cut(leg, cut_reason)
            return
        by_leg = {leg["leg"]: leg["number"] for leg in result["leg_list"]}
        for leg in result["legs"]:
            self.dialer.originate(Origination(call_id=leg, caller=result["initiator"], callee=by_leg[leg],
                                              max_seconds=self.max_seconds, conference_id=result["conference_id"]))

    @staticmethod
    def summary(c: Conference) -> dict[str, Any]:
        return {"conference_id": c.conference_id, "mode": c.mode, "status": c.status, "account": c.account,
                "initiator": c.initiator, "participants": list(c.participants), "start_at": c.start_at,
                "retries": c.retries, "retry_interval": c.retry_interval,
                "leg_list": [{"leg": k, **v} for k, v in c.legs.items()]}

    # --- booking (portal) ---------------------------------------------------------------

    def book(self, *, initiator: str, participants: Iterable[str], start_at: datetime, retries: int,
             retry_interval: int, actor: str, account: str | None = None, op_id: str | None = None) -> dict[str, Any]:
        """Book a conference: at `start_at` the initiator is called, then each participant once the initiator
        answers; a leg that fails is called again up to `retries` times, `retry_interval` seconds apart."""
        caller = self.number(initiator, "the initiator")
        if isinstance(participants, str):
            raise InvalidRequest("participants is a list of phone numbers")
        numbers = [self.number(p, "a participant") for p in participants]
        if not numbers:
            raise InvalidRequest("a conference needs at least one participant")
        for value, what in ((retries, "retries"), (retry_interval, "the retry interval")):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidRequest(f"{what} is a whole number")
        if not isinstance(start_at, datetime) or start_at.tzinfo is None:
            raise InvalidRequest("the start is an instant with its offset")
        now = self.clock()
        if start_at < now:
            raise InvalidRequest("the start must not be in the past")
        if start_at > now + MAX_AHEAD:
            raise InvalidRequest("a conference is booked at most a year ahead")
        cid = "c" + secrets.token_hex(8)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            payer = self._payer(uow, account, caller)
            if payer.status != ACTIVE:
                raise InvalidRequest(f"account {payer.number} is {payer.status}")
            booked = uow.add(Conference.book(cid, "booked", payer.number, caller, numbers, start_at, retries,
                                             retry_interval, actor))
            return self.summary(booked)

        op = None
        if op_id is not None:
            check_text(op_id, "an operation id", 200, required=True)
            op = (op_id, json.dumps(["conference", account, caller, numbers, start_at.isoformat(), retries,
                                     retry_interval]))
        return self.ledger.execute(command, op)

    def cancel(self, cid: str, actor: str, reason: str = "") -> dict[str, Any]:
        check_text(reason, "a reason")

        def step(c: Conference) -> list[str]:
            c.cancel(actor, reason)
            return []

        return self._act(cid, step)

    # --- the scheduler's work ---------------------------------------------------------

    def fire(self, cid: str, now: datetime | None = None) -> list[str]:
        """Start a due booking (once): the initiator's leg is placed. Returns the legs dialled."""
        at = now or self.clock()
        return list(self._act(cid, lambda c: c.fire(at, SYSTEM))["legs"])

    def retry(self, cid: str, leg: str, now: datetime | None = None) -> list[str]:
        at = now or self.clock()
        return list(self._act(cid, lambda c: c.retry(leg, at))["legs"])

    def run_due(self, due: Iterable[tuple[str, str, str]], now: datetime | None = None) -> list[str]:
        """Do every due action the schedule view lists; each is checked again on its aggregate."""
        at = now or self.clock()
        dialled: list[str] = []
        for cid, kind, leg in due:
            dialled += self.fire(cid, at) if kind == "start" else self.retry(cid, leg, at)
        return dialled

    # --- by phone: the instant conference and the initiator's keys ---------------------

    def start_instant(self, call_id: str, caller: str, actor: str) -> dict[str, Any]:
        """The initiator rang the access number: the switch rejects unanswered (the trigger costs
        nothing) and the initiator is called back at once. A repeated trigger changes nothing."""
        check_text(call_id, "a call id", 200, required=True)
        number = self.number(caller, "the caller")
        cid = "i" + uuid5(NAMESPACE, "instant:" + call_id).hex[:15]
        now = self.clock()

        def command(uow: UnitOfWork) -> dict[str, Any]:
            existing = uow.find(conference_id(cid), Conference)
            if existing is not None:
                return {**self.summary(existing), "legs": [], "accepted": True, "reason": None}
            try:
                payer = self._payer(uow, None, number)
            except AccountNotFound as err:
                return _refused("unknown_account", str(err))
            if payer.status != ACTIVE:
                return _refused("account_closed", f"account {payer.number} is {payer.status}")
            if payer.available <= 0:
                return _refused("insufficient_funds", f"account {payer.number} has nothing available")
            conference = uow.add(Conference.book(cid, "instant", payer.number, number, [], now, 0, 0, actor))
            legs = conference.fire(now, actor)
            return {**self.summary(conference), "legs": legs, "accepted": True, "reason": None}

        result = self.ledger.execute(command)
        if result["accepted"]:
            self._after(result, "")
        return result

    def invite(self, cid: str, number: str, actor: str) -> dict[str, Any]:
        callee = self.number(number, "a participant")
        now = self.clock()
        return self._act(cid, lambda c: c.invite(callee, actor, now))

    def drop(self, cid: str, number: str, actor: str) -> dict[str, Any]:
        callee = self.number(number, "a participant")
        return self._act(cid, lambda c: c.drop(callee, actor), cut_reason="dropped")

    def leg_event(self, cid: str, leg: str, event: str, cause: str = "") -> dict[str, Any]:
        """The switch reports a leg: `joined` (answered; the initiator's brings in the participants),
        `failed` (not answered; retried as booked), `hangup` (the initiator's ends the conference)."""
        if event not in LEG_EVENTS:
            raise InvalidRequest(f"event must be one of {', '.join(LEG_EVENTS)}")
        check_text(leg, "a leg", 80, required=True)
        check_text(cause, "a cause", 64)
        now = self.clock()
        if event == "joined":
            return self._act(cid, lambda c: c.joined(leg, now))
        if event == "failed":
            return self._act(cid, lambda c: c.failed(leg, cause or "failed", now), cut_reason="conference_ended")
        return self._act(cid, lambda c: c.hung_up(leg, cause or "hangup", now), cut_reason="conference_ended")


def _refused(reason: str, message: str) -> dict[str, Any]:
    return {"conference_id": None, "accepted": False, "reason": reason, "message": message, "legs": []}
