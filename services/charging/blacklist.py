"""The blacklist for charging: block and unblock a number, the cached list a call is checked against."""

from __future__ import annotations

import time
from typing import Any

from ledger.accounts import Account
from ledger.blacklists import EVERYWHERE, Blacklist
from ledger.call_ids import blacklist_id
from ledger.errors import AccountNotFound, InvalidRequest
from ledger.ids import account_id
from ledger.unit_of_work import UnitOfWork, evict
from services.charging.base import ChargingBase


class Blacklisting(ChargingBase):
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
