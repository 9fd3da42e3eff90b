"""Bridging a callback: both legs authorized together on the card when the subscriber keys a destination.

The bridged time granted is the longest whose cost the available balance
covers for both legs together (`services.callback.grants`), so leg A's minutes
are held as surely as leg B's. A destination that cannot be called (no rate,
blacklisted, not enough money) is answered `bridged: false` with its reason and
changes nothing: the subscriber may key another.
"""

from __future__ import annotations

from typing import Any

from ledger.accounts import ACTIVE
from ledger.blacklists import EVERYWHERE
from ledger.callbacks import BRIDGED, PLACED, CallbackNotOpen, CallbackRequest, leg_a, leg_b
from ledger.text import MAX_CALLEE_DIGITS, check_digits, check_text
from ledger.unit_of_work import UnitOfWork
from services.callback.base import CallbacksBase, NotCallable
from services.callback.grants import bridged_seconds, warn_after
from services.charging import CallRequest


class Bridging(CallbacksBase):
    def bridge(self, call_id: str, destination: str, actor: str) -> dict[str, Any]:
        """The subscriber keyed `destination`: authorize both legs together, or say why not (changing nothing)."""
        check_digits(check_text(destination, "destination", 64, required=True), "destination", MAX_CALLEE_DIGITS)

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
        account = self._account(uow, request)
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
