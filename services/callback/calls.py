"""Callback calls: the access call refused and called back, the destination bridged, the call closed.

Guarantees:

* idempotent per call id of the access call: a retried request returns the
  first answer and places nothing again (leg A is handed to the dialer once,
  after the request is committed); the same id with another body is refused
  with `duplicate_call`;
* both legs are call sessions on the card's account (`<id>-a`, `<id>-b`),
  authorized together in one transaction when the destination is keyed: the
  bridged time granted is the longest both legs' costs together fit in the
  available balance (`services.callback.grants`), so leg A's minutes are held
  as surely as leg B's;
* a destination that cannot be called (no rate, blacklisted, not enough money)
  is answered `bridged: false` with its reason and changes nothing: the
  subscriber may key another;
* a callback is closed once: `Ended` with both legs' charges and the balance to
  announce, or `Failed` when none was bridged (leg A's time is then charged on
  its own, as far as the balance pays for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from ledger.accounts import ACTIVE, Account
from ledger.blacklists import EVERYWHERE
from ledger.call_ids import call_id as session_id
from ledger.callbacks import (
    BRIDGED,
    ENDED,
    FAILED,
    PLACED,
    CallbackNotFound,
    CallbackNotOpen,
    CallbackRequest,
    callback_id,
    leg_a,
    leg_b,
)
from ledger.charging import CallSession
from ledger.errors import AccountNotFound, InvalidRequest, LedgerError
from ledger.ids import account_id, phone_id
from ledger.phones import PhoneBinding
from ledger.tariff_book import TariffNotFound
from ledger.text import check_text
from ledger.unit_of_work import UnitOfWork
from services.callback.grants import bridged_seconds, warn_after
from services.charging import CallRequest, Charging
from services.charging.requests import e164_of
from services.charging.tariffs import RateQuote
from services.ports import Dialer, Origination

log = structlog.get_logger("ringledger.callback")
DIAL_FAILED = "the switch did not place the call back"


@dataclass(frozen=True)
class CallbackPolicy:
    #: Seconds leg A may run before a destination is bridged (ringing the subscriber, keying the number).
    setup_seconds: int = 90


class NotCallable(LedgerError):
    """A refusal computed inside a command: nothing of that command is saved."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Callbacks:
    """The callback calls over one charging engine and one dialer. Thread-safe; holds no state of its own."""

    def __init__(self, charging: Charging, dialer: Dialer, policy: CallbackPolicy | None = None) -> None:
        self.charging = charging
        self.ledger = charging.ledger
        self.dialer = dialer
        self.policy = policy or CallbackPolicy()

    # --- the access call ------------------------------------------------------

    def place(self, call_id: str, caller: str, access_number: str, actor: str) -> dict[str, Any]:
        """The subscriber rang the access number: refuse it unanswered and call the subscriber back."""
        check_text(call_id, "call_id", 180, required=True)
        check_text(caller, "caller", 64, required=True)
        check_text(access_number, "access_number", 64, required=True)
        fingerprint = _fingerprint(call_id=call_id, caller=caller, access_number=access_number)
        placed: list[Origination] = []

        def command(uow: UnitOfWork) -> dict[str, Any]:
            placed.clear()
            existing = uow.find(callback_id(call_id), CallbackRequest)
            if existing is not None:
                if existing.request != fingerprint:
                    return _refusal(call_id, "duplicate_call", f"call id {call_id} was used for another call")
                if existing.failure == "dial_failed":
                    return _refusal(call_id, "dial_failed", DIAL_FAILED)
                return existing.answer
            now = self.charging.clock()
            subscriber = e164_of(caller, self.charging.policy.dial_plan)
            try:
                account, plan = self._caller_account(uow, subscriber, caller)
                quote = self._quote(subscriber or caller, plan, access_number)
                setup = self.policy.setup_seconds
                if quote.cost(setup) > account.available:
                    raise NotCallable("insufficient_funds",
                                      f"account {account.number} cannot pay the {setup} s of the call back")
            except NotCallable as refusal:
                answer = _refusal(call_id, refusal.reason, str(refusal))
                uow.add(CallbackRequest.refuse(
                    call_id=call_id, request=fingerprint, subscriber=subscriber or caller,
                    access_number=access_number, account=None, reason=refusal.reason, message=str(refusal),
                    refused_at=now, actor=actor, answer=answer))
                return answer
            low = self.charging.policy.low_balance
            answer = {"call_id": call_id, "reject": True, "callback": True, "reason": None, "message": None,
                      "account": account.number, "subscriber": subscriber, "leg_a": leg_a(call_id),
                      "max_seconds": setup, "balance": account.balance, "available": account.available,
                      "low_balance": account.available < low}
            uow.add(CallbackRequest.place(
                call_id=call_id, request=fingerprint, subscriber=subscriber, access_number=access_number,
                account=account.number, plan=quote.plan.name, setup_seconds=setup, placed_at=now, actor=actor,
                answer=answer))
            placed.append(Origination(call_id=leg_a(call_id), caller=subscriber or caller, callee=access_number,
                                      max_seconds=setup))
            return answer

        answer = self.ledger.execute(command)
        for origination in placed:  # only the run that placed it: a retry dials nobody
            try:
                self.dialer.originate(origination)
            except Exception as exc:  # the switch would not place it: the request fails, and says so
                log.warning("callback_dial_failed", call_id=call_id, error=f"{type(exc).__name__}: {exc}"[:200])
                return self._dial_failed(call_id, actor)
            log.info("callback_placed", call_id=call_id, leg=origination.call_id)
        return answer

    def _dial_failed(self, call_id: str, actor: str) -> dict[str, Any]:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            request = self._request(uow, call_id)
            if request.status == PLACED:
                assert request.account is not None
                account = uow.get(account_id(request.account), Account,
                                  lambda: AccountNotFound(f"no account {request.account}"))
                request.fail(reason="dial_failed", message=DIAL_FAILED, destination=None,
                             failed_at=self.charging.clock(), actor=actor,
                             answer=self._closing(call_id, account, 0, 0, "failed"))
            return _refusal(call_id, "dial_failed", DIAL_FAILED)

        return self.ledger.execute(command)

    def _caller_account(self, uow: UnitOfWork, subscriber: str | None, caller: str) -> tuple[Account, str]:
        binding = uow.find(phone_id(subscriber), PhoneBinding) if subscriber else None
        if binding is None or binding.account is None:
            raise NotCallable("unknown_account", f"{caller} is not bound to a card")
        account = uow.find(account_id(binding.account), Account)
        if account is None:
            raise NotCallable("unknown_account", f"no account {binding.account}")
        if account.status != ACTIVE:
            raise NotCallable("account_closed", f"account {account.number} is {account.status}")
        blocked = self.charging.blacklist()
        if any(subscriber in blocked.get(scope, ()) for scope in (account.number, EVERYWHERE)):
            raise NotCallable("blacklisted", f"{subscriber} is blacklisted")
        plan = account.plan or self.charging.policy.default_plan
        if not plan:
            raise NotCallable("no_rate", f"account {account.number} has no tariff")
        return account, plan

    def _quote(self, dialled: str, plan: str, caller: str | None) -> RateQuote:
        try:
            quote = self.charging.quote(dialled, plan, caller=caller)
        except TariffNotFound as err:
            raise NotCallable("no_rate", str(err)) from None
        except InvalidRequest as err:
            raise NotCallable("no_rate", str(err)) from None
        if quote.row is None:
            raise NotCallable("no_rate", f"tariff {plan} has no rate for {quote.e164}")
        return quote

    # --- the destination ------------------------------------------------------

    def bridge(self, call_id: str, destination: str, actor: str) -> dict[str, Any]:
        """The subscriber keyed `destination`: authorize both legs together, or say why not (changing nothing)."""
        check_text(destination, "destination", 64, required=True)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            request = self._request(uow, call_id)
            if request.status == BRIDGED and request.bridge_answer is not None:
                if request.keyed != destination:
                    raise CallbackNotOpen(f"callback {call_id} is already bridged to {request.destination}")
                return request.bridge_answer
            if request.status != PLACED:
                raise CallbackNotOpen(f"callback {call_id} is {request.status}")
            return self._bridge(uow, request, destination, actor)

        try:
            return self.ledger.execute(command)
        except NotCallable as refusal:
            return {"call_id": call_id, "bridged": False, "reason": refusal.reason, "message": str(refusal),
                    "max_seconds": 0, "leg_a": None, "leg_b": None, "warn_after_seconds": 0, "low_balance": False,
                    "balance": None, "available": None}

    def _bridge(self, uow: UnitOfWork, request: CallbackRequest, destination: str, actor: str) -> dict[str, Any]:
        assert request.account is not None
        account = uow.get(account_id(request.account), Account,
                          lambda: AccountNotFound(f"no account {request.account}"))
        if account.status != ACTIVE:
            raise NotCallable("account_closed", f"account {account.number} is {account.status}")
        plan = account.plan or self.charging.policy.default_plan
        a = self._quote(request.subscriber, plan, request.access_number)
        b = self._quote(destination, plan, request.subscriber)
        blocked = self.charging.blacklist()
        if any(b.e164 in blocked.get(scope, ()) for scope in (account.number, EVERYWHERE)):
            raise NotCallable("blacklisted", f"{b.e164} is blacklisted")
        setup = request.setup_seconds
        cap = max(0, self.charging.policy.max_call_seconds - setup)
        seconds = bridged_seconds(a.cost, b.cost, setup, account.available, cap)
        if seconds <= 0:
            raise NotCallable("insufficient_funds",
                              f"account {account.number} cannot pay both legs of a call to {b.e164}")
        leg_b_answer = self._authorize(uow, CallRequest(
            call_id=leg_b(request.call_id), caller=request.subscriber, callee=destination, service="callback",
            account=account.number, cap_seconds=seconds), actor)
        leg_a_answer = self._authorize(uow, CallRequest(
            call_id=leg_a(request.call_id), caller=request.access_number, callee=request.subscriber,
            service="callback", account=account.number, cap_seconds=setup + seconds), actor)
        granted = min(leg_b_answer["max_seconds"], leg_a_answer["max_seconds"] - setup)
        threshold = self.charging.policy.low_balance
        warn = warn_after(a.cost, b.cost, setup, account.available + leg_a_answer["hold"] + leg_b_answer["hold"],
                          threshold, granted)
        now = self.charging.clock()
        price_a, price_b = a.price()[0], b.price()[0]
        answer = {"call_id": request.call_id, "bridged": True, "reason": None, "message": None,
                  "max_seconds": granted, "leg_a": leg_a(request.call_id), "leg_b": leg_b(request.call_id),
                  "leg_a_max_seconds": leg_a_answer["max_seconds"], "destination": leg_b_answer["destination"],
                  "price_per_minute": price_a + price_b, "hold": leg_a_answer["hold"] + leg_b_answer["hold"],
                  "warn_after_seconds": warn, "low_balance": warn < granted,
                  "balance": account.balance, "available": account.available}
        request.bridge(destination=destination, destination_e164=b.e164, leg_a=leg_a(request.call_id),
                       leg_b=leg_b(request.call_id), max_seconds=granted, bridged_at=now, actor=actor, answer=answer)
        return answer

    def _authorize(self, uow: UnitOfWork, call: CallRequest, actor: str) -> dict[str, Any]:
        answer = self.charging.authorize_command(call, actor)(uow)
        if not answer["authorized"]:
            raise NotCallable(answer["reason"], answer["message"])
        return answer

    # --- the end ----------------------------------------------------------------

    def end(self, call_id: str, leg_a_billsec: int | None, leg_b_billsec: int | None, cause: str,
            actor: str) -> dict[str, Any]:
        """Close the callback: end a leg still open at the billsec given, record the total, answer the balance."""
        for name, value in (("leg_a_billsec", leg_a_billsec), ("leg_b_billsec", leg_b_billsec)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise InvalidRequest(f"{name} is a non-negative whole number")
        check_text(cause, "cause", 64)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            request = self._request(uow, call_id)
            if request.status in (ENDED, FAILED) and request.close_answer is not None:
                return request.close_answer
            if request.status == PLACED:
                return self._abandoned(uow, request, leg_a_billsec or 0, cause, actor)
            if request.status != BRIDGED:
                raise CallbackNotOpen(f"callback {call_id} is {request.status}")
            charged = []
            for leg, billsec in ((leg_a(call_id), leg_a_billsec), (leg_b(call_id), leg_b_billsec)):
                session = uow.get(session_id(leg), CallSession, lambda leg=leg: CallbackNotFound(f"no leg {leg}"))
                if session.is_open:
                    if billsec is None:
                        raise InvalidRequest(f"leg {leg} is still open: give its billsec")
                    self.charging.end_command(leg, billsec, cause=cause, actor=actor)(uow)
                charged.append(session.cost)
            assert request.account is not None
            account = uow.get(account_id(request.account), Account,
                              lambda: AccountNotFound(f"no account {request.account}"))
            answer = self._closing(call_id, account, charged[0], charged[1], "ended")
            request.end(account=account.number, leg_a_charged=charged[0], leg_b_charged=charged[1],
                        balance=account.balance, ended_at=self.charging.clock(), actor=actor, answer=answer)
            return answer

        return self.ledger.execute(command)

    def _abandoned(self, uow: UnitOfWork, request: CallbackRequest, billsec: int, cause: str,
                   actor: str) -> dict[str, Any]:
        """No destination was bridged: leg A's time is charged alone, at most its setup grant."""
        assert request.account is not None
        charged = 0
        if billsec:
            leg = leg_a(request.call_id)
            call = CallRequest(call_id=leg, caller=request.access_number, callee=request.subscriber,
                               service="callback", account=request.account, cap_seconds=request.setup_seconds)
            if self.charging.authorize_command(call, actor)(uow)["authorized"]:
                charged = self.charging.end_command(leg, billsec, cause=cause, actor=actor)(uow)["charged"]
        account = uow.get(account_id(request.account), Account,
                          lambda: AccountNotFound(f"no account {request.account}"))
        answer = self._closing(request.call_id, account, charged, 0, "failed")
        request.fail(reason="no_destination", message="the subscriber bridged no destination", destination=None,
                     failed_at=self.charging.clock(), actor=actor, answer=answer)
        return answer

    def _closing(self, call_id: str, account: Account, a: int, b: int, status: str) -> dict[str, Any]:
        return {"call_id": call_id, "status": status, "charged": a + b, "leg_a_charged": a, "leg_b_charged": b,
                "account": account.number, "balance": account.balance, "available": account.available,
                "low_balance": account.balance < self.charging.policy.low_balance}

    @staticmethod
    def _request(uow: UnitOfWork, call_id: str) -> CallbackRequest:
        check_text(call_id, "call_id", 180, required=True)
        return uow.get(callback_id(call_id), CallbackRequest, lambda: CallbackNotFound(f"no callback {call_id}"))


def _refusal(call_id: str, reason: str, message: str) -> dict[str, Any]:
    return {"call_id": call_id, "reject": True, "callback": False, "reason": reason, "message": message,
            "account": None, "subscriber": None, "leg_a": None, "max_seconds": 0, "balance": None,
            "available": None, "low_balance": False}


def _fingerprint(**fields: str) -> str:
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()
