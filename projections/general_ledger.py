"""General ledger: every posting with the running balance, and every account's balance.

Customer accounts are keyed by their aggregate id (hex), house accounts by
name (`house:…`). Invariant checked on every event: its postings sum to
zero, so the trial balance (sum of all balances) is zero after every event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.base import Item, Projection, storable


class UnbalancedEvent(Exception):
    """An event whose postings do not sum to zero: a bug in the domain."""


class GeneralLedger(Projection):
    name = "general_ledger"
    tables = ["gl_balances", "gl_postings"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}gl_balances (account TEXT PRIMARY KEY, balance BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {p}gl_postings ("
        " position BIGINT NOT NULL, seq INTEGER NOT NULL, account TEXT NOT NULL,"
        " amount BIGINT NOT NULL, balance_after BIGINT NOT NULL, event TEXT NOT NULL,"
        " at TEXT NOT NULL, memo TEXT NOT NULL, PRIMARY KEY (position, seq))",
        "CREATE INDEX IF NOT EXISTS {p}gl_postings_account ON {p}gl_postings (account, position)",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        moves: list[tuple[int, Any, list[tuple[str, int]]]] = []
        for position, event in items:
            postings = getattr(event, "postings", None)
            if postings is None:
                continue
            lines = postings()
            if not lines:
                continue
            if sum(amount for _, amount in lines) != 0:
                raise UnbalancedEvent(f"event at position {position} does not balance: {lines}")
            moves.append((position, event, lines))
        if not moves:
            return
        touched = list({account for _, _, lines in moves for account, _ in lines})
        balances = dict(self.db.select_in(cur, f"SELECT account, balance FROM {self.t('gl_balances')} WHERE account", touched))
        rows: list[tuple[Any, ...]] = []
        for position, event, lines in moves:
            name = type(event).__qualname__
            at = event.timestamp.isoformat()
            memo = storable(getattr(event, "memo", "") or getattr(event, "reason", "") or "")
            for seq, (account, amount) in enumerate(lines):
                balance = balances.get(account, 0) + amount
                balances[account] = balance
                rows.append((position, seq, account, amount, balance, name, at, memo))
        self.db.insert_many(cur, self.t("gl_postings"), rows)
        self.db.insert_many(
            cur,
            self.t("gl_balances"),
            [(a, balances[a]) for a in touched],
            "account, balance",
            "ON CONFLICT (account) DO UPDATE SET balance = excluded.balance",
        )
