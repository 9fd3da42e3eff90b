"""What every part of charging shares: the ledger, the policy, the clock and the caches' lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.accounts import Account
from ledger.application import Ledger
from ledger.call_ids import blacklist_id, tariff_id
from ledger.call_ids import call_id as session_id
from ledger.charging import CallNotFound, CallSession
from ledger.errors import AccountNotFound, InvalidRequest
from ledger.ids import account_id
from ledger.unit_of_work import UnitOfWork
from rating.rate import rate_call
from rating.tariffs import TariffBook as RatingBook
from services.charging.requests import ChargingPolicy, e164_of, rate_row_of, utcnow
from services.ports import CallControl


class ChargingBase:
    """The charging engine's state over one Ledger. Thread-safe; holds only caches."""

    def __init__(self, ledger: Ledger, policy: ChargingPolicy | None = None,
                 clock: Callable[[], datetime] = utcnow, *, call_control: CallControl | None = None) -> None:
        self.ledger = ledger
        self.policy = policy or ChargingPolicy()
        self.clock = clock
        #: Cuts a call whose grant ran out (after the commit that recorded the cut); None: the answer alone.
        self.call_control = call_control
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

    def _drop_if_stale(self, aggregate_id: UUID, loaded: Any, drop: Callable[[], object]) -> None:
        """A copy loaded while the log showed a newer version is not kept (the listener may have run first)."""
        sync = self.ledger.sync
        if sync is not None and sync.stale(aggregate_id, loaded.version if loaded is not None else 0):
            with self._lock:
                drop()

    def normalise(self, number: str) -> str:
        e164 = e164_of(number, self.policy.dial_plan)
        if e164 is None:
            raise InvalidRequest(f"{number!r} is not a phone number")
        return e164

    @staticmethod
    def _session(uow: UnitOfWork, call: str) -> CallSession:
        return uow.get(session_id(call), CallSession, lambda: CallNotFound(f"no call {call}"))

    @staticmethod
    def _cost(session: CallSession, seconds: int, at: datetime | None) -> int:
        assert at is not None
        rate = session.rate
        return rate_call(rate_row_of(rate), seconds, at, rate.get("tz", "Asia/Shanghai")).cost

    @staticmethod
    def _account(uow: UnitOfWork, session: CallSession) -> Account:
        assert session.account is not None
        return uow.get(account_id(session.account), Account, lambda: AccountNotFound(f"no account {session.account}"))
