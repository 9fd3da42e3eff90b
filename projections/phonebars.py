"""Phone-bar view: booths with their permissions, the bills of each checkout, the owner's alerts.

Booth and bar events are few (an owner's changes, a checkout, an alert), so
each is written as it comes; instants are ISO 8601 UTC strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ledger.booths import Booth
from ledger.phonebars import PhoneBar
from projections.base import Item, Projection, storable
from projections.cdrs import iso


class PhoneBarView(Projection):
    name = "phonebars"
    tables = ["booths", "booth_bills", "phonebars", "bar_alerts"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}booths ("
        " id TEXT PRIMARY KEY, bar TEXT NOT NULL, name TEXT NOT NULL, active INTEGER NOT NULL,"
        " permissions TEXT NOT NULL, bills INTEGER NOT NULL, last_checkout TEXT, UNIQUE (bar, name))",
        "CREATE TABLE IF NOT EXISTS {p}booth_bills ("
        " bar TEXT NOT NULL, booth TEXT NOT NULL, bill INTEGER NOT NULL, checked_out_at TEXT NOT NULL,"
        " calls INTEGER NOT NULL, retail_total BIGINT NOT NULL, cost_total BIGINT NOT NULL, lines TEXT NOT NULL,"
        " actor TEXT NOT NULL, PRIMARY KEY (bar, booth, bill))",
        "CREATE TABLE IF NOT EXISTS {p}phonebars ("
        " id TEXT PRIMARY KEY, bar TEXT NOT NULL UNIQUE, threshold BIGINT, phone TEXT)",
        "CREATE TABLE IF NOT EXISTS {p}bar_alerts ("
        " bar TEXT NOT NULL, alert INTEGER NOT NULL, phone TEXT NOT NULL, body TEXT NOT NULL,"
        " balance BIGINT NOT NULL, threshold BIGINT NOT NULL, alerted_at TEXT NOT NULL, sent_at TEXT,"
        " message_id TEXT, PRIMARY KEY (bar, alert))",
        "CREATE INDEX IF NOT EXISTS {p}bar_alerts_unsent ON {p}bar_alerts (sent_at)",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        for _, event in items:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, cur, event)

    def _booth(self, cur: Any, e: Any, **changes: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in changes)
        cur.execute(self.q(f"UPDATE {{p}}booths SET {sets} WHERE id = ?"), [*changes.values(), e.originator_id.hex])

    def _bar(self, cur: Any, e: Any) -> str | None:
        cur.execute(self.q("SELECT bar FROM {p}phonebars WHERE id = ?"), (e.originator_id.hex,))
        row = cur.fetchone()
        return row[0] if row else None


def _added(v: PhoneBarView, cur: Any, e: Booth.Added) -> None:
    cur.execute(v.q("INSERT INTO {p}booths VALUES (?, ?, ?, 1, ?, 0, NULL)"),
                (e.originator_id.hex, storable(e.bar), storable(e.name), json.dumps(e.permissions, sort_keys=True)))


def _restored(v: PhoneBarView, cur: Any, e: Booth.Restored) -> None:
    v._booth(cur, e, active=1, permissions=json.dumps(e.permissions, sort_keys=True))


def _permissions(v: PhoneBarView, cur: Any, e: Booth.PermissionsSet) -> None:
    v._booth(cur, e, permissions=json.dumps(e.permissions, sort_keys=True))


def _removed(v: PhoneBarView, cur: Any, e: Booth.Removed) -> None:
    v._booth(cur, e, active=0)


def _checked_out(v: PhoneBarView, cur: Any, e: Booth.CheckedOut) -> None:
    v._booth(cur, e, bills=e.bill, last_checkout=iso(e.checked_out_at))
    cur.execute(v.q("SELECT bar, name FROM {p}booths WHERE id = ?"), (e.originator_id.hex,))
    bar, name = cur.fetchone()
    cur.execute(v.q("INSERT INTO {p}booth_bills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (bar, name, e.bill, iso(e.checked_out_at), len(e.lines), e.retail_total, e.cost_total,
                 json.dumps(e.lines, sort_keys=True), storable(e.actor)))


def _registered(v: PhoneBarView, cur: Any, e: PhoneBar.Registered) -> None:
    cur.execute(v.q("INSERT INTO {p}phonebars VALUES (?, ?, NULL, NULL)"), (e.originator_id.hex, e.bar))


def _alert_set(v: PhoneBarView, cur: Any, e: PhoneBar.AlertSet) -> None:
    cur.execute(v.q("UPDATE {p}phonebars SET threshold = ?, phone = ? WHERE id = ?"),
                (e.threshold, storable(e.phone), e.originator_id.hex))


def _alerted(v: PhoneBarView, cur: Any, e: PhoneBar.LowDepositAlerted) -> None:
    cur.execute(v.q("INSERT INTO {p}bar_alerts VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)"),
                (v._bar(cur, e), e.alert, storable(e.phone), storable(e.body), e.balance, e.threshold,
                 iso(e.alerted_at)))


def _sent(v: PhoneBarView, cur: Any, e: PhoneBar.AlertSent) -> None:
    cur.execute(v.q("UPDATE {p}bar_alerts SET sent_at = ?, message_id = ? WHERE bar = ? AND alert = ?"),
                (iso(e.sent_at), storable(e.message_id), v._bar(cur, e), e.alert))


_HANDLERS: dict[type, Any] = {
    Booth.Added: _added,
    Booth.Restored: _restored,
    Booth.PermissionsSet: _permissions,
    Booth.Removed: _removed,
    Booth.CheckedOut: _checked_out,
    PhoneBar.Registered: _registered,
    PhoneBar.AlertSet: _alert_set,
    PhoneBar.LowDepositAlerted: _alerted,
    PhoneBar.AlertSent: _sent,
}
