"""Accounts view: one row per customer account, its bound numbers and open holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.accounts import ACTIVE, CLOSED, Account
from projections.base import Item, Projection

COLUMNS = ("id", "number", "kind", "status", "balance", "held", "plan", "batch", "opened_at", "updated_at")


class AccountsView(Projection):
    name = "accounts"
    tables = ["accounts", "phone_bindings", "holds"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}accounts ("
        " id TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, status TEXT NOT NULL,"
        " balance BIGINT NOT NULL, held BIGINT NOT NULL, plan TEXT, batch TEXT,"
        " opened_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS {p}accounts_low ON {p}accounts (kind, balance)",
        "CREATE TABLE IF NOT EXISTS {p}phone_bindings (phone TEXT PRIMARY KEY, account TEXT NOT NULL, bound_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS {p}phone_bindings_account ON {p}phone_bindings (account)",
        "CREATE TABLE IF NOT EXISTS {p}holds ("
        " account TEXT NOT NULL, hold TEXT NOT NULL, amount BIGINT NOT NULL, used BIGINT NOT NULL,"
        " reserved_at TEXT NOT NULL, PRIMARY KEY (account, hold))",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        relevant = [e for _, e in items if type(e) in _HANDLERS]
        if not relevant:
            return
        wanted = list({e.originator_id.hex for e in relevant if not isinstance(e, Account.Opened)})
        found = self.db.select_in(cur, f"SELECT {', '.join(COLUMNS)} FROM {self.t('accounts')} WHERE id", wanted)
        rows: dict[str, list[Any]] = {r[0]: list(r) for r in found}
        holds = _Holds(self, cur, [rows[e.originator_id.hex][1] for e in relevant
                                   if type(e) in _HOLD_CHANGES and e.originator_id.hex in rows])
        for event in relevant:
            key = event.originator_id.hex
            if isinstance(event, Account.Opened):
                opened = event.timestamp.isoformat()
                row = [key, event.number, event.kind, event.status, 0, 0, event.plan, event.batch, opened, opened]
                rows[key] = row
            else:
                row = rows.get(key)
                if row is None:
                    continue
            row[9] = event.timestamp.isoformat()
            _HANDLERS[type(event)](self, cur, row, event, holds)
        holds.write()
        self.db.insert_many(
            cur,
            self.t("accounts"),
            [tuple(r) for r in rows.values()],
            ", ".join(COLUMNS),
            "ON CONFLICT (id) DO UPDATE SET status = excluded.status, balance = excluded.balance,"
            " held = excluded.held, updated_at = excluded.updated_at",
        )

    # handlers mutate the row list in place: [id, number, kind, status, balance, held, plan, batch, opened, updated]
    def _opened(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        return None

    def _balance(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        row[4] += e.amount if isinstance(e, (Account.Credited, Account.TransferredIn)) else -e.amount

    def _reserved(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        row[5] += e.amount
        holds.reserve((row[1], e.hold), e.amount, e.timestamp.isoformat())

    def _extended(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        row[5] += e.amount
        holds.extend((row[1], e.hold), e.amount)

    def _usage(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        holds.use((row[1], e.hold), e.used)

    def _closed_hold(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        row[5] -= holds.close((row[1], e.hold))
        if isinstance(e, Account.HoldSettled):
            row[4] -= e.amount

    def _status(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        row[3] = e.status

    def _activated(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        row[3] = ACTIVE
        row[4] += e.face

    def _cancelled(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        row[3] = CLOSED
        row[4] -= e.amount

    def _bound(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        cur.execute(
            self.q("INSERT INTO {p}phone_bindings VALUES (?, ?, ?)"), (e.phone, row[1], e.timestamp.isoformat())
        )

    def _unbound(self, cur: Any, row: list[Any], e: Any, holds: _Holds) -> None:
        cur.execute(self.q("DELETE FROM {p}phone_bindings WHERE phone = ?"), (e.phone,))


_HANDLERS = {
    Account.Opened: AccountsView._opened,
    Account.Credited: AccountsView._balance,
    Account.Debited: AccountsView._balance,
    Account.TransferredOut: AccountsView._balance,
    Account.TransferredIn: AccountsView._balance,
    Account.FundsReserved: AccountsView._reserved,
    Account.HoldExtended: AccountsView._extended,
    Account.HoldUsageReported: AccountsView._usage,
    Account.HoldSettled: AccountsView._closed_hold,
    Account.HoldReleased: AccountsView._closed_hold,
    Account.StatusChanged: AccountsView._status,
    Account.Activated: AccountsView._activated,
    Account.Cancelled: AccountsView._cancelled,
    Account.NumberBound: AccountsView._bound,
    Account.NumberUnbound: AccountsView._unbound,
}

_HOLD_CHANGES = (Account.HoldExtended, Account.HoldUsageReported, Account.HoldSettled, Account.HoldReleased)


class _Holds:
    """Open holds touched by one page, kept in memory and written once.

    A hold reserved and closed within the same page never reaches the table.
    """

    def __init__(self, view: AccountsView, cur: Any, accounts: list[str]) -> None:
        self.view, self.cur = view, cur
        table = view.t("holds")
        self.state: dict[tuple[str, str], list[Any]] = {
            (r[0], r[1]): [r[2], r[3], r[4]]
            for r in view.db.select_in(cur, f"SELECT account, hold, amount, used, reserved_at FROM {table} WHERE account",
                                       sorted(set(accounts)))
        }
        self.stored = set(self.state)
        self.dirty: set[tuple[str, str]] = set()

    def reserve(self, key: tuple[str, str], amount: int, at: str) -> None:
        self.state[key] = [amount, 0, at]
        self.dirty.add(key)

    def extend(self, key: tuple[str, str], amount: int) -> None:
        if key in self.state:
            self.state[key][0] += amount
            self.dirty.add(key)

    def use(self, key: tuple[str, str], used: int) -> None:
        if key in self.state:
            self.state[key][1] = used
            self.dirty.add(key)

    def close(self, key: tuple[str, str]) -> int:
        """Forget the hold; returns the amount it held."""
        self.dirty.discard(key)
        entry = self.state.pop(key, None)
        return entry[0] if entry else 0

    def write(self) -> None:
        table = self.view.t("holds")
        gone = [k for k in self.stored if k not in self.state]
        if gone:
            self.cur.executemany(self.view.db.sql(f"DELETE FROM {table} WHERE account = ? AND hold = ?"), gone)
        self.view.db.insert_many(
            self.cur, table, [(*k, *self.state[k]) for k in sorted(self.dirty)],
            "account, hold, amount, used, reserved_at",
            "ON CONFLICT (account, hold) DO UPDATE SET amount = excluded.amount, used = excluded.used,"
            " reserved_at = excluded.reserved_at",
        )
