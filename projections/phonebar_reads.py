"""Reads for the phone-bar service: a bar's booths, its calls in progress, a booth's unbilled calls,
its bills, and the owner's alerts waiting for the SMS gateway."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from projections.db import ViewDB

OPEN_COLUMNS = ("call_id", "booth", "callee", "callee_e164", "category", "destination_name", "status",
                "authorized_at", "answered_at", "rate")
BILL_COLUMNS = ("call_id", "callee", "callee_e164", "category", "destination_name", "authorized_at", "answered_at",
                "ended_at", "billsec", "cost", "retail")


def booths(db: ViewDB, bar: str) -> list[dict[str, Any]]:
    """The bar's booths in use, by name."""
    rows = db.query("SELECT name, permissions, bills, last_checkout FROM booths WHERE bar = ? AND active = 1"
                    " ORDER BY name", (bar,))
    return [{"name": n, **json.loads(p), "bills": b, "last_checkout": lc} for n, p, b, lc in rows]


def open_calls(db: ViewDB, bar: str) -> list[dict[str, Any]]:
    """The bar's calls authorized and not yet ended or expired, oldest first."""
    rows = db.query("SELECT " + ", ".join(OPEN_COLUMNS) + " FROM cdrs WHERE bar = ?"
                    " AND status IN ('authorized', 'answered') ORDER BY authorized_at, call_id", (bar,))
    return [dict(zip(OPEN_COLUMNS, r)) | {"rate": json.loads(r[-1]) if r[-1] else {}} for r in rows]


def unbilled_calls(db: ViewDB, bar: str, booth: str, since: datetime | None) -> list[dict[str, Any]]:
    """A booth's finished calls authorized at or after `since` (all without), oldest first."""
    sql = ("SELECT " + ", ".join(BILL_COLUMNS) + " FROM cdrs WHERE bar = ? AND booth = ?"
           " AND status IN ('ended', 'expired')")
    params: list[Any] = [bar, booth]
    if since is not None:
        sql += " AND authorized_at >= ?"
        params.append(since.astimezone(UTC).isoformat())
    rows = db.query(sql + " ORDER BY authorized_at, call_id", params)
    return [dict(zip(BILL_COLUMNS, r)) for r in rows]


def bill(db: ViewDB, bar: str, booth: str, number: int) -> dict[str, Any] | None:
    rows = db.query("SELECT bill, checked_out_at, retail_total, cost_total, lines, actor FROM booth_bills"
                    " WHERE bar = ? AND booth = ? AND bill = ?", (bar, booth, number))
    if not rows:
        return None
    n, at, retail, cost, lines, actor = rows[0]
    return {"bar": bar, "booth": booth, "bill": n, "checked_out_at": at, "retail_total": int(retail),
            "cost_total": int(cost), "lines": json.loads(lines), "actor": actor}


def bills(db: ViewDB, bar: str, booth: str | None = None) -> list[dict[str, Any]]:
    """A bar's bills (of one booth), newest first, without their lines."""
    sql = "SELECT booth, bill, checked_out_at, calls, retail_total FROM booth_bills WHERE bar = ?"
    params: list[Any] = [bar]
    if booth is not None:
        sql += " AND booth = ?"
        params.append(booth)
    rows = db.query(sql + " ORDER BY checked_out_at DESC, booth, bill DESC", params)
    return [{"booth": b, "bill": n, "checked_out_at": at, "calls": c, "retail_total": int(r)}
            for b, n, at, c, r in rows]


def alert_setting(db: ViewDB, bar: str) -> dict[str, Any]:
    rows = db.query("SELECT threshold, phone FROM phonebars WHERE bar = ?", (bar,))
    threshold, phone = rows[0] if rows else (None, None)
    return {"bar": bar, "threshold": int(threshold) if threshold is not None else None, "phone": phone}


def alerts(db: ViewDB, bar: str | None = None, unsent: bool = False) -> list[dict[str, Any]]:
    where, params = [], []
    if bar is not None:
        where.append("bar = ?")
        params.append(bar)
    if unsent:
        where.append("sent_at IS NULL")
    sql = "SELECT bar, alert, phone, body, balance, threshold, alerted_at, sent_at, message_id FROM bar_alerts"
    rows = db.query(sql + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY alerted_at, bar, alert",
                    params)
    keys = ("bar", "alert", "phone", "body", "balance", "threshold", "alerted_at", "sent_at", "message_id")
    return [dict(zip(keys, r)) for r in rows]
