"""Reads of the forwarding view: a business's calls (the per-agent call log), its agents' statistics
and its bill. Every read is limited to one business's rows."""

from __future__ import annotations

from typing import Any

from projections.db import ViewDB

CALL_COLUMNS = ("call_id", "caller", "agent", "day", "offered_at", "outcome", "reason", "answered_at",
                "ended_at", "waited", "billsec", "charged")


def _days(sql: str, params: list[Any], day_from: str | None, day_to: str | None) -> str:
    if day_from is not None:
        sql += " AND day >= ?"
        params.append(day_from)
    if day_to is not None:
        sql += " AND day <= ?"
        params.append(day_to)
    return sql


def calls(db: ViewDB, business: str, *, agent: str | None = None, day: str | None = None,
          limit: int = 500) -> list[dict[str, Any]]:
    """The business's calls (of one agent, of one day), newest first."""
    sql = "SELECT " + ", ".join(CALL_COLUMNS) + " FROM forwarded_calls WHERE business = ?"
    params: list[Any] = [business]
    if agent is not None:
        sql += " AND agent = ?"
        params.append(agent)
    sql = _days(sql, params, day, day)
    rows = db.query(sql + " ORDER BY offered_at DESC, call_id DESC LIMIT ?", [*params, limit])
    return [{**dict(zip(CALL_COLUMNS, r)), "business": business} for r in rows]


def statistics(db: ViewDB, business: str, agents: list[str], day_from: str | None,
               day_to: str | None) -> list[dict[str, Any]]:
    """Per agent (every agent of the profile, in its order, then any former one): calls offered,
    answered, abandoned (the caller hung up before an answer), expired, still open, the wait before
    abandoning (total and longest, seconds) and the talk time."""
    params: list[Any] = [business]
    sql = _days("SELECT agent, outcome, COUNT(*), COALESCE(SUM(waited), 0), COALESCE(MAX(waited), 0),"
                " COALESCE(SUM(billsec), 0) FROM forwarded_calls WHERE business = ? AND agent IS NOT NULL",
                params, day_from, day_to)
    rows = db.query(sql + " GROUP BY agent, outcome", params)
    stats: dict[str, dict[str, Any]] = {a: _empty(a) for a in agents}
    for agent, outcome, count, waited, longest, billsec in rows:
        s = stats.setdefault(agent, _empty(agent))
        s["offered"] += int(count)
        if outcome in ("answered", "abandoned", "expired", "open"):
            s[outcome] += int(count)
        if outcome == "abandoned":
            s["abandoned_wait"] += int(waited)
            s["longest_abandoned_wait"] = max(s["longest_abandoned_wait"], int(longest))
        s["talk_seconds"] += int(billsec)
    for s in stats.values():
        s["average_abandoned_wait"] = s["abandoned_wait"] // s["abandoned"] if s["abandoned"] else 0
    return list(stats.values())


def _empty(agent: str) -> dict[str, Any]:
    return {"agent": agent, "offered": 0, "answered": 0, "abandoned": 0, "expired": 0, "open": 0,
            "abandoned_wait": 0, "longest_abandoned_wait": 0, "talk_seconds": 0}


def bill(db: ViewDB, business: str, day_from: str | None, day_to: str | None) -> dict[str, Any]:
    """Calls offered, refused and answered, seconds billed and money charged for the business's calls."""
    params: list[Any] = [business]
    sql = _days("SELECT COUNT(*), COALESCE(SUM(CASE WHEN outcome = 'refused' THEN 1 ELSE 0 END), 0),"
                " COALESCE(SUM(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END), 0),"
                " COALESCE(SUM(billsec), 0), COALESCE(SUM(charged), 0)"
                " FROM forwarded_calls WHERE business = ?", params, day_from, day_to)
    offered, refused, answered, billsec, charged = db.query(sql, params)[0]
    return {"calls": int(offered), "refused": int(refused), "answered": int(answered), "billsec": int(billsec),
            "charged": int(charged)}
