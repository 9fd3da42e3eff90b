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
            _HANDLERS[type(event)](self, cur, row, event)
        self.db.insert_many(
            cur,
            self.t("accounts"),
            [tuple(r) for r in rows.values()],
            ", ".join(COLUMNS),
            "ON CONFLICT (id) DO UPDATE SET status = excluded.status, balance = excluded.balance,"
            " held = excluded.held, updated_at = excluded.updated_at",
        )

    # handlers mutate the row list in place: [id, number, kind, status, balance, held, plan, batch, opened, updated]
    def _opened(self, cur: Any, row: list[Any], e: Any) -> None:
        return None

    def _balance(self, cur: Any, row: list[Any], e: Any) -> None:
        row[4] += e.amount if isinstance(e, (Account.Credited, Account.TransferredIn)) else -e.amount

    def _reserved(self, cur: Any, row: list[Any], e: Any) -> None:
        row[5] += e.amount
        cur.execute(
            self.q("INSERT INTO {p}holds VALUES (?, ?, ?, 0, ?)"),
            (row[1], e.hold, e.amount, e.timestamp.isoformat()),
        )

    def _usage(self, cur: Any, row: list[Any], e: Any) -> None:
        cur.execute(self.q("UPDATE {p}holds SET used = ? WHERE account = ? AND hold = ?"), (e.used, row[1], e.hold))

    def _closed_hold(self, cur: Any, row: list[Any], e: Any) -> None:
        cur.execute(self.q("SELECT amount FROM {p}holds WHERE account = ? AND hold = ?"), (row[1], e.hold))
        found = cur.fetchone()
        row[5] -= found[0] if found else 0
        if isinstance(e, Account.HoldSettled):
            row[4] -= e.amount
        cur.execute(self.q("DELETE FROM {p}holds WHERE account = ? AND hold = ?"), (row[1], e.hold))

    def _status(self, cur: Any, row: list[Any], e: Any) -> None:
        row[3] = e.status

    def _activated(self, cur: Any, row: list[Any], e: Any) -> None:
        row[3] = ACTIVE
        row[4] += e.face

    def _cancelled(self, cur: Any, row: list[Any], e: Any) -> None:
        row[3] = CLOSED
        row[4] -= e.amount

    def _bound(self, cur: Any, row: list[Any], e: Any) -> None:
        cur.execute(
            self.q("INSERT INTO {p}phone_bindings VALUES (?, ?, ?)"), (e.phone, row[1], e.timestamp.isoformat())
        )

    def _unbound(self, cur: Any, row: list[Any], e: Any) -> None:
        cur.execute(self.q("DELETE FROM {p}phone_bindings WHERE phone = ?"), (e.phone,))


_HANDLERS = {
    Account.Opened: AccountsView._opened,
    Account.Credited: AccountsView._balance,
    Account.Debited: AccountsView._balance,
    Account.TransferredOut: AccountsView._balance,
    Account.TransferredIn: AccountsView._balance,
    Account.FundsReserved: AccountsView._reserved,
    Account.HoldUsageReported: AccountsView._usage,
    Account.HoldSettled: AccountsView._closed_hold,
    Account.HoldReleased: AccountsView._closed_hold,
    Account.StatusChanged: AccountsView._status,
    Account.Activated: AccountsView._activated,
    Account.Cancelled: AccountsView._cancelled,
    Account.NumberBound: AccountsView._bound,
    Account.NumberUnbound: AccountsView._unbound,
}
