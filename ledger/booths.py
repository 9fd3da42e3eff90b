"""Booths of a phone bar: what each may dial, and the walk-in customer's bills.

A `Booth` has an id derived from its bar and name, so adding a booth twice
collides instead of making a twin. Its permissions say which call categories
it may dial and which prefixes are always allowed (whitelist) or always
refused (blacklist, which wins). A checkout records the calls it bills.

Guarantees: a call is on at most one bill — `check_out` refuses a call the
booth has billed before, and two checkouts racing on one booth collide on
the booth's version, so the loser runs again on the winner's state.
Checkouts move no ledger money: the retail price is the bar's own business.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidRequest, LedgerError, NotFound
from ledger.ids import derived_id
# The permission rules live in ledger.permits (booths and accounts share them); named here as before.
from ledger.permits import ALWAYS, CATEGORIES, MAX_PREFIXES, check_permissions, refusal  # noqa: F401
from ledger.text import check_text

#: Billed call ids are remembered for calls authorized up to this long before the latest call
#: billed; older calls are outside every later bill's window anyway (see `bill_window_start`).
BILL_MEMORY = timedelta(days=1)


def booth_id(bar: str, name: str) -> Any:
    return derived_id(f"booth:{bar}:{name}")


def check_booth_name(name: Any) -> str:
    check_text(name, "a booth name", 64, required=True)
    if name != name.strip():
        raise InvalidRequest("a booth name has no leading or trailing spaces")
    return str(name)


class Booth(Aggregate):
    class Added(Aggregate.Created):
        bar: str
        name: str
        permissions: dict[str, list[str]]
        actor: str

    def __init__(self, bar: str, name: str, permissions: dict[str, list[str]], actor: str) -> None:
        self.bar = bar
        self.name = name
        self.permissions = permissions
        self.active = True
        self.bills = 0
        self.last_checkout: datetime | None = None
        self.billed: dict[str, datetime] = {}  # call id -> authorized_at, within BILL_MEMORY
        self.window_start: datetime | None = None

    @classmethod
    def add(cls, bar: str, name: str, permissions: dict[str, list[str]], actor: str) -> Booth:
        return cls._create(cls.Added, id=booth_id(bar, name), bar=bar, name=name, permissions=permissions,
                           actor=actor)

    class Restored(Aggregate.Event):
        permissions: dict[str, list[str]]
        actor: str

        def apply(self, booth: Booth) -> None:
            booth.active, booth.permissions = True, self.permissions

    def restore(self, permissions: dict[str, list[str]], actor: str) -> None:
        if self.active:
            raise BoothExists(f"bar {self.bar} already has booth {self.name}")
        self.trigger_event(self.Restored, permissions=permissions, actor=actor)

    class PermissionsSet(Aggregate.Event):
        permissions: dict[str, list[str]]
        actor: str

        def apply(self, booth: Booth) -> None:
            booth.permissions = self.permissions

    def set_permissions(self, permissions: dict[str, list[str]], actor: str) -> None:
        self._check_active()
        self.trigger_event(self.PermissionsSet, permissions=permissions, actor=actor)

    class Removed(Aggregate.Event):
        actor: str

        def apply(self, booth: Booth) -> None:
            booth.active = False

    def remove(self, actor: str) -> None:
        self._check_active()
        self.trigger_event(self.Removed, actor=actor)

    class CheckedOut(Aggregate.Event):
        """A walk-in customer's bill: every line with its retail amount, and the totals."""

        bill: int
        lines: list[dict[str, Any]]
        retail_total: int
        cost_total: int
        checked_out_at: datetime
        actor: str

        def apply(self, booth: Booth) -> None:
            booth.bills = self.bill
            booth.last_checkout = self.checked_out_at
            billed = dict(booth.billed)
            for line in self.lines:
                billed[line["call_id"]] = datetime.fromisoformat(line["authorized_at"])
            # Measured on the calls' own clock (the switch hooks'), not the checkout's.
            window = max(billed.values()) - BILL_MEMORY
            booth.window_start = window
            booth.billed = {k: v for k, v in billed.items() if v >= window}

    def bill_window_start(self) -> datetime | None:
        """Calls authorized before this are on an earlier bill: a day before the latest call billed.

        A call is never open that long (the longest grant is hours), so none unbilled lies before it.
        """
        return self.window_start

    def check_out(self, lines: list[dict[str, Any]], at: datetime, actor: str) -> None:
        self._check_active()
        if not lines:
            raise NothingToBill(f"booth {self.name} of bar {self.bar} has no call since its last checkout")
        twice = [line["call_id"] for line in lines if line["call_id"] in self.billed]
        if twice:
            raise InvalidRequest(f"calls {', '.join(twice)} are already on a bill")
        self.trigger_event(self.CheckedOut, bill=self.bills + 1, lines=lines,
                           retail_total=sum(line["retail"] for line in lines),
                           cost_total=sum(line["cost"] for line in lines), checked_out_at=at, actor=actor)

    def _check_active(self) -> None:
        if not self.active:
            raise BoothNotFound(f"bar {self.bar} has no booth {self.name}")


class BoothExists(LedgerError):
    code = "booth_exists"


class BoothNotFound(NotFound):
    code = "unknown_booth"


class NothingToBill(LedgerError):
    code = "nothing_to_bill"


class BoothBusy(LedgerError):
    code = "booth_busy"
