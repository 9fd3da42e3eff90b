"""Closing a callback: once, with both legs' charges and the balance for the IVR to announce.

A leg still open is ended at the billsec given (the ordinary end of a call);
a callback that was never bridged charges leg A's time alone, up to its setup
grant, and is recorded as failed.
"""

from __future__ import annotations

from typing import Any

from ledger.call_ids import call_id as session_id
from ledger.callbacks import (
    BRIDGED,
    ENDED,
    FAILED,
    PLACED,
    CallbackNotFound,
    CallbackNotOpen,
    CallbackRequest,
    leg_a,
    leg_b,
)
from ledger.charging import CallSession
from ledger.errors import InvalidRequest
from ledger.text import check_text
from ledger.unit_of_work import UnitOfWork
from services.callback.base import CallbacksBase
from services.charging import CallRequest


class Ending(CallbacksBase):
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
            account = self._account(uow, request)
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
        account = self._account(uow, request)
        answer = self._closing(request.call_id, account, charged, 0, "failed")
        request.fail(reason="no_destination", message="the subscriber bridged no destination", destination=None,
                     failed_at=self.charging.clock(), actor=actor, answer=answer)
        return answer
