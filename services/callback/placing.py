"""Placing a callback: the access call refused unanswered, the subscriber rung back through the dialer.

Idempotent per call id of the access call: a retried request returns the
first answer and dials nobody again (leg A is handed to the dialer once, after
the request is committed); the same id with another body is `duplicate_call`.
"""

from __future__ import annotations

from typing import Any

import structlog

from ledger.accounts import ACTIVE, Account
from ledger.blacklists import EVERYWHERE
from ledger.callbacks import PLACED, CallbackRequest, callback_id, leg_a
from ledger.ids import account_id, phone_id
from ledger.phones import PhoneBinding
from ledger.text import check_text
from ledger.unit_of_work import UnitOfWork
from services.callback.base import CallbacksBase, NotCallable, fingerprint, place_refusal
from services.charging.permits import account_refusal
from services.charging.requests import e164_of
from services.ports import Origination

log = structlog.get_logger("ringledger.callback")
DIAL_FAILED = "the switch did not place the call back"


class Placing(CallbacksBase):
    def place(self, call_id: str, caller: str, access_number: str, actor: str) -> dict[str, Any]:
        """The subscriber rang the access number: refuse it unanswered and call the subscriber back."""
        check_text(call_id, "call_id", 180, required=True)
        check_text(caller, "caller", 64, required=True)
        check_text(access_number, "access_number", 64, required=True)
        request_key = fingerprint(call_id=call_id, caller=caller, access_number=access_number)
        placed: list[Origination] = []

        def command(uow: UnitOfWork) -> dict[str, Any]:
            placed.clear()
            existing = uow.find(callback_id(call_id), CallbackRequest)
            if existing is not None:
                if existing.request != request_key:
                    return place_refusal(call_id, "duplicate_call", f"call id {call_id} was used for another call")
                if existing.failure == "dial_failed":
                    return place_refusal(call_id, "dial_failed", DIAL_FAILED)
                return existing.answer
            now = self.charging.clock()
            subscriber = e164_of(caller, self.charging.policy.dial_plan)
            try:
                account, plan = self._caller_account(uow, subscriber, caller)
                quote = self._quote(subscriber or caller, plan, access_number)
                refused = account_refusal(account, quote.e164, quote.category)  # leg A calls the subscriber
                if refused is not None:
                    raise NotCallable(*refused, account.number)
                setup = self.policy.setup_seconds
                if quote.cost(setup) > account.available:
                    raise NotCallable("insufficient_funds",
                                      f"account {account.number} cannot pay the {setup} s of the call back",
                                      account.number)
            except NotCallable as refusal:
                answer = place_refusal(call_id, refusal.reason, str(refusal))
                uow.add(CallbackRequest.refuse(
                    call_id=call_id, request=request_key, subscriber=subscriber or caller,
                    access_number=access_number, account=refusal.account, reason=refusal.reason, message=str(refusal),
                    refused_at=now, actor=actor, answer=answer))
                return answer
            low = self.charging.policy.low_balance
            answer = {"call_id": call_id, "reject": True, "callback": True, "reason": None, "message": None,
                      "account": account.number, "subscriber": subscriber, "leg_a": leg_a(call_id),
                      "max_seconds": setup, "balance": account.balance, "available": account.available,
                      "low_balance": account.available < low}
            uow.add(CallbackRequest.place(
                call_id=call_id, request=request_key, subscriber=subscriber, access_number=access_number,
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
                account = self._account(uow, request)
                request.fail(reason="dial_failed", message=DIAL_FAILED, destination=None,
                             failed_at=self.charging.clock(), actor=actor,
                             answer=self._closing(call_id, account, 0, 0, "failed"))
            return place_refusal(call_id, "dial_failed", DIAL_FAILED)

        return self.ledger.execute(command)

    def _caller_account(self, uow: UnitOfWork, subscriber: str | None, caller: str) -> tuple[Account, str]:
        binding = uow.find(phone_id(subscriber), PhoneBinding) if subscriber else None
        if binding is None or binding.account is None:
            raise NotCallable("unknown_account", f"{caller} is not bound to a card")
        account = uow.find(account_id(binding.account), Account)
        if account is None:
            raise NotCallable("unknown_account", f"no account {binding.account}")
        if account.status != ACTIVE:
            raise NotCallable("account_closed", f"account {account.number} is {account.status}", account.number)
        blocked = self.charging.blacklist()
        if any(subscriber in blocked.get(scope, ()) for scope in (account.number, EVERYWHERE)):
            raise NotCallable("blacklisted", f"{subscriber} is blacklisted", account.number)
        plan = account.plan or self.charging.policy.default_plan
        if not plan:
            raise NotCallable("no_rate", f"account {account.number} has no tariff", account.number)
        return account, plan
