"""A bar's booths and settings: add, remove, permissions, the owner's low-deposit alert.

Every command checks the bar first (an existing phone-bar account, not closed)
and changes nothing when it refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ledger.accounts import CLOSED, Account
from ledger.application import Ledger
from ledger.booths import Booth, BoothNotFound, booth_id, check_booth_name
from ledger.errors import AccountNotFound, InvalidRequest
from ledger.ids import account_id
from ledger.money import check_amount
from ledger.permits import CATEGORIES, check_permissions
from ledger.phonebars import PhoneBar, phonebar_id
from ledger.text import check_text
from ledger.unit_of_work import UnitOfWork
from projections import phonebar_reads as reads
from projections.db import ViewDB


class BoothsCommands:
    ledger: Ledger
    views: ViewDB
    fresh: Callable[[], None]
    clock: Callable[[], datetime]
    normalise: Callable[[str], str]

    @staticmethod
    def _bar(uow: UnitOfWork, bar: str) -> PhoneBar:
        """The bar's roster (registered on first use); refuses what is not an open phone bar."""
        check_text(bar, "a bar number", 20, required=True)
        account = uow.get(account_id(bar), Account, lambda: AccountNotFound(f"no account {bar}"))
        if account.kind != "phonebar":
            raise InvalidRequest(f"account {bar} is a {account.kind}, not a phone bar")
        if account.status == CLOSED:
            raise InvalidRequest(f"phone bar {bar} is closed")
        return uow.find(phonebar_id(bar), PhoneBar) or uow.add(PhoneBar.register(bar))

    @staticmethod
    def _booth(uow: UnitOfWork, bar: str, name: str) -> Booth:
        found = uow.find(booth_id(bar, name), Booth)
        if found is None or not found.active:
            raise BoothNotFound(f"bar {bar} has no booth {name}")
        return found

    def add_booth(self, bar: str, name: str, actor: str, categories: Sequence[str] | None = None,
                  allow: Sequence[str] = (), deny: Sequence[str] = ()) -> dict[str, Any]:
        """A new booth; without `categories` it may dial every category."""
        check_booth_name(name)
        permissions = check_permissions(list(CATEGORIES) if categories is None else list(categories),
                                        list(allow), list(deny))

        def command(uow: UnitOfWork) -> dict[str, Any]:
            roster = self._bar(uow, bar)
            booth = uow.find(booth_id(bar, name), Booth)
            if booth is None:
                uow.add(Booth.add(bar, name, permissions, actor))
            else:
                booth.restore(permissions, actor)
            roster.list_booth(name)
            return {"bar": bar, "name": name, **permissions}

        return self.ledger.execute(command)

    def remove_booth(self, bar: str, name: str, actor: str) -> dict[str, Any]:
        check_booth_name(name)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            roster = self._bar(uow, bar)
            self._booth(uow, bar, name).remove(actor)
            roster.unlist_booth(name)
            return {"bar": bar, "name": name, "removed": True}

        return self.ledger.execute(command)

    def set_permissions(self, bar: str, name: str, actor: str, categories: Sequence[str],
                        allow: Sequence[str] = (), deny: Sequence[str] = ()) -> dict[str, Any]:
        check_booth_name(name)
        permissions = check_permissions(list(categories), list(allow), list(deny))

        def command(uow: UnitOfWork) -> dict[str, Any]:
            self._bar(uow, bar)
            self._booth(uow, bar, name).set_permissions(permissions, actor)
            return {"bar": bar, "name": name, **permissions}

        return self.ledger.execute(command)

    def set_alert(self, bar: str, threshold: int | None, phone: str | None, actor: str) -> dict[str, Any]:
        """The owner's low-deposit SMS: below `threshold`, one text to `phone` per crossing (None: off)."""
        if threshold is not None:
            check_amount(threshold)
        e164 = self.normalise(check_text(phone, "a phone number", 32, required=True)) if phone is not None else None

        def command(uow: UnitOfWork) -> dict[str, Any]:
            self._bar(uow, bar).set_alert(threshold, e164, actor)
            return {"bar": bar, "threshold": threshold, "phone": e164}

        return self.ledger.execute(command)

    def booths(self, bar: str) -> list[dict[str, Any]]:
        self.fresh()
        self._bar(UnitOfWork(self.ledger), bar)  # refuses an unknown bar (records nothing)
        return reads.booths(self.views, bar)
