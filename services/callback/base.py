"""What every part of the callback service shares: the charging engine, the dialer, the policy, look-ups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ledger.accounts import Account
from ledger.callbacks import CallbackNotFound, CallbackRequest, callback_id
from ledger.errors import AccountNotFound, InvalidRequest, LedgerError
from ledger.ids import account_id
from ledger.tariff_book import TariffNotFound
from ledger.text import check_text
from ledger.unit_of_work import UnitOfWork
from services.charging import Charging
from services.charging.tariffs import RateQuote
from services.ports import Dialer


@dataclass(frozen=True)
class CallbackPolicy:
    #: Seconds leg A may run before a destination is bridged (ringing the subscriber, keying the number).
    setup_seconds: int = 90


class NotCallable(LedgerError):
    """A refusal computed inside a command: nothing of that command is saved."""

    def __init__(self, reason: str, message: str, account: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.account = account


class CallbacksBase:
    """The callback calls over one charging engine and one dialer. Thread-safe; holds no state of its own."""

    def __init__(self, charging: Charging, dialer: Dialer, policy: CallbackPolicy | None = None) -> None:
        self.charging = charging
        self.ledger = charging.ledger
        self.dialer = dialer
        self.policy = policy or CallbackPolicy()

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

    def _closing(self, call_id: str, account: Account, a: int, b: int, status: str) -> dict[str, Any]:
        return {"call_id": call_id, "status": status, "charged": a + b, "leg_a_charged": a, "leg_b_charged": b,
                "account": account.number, "balance": account.balance, "available": account.available,
                "low_balance": account.balance < self.charging.policy.low_balance}

    @staticmethod
    def _account(uow: UnitOfWork, request: CallbackRequest) -> Account:
        assert request.account is not None
        return uow.get(account_id(request.account), Account, lambda: AccountNotFound(f"no account {request.account}"))

    @staticmethod
    def _request(uow: UnitOfWork, call_id: str) -> CallbackRequest:
        check_text(call_id, "call_id", 180, required=True)
        return uow.get(callback_id(call_id), CallbackRequest, lambda: CallbackNotFound(f"no callback {call_id}"))


def place_refusal(call_id: str, reason: str, message: str) -> dict[str, Any]:
    return {"call_id": call_id, "reject": True, "callback": False, "reason": reason, "message": message,
            "account": None, "subscriber": None, "leg_a": None, "max_seconds": 0, "balance": None,
            "available": None, "low_balance": False}


def fingerprint(**fields: str) -> str:
    """A request as canonical JSON: a retry has the same one, another request a different one."""
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()
