"""Reads of the conference view for the portal: one conference, a page of them, a conference's legs."""

from __future__ import annotations

from typing import Any

from projections.db import ViewDB, equal_filters

CONFERENCE_COLUMNS = ("id", "conference_id", "mode", "account", "initiator", "participants", "start_at", "retries",
                      "retry_interval", "status", "booked_at", "booked_by", "fired_at", "ended_at", "end_cause")
LEG_COLUMNS = ("leg", "number", "attempt", "status", "placed_at", "joined_at", "ended_at", "cause", "retry_at")


def _conference(row: tuple[Any, ...]) -> dict[str, Any]:
    found = dict(zip(CONFERENCE_COLUMNS, row))
    found["participants"] = [p for p in found["participants"].split(",") if p]
    return found


def conference(db: ViewDB, conference_id: str) -> dict[str, Any] | None:
    rows = db.query("SELECT " + ", ".join(CONFERENCE_COLUMNS) + " FROM conferences WHERE conference_id = ?",
                    (conference_id,))
    return _conference(rows[0]) if rows else None


def conferences(db: ViewDB, *, account: str | None, status: str | None, after: tuple[str, str] | None,
                limit: int) -> list[dict[str, Any]]:
    """Conferences by start time (then id), filtered; `after` is the last (start_at, conference id) seen."""
    where, params = equal_filters((("account", account), ("status", status)))
    if after is not None:
        start_at, cid = after
        where.append("(start_at > ? OR (start_at = ? AND conference_id > ?))")
        params += [start_at, start_at, cid]
    sql = "SELECT " + ", ".join(CONFERENCE_COLUMNS) + " FROM conferences"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = db.query(sql + " ORDER BY start_at, conference_id LIMIT ?", [*params, limit])
    return [_conference(r) for r in rows]


def legs(db: ViewDB, conference_id: str) -> list[dict[str, Any]]:
    """Every leg placed, in order, with what each cost (from the CDR under its call id; 0 if never charged)."""
    rows = db.query(
        "SELECT " + ", ".join("l." + c for c in LEG_COLUMNS) + ", COALESCE(c.charged, 0), c.category"
        " FROM conference_legs l LEFT JOIN cdrs c ON c.call_id = l.leg WHERE l.conference_id = ?"
        " ORDER BY l.placed_at, LENGTH(l.leg), l.leg", (conference_id,))
    return [{**dict(zip(LEG_COLUMNS, r[:-2])), "charged": int(r[-2]), "category": r[-1]} for r in rows]
