"""Subscriptions view: each subscription's state and next due instant, and every period's outcome.

`subscriptions` has one row per subscription; `due_at` is the UTC instant
its next fee is due, NULL while nothing will be billed (suspended,
cancelled, ended). The scheduler reads what is due from here; the
aggregate checks each charge again, so a row read late never charges twice.
`fee_history` has one row per period and outcome (`charged`, `unpaid`,
`paid` when arrears are paid on resumption), so a period charged twice
would show as a second row and cannot be stored under the same key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.fee_periods import next_period, period_start
from ledger.subscriptions import ACTIVE, SUSPENDED, Subscription
from projections.base import Item, Projection
from projections.cdrs import iso
from projections.db import equal_filters


class SubscriptionsView(Projection):
    name = "subscriptions"
    tables = ["subscriptions", "fee_history"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}subscriptions (id TEXT PRIMARY KEY, account TEXT NOT NULL,"
        " service TEXT NOT NULL, fee BIGINT NOT NULL, period TEXT NOT NULL, anchor_day INTEGER NOT NULL,"
        " term INTEGER NOT NULL, tz TEXT NOT NULL, status TEXT NOT NULL, next_period TEXT NOT NULL,"
        " due_at TEXT, paid_periods INTEGER NOT NULL, arrears BIGINT NOT NULL, unpaid TEXT NOT NULL,"
        " subscribed_at TEXT NOT NULL, subscribed_by TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS {p}subscriptions_due ON {p}subscriptions (due_at)",
        "CREATE INDEX IF NOT EXISTS {p}subscriptions_account ON {p}subscriptions (account, service)",
        "CREATE TABLE IF NOT EXISTS {p}fee_history (id TEXT NOT NULL, period TEXT NOT NULL, outcome TEXT NOT NULL,"
        " account TEXT NOT NULL, service TEXT NOT NULL, amount BIGINT NOT NULL, at TEXT NOT NULL,"
        " position BIGINT NOT NULL, PRIMARY KEY (id, period, outcome))",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        for position, e in items:
            if not isinstance(e, Subscription.Event):
                continue
            key = e.originator_id.hex
            if isinstance(e, Subscription.Subscribed):
                due = iso(period_start(e.period, e.first_period, e.anchor_day, e.tz))
                cur.execute(self.q("INSERT INTO {p}subscriptions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                            (key, e.account, e.service, e.fee, e.period, e.anchor_day, e.term, e.tz, ACTIVE,
                             e.first_period, due, 0, 0, "", iso(e.timestamp), e.actor))
                continue
            cur.execute(self.q("SELECT account, service, period, anchor_day, tz, unpaid FROM {p}subscriptions"
                               " WHERE id = ?"), (key,))
            account, service, kind, anchor, tz, unpaid = cur.fetchone()

            def history(period: str, outcome: str, amount: int, at: Any) -> None:
                cur.execute(self.q("INSERT INTO {p}fee_history VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                            (key, period, outcome, account, service, amount, iso(at), position))

            if isinstance(e, Subscription.FeeCharged):
                history(e.period, "charged", e.amount, e.at)
                nxt = next_period(kind, e.period)
                cur.execute(self.q("UPDATE {p}subscriptions SET next_period = ?, due_at = ?,"
                                   " paid_periods = paid_periods + 1 WHERE id = ?"),
                            (nxt, iso(period_start(kind, nxt, anchor, tz)), key))
            elif isinstance(e, Subscription.FeeUnpaid):
                history(e.period, "unpaid", e.amount, e.at)
                cur.execute(self.q("UPDATE {p}subscriptions SET status = ?, next_period = ?, due_at = NULL,"
                                   " arrears = arrears + ?, unpaid = ? WHERE id = ?"),
                            (SUSPENDED, next_period(kind, e.period), e.amount,
                             ",".join([p for p in unpaid.split(",") if p] + [e.period]), key))
            elif isinstance(e, Subscription.Resumed):
                for period in e.periods:
                    cur.execute(self.q("SELECT amount FROM {p}fee_history WHERE id = ? AND period = ?"
                                       " AND outcome = 'unpaid'"), (key, period))
                    history(period, "paid", int(cur.fetchone()[0]), e.at)
                cur.execute(self.q("UPDATE {p}subscriptions SET status = ?, next_period = ?, due_at = ?, arrears = 0,"
                                   " unpaid = '', paid_periods = paid_periods + ? WHERE id = ?"),
                            (ACTIVE, e.next, iso(period_start(kind, e.next, anchor, tz)), len(e.periods), key))
            elif isinstance(e, (Subscription.Cancelled, Subscription.Ended)):
                status = "cancelled" if isinstance(e, Subscription.Cancelled) else "ended"
                cur.execute(self.q("UPDATE {p}subscriptions SET status = ?, due_at = NULL WHERE id = ?"), (status, key))


SUBSCRIPTION_COLUMNS = ("account", "service", "fee", "period", "anchor_day", "term", "status", "next_period",
                        "due_at", "paid_periods", "arrears", "unpaid", "subscribed_at", "subscribed_by")


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    found = dict(zip(SUBSCRIPTION_COLUMNS, r))
    for money in ("fee", "arrears"):
        found[money] = int(found[money])
    found["unpaid_periods"] = [p for p in found.pop("unpaid").split(",") if p]
    return found


def due(db: Any, now: Any) -> list[tuple[str, str]]:
    """(account, service) of every subscription whose fee is due at `now`, oldest due first."""
    rows = db.query("SELECT account, service FROM subscriptions WHERE due_at IS NOT NULL AND due_at <= ?"
                    " ORDER BY due_at, account, service", (iso(now),))
    return [(r[0], r[1]) for r in rows]


def payable_arrears(db: Any) -> list[tuple[str, str]]:
    """(account, service) of every suspended subscription whose active account has what its arrears need now
    (as the accounts view shows it; the charge checks the account itself)."""
    rows = db.query("SELECT s.account, s.service FROM subscriptions s JOIN accounts a ON a.number = s.account"
                    " WHERE s.status = ? AND a.status = 'active' AND a.balance - a.held >= s.arrears"
                    " ORDER BY s.account, s.service", (SUSPENDED,))
    return [(r[0], r[1]) for r in rows]


def subscriptions(db: Any, *, account: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    where, params = equal_filters((("account", account), ("status", status)))
    sql = "SELECT " + ", ".join(SUBSCRIPTION_COLUMNS) + " FROM subscriptions"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [_row(r) for r in db.query(sql + " ORDER BY account, service", params)]


def history(db: Any, account: str, service: str | None = None) -> list[dict[str, Any]]:
    """Every period's outcome for an account's subscriptions, in the order they were recorded."""
    sql = "SELECT service, period, outcome, amount, at FROM fee_history WHERE account = ?"
    params: list[Any] = [account]
    if service is not None:
        sql += " AND service = ?"
        params.append(service)
    rows = db.query(sql + " ORDER BY service, position", params)
    return [{"service": r[0], "period": r[1], "outcome": r[2], "amount": int(r[3]), "at": r[4]} for r in rows]
