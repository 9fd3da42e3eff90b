"""Reads of the CDR view: the calls the CLI and the portal select, and the holds due to expire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.errors import LedgerError
from projections.db import ViewDB

CDR_COLUMNS = ("call_id", "status", "reason", "account", "caller", "callee", "callee_e164", "category",
               "destination_name", "service", "booth", "bar", "plan", "plan_version", "authorized_at",
               "answered_at", "ended_at", "billsec", "list_price", "discount", "charged", "cost", "cause", "flags")


def select_calls(views: ViewDB, normalise: Callable[[str], str], *, account: str | None = None,
                 caller: str | None = None, bar: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, finished: bool = False,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """CDR rows matching every given filter, oldest first (time filters on the authorize instant).

    `normalise` turns a dialled caller into E.164 the way charging does (the CDRs hold either)."""
    where, params = [], []
    if account:
        where.append("account = ?")
        params.append(account)
    if caller:
        where.append("caller IN (?, ?)")
        params += [caller, _e164_or_raw(normalise, caller)]
    if bar:
        where.append("bar = ?")
        params.append(bar)
    if since:
        where.append("authorized_at >= ?")
        params.append(since.astimezone(UTC).isoformat())
    if until:
        where.append("authorized_at < ?")
        params.append(until.astimezone(UTC).isoformat())
    if finished:
        where.append("status IN ('ended', 'expired')")
    sql = "SELECT " + ", ".join(CDR_COLUMNS) + " FROM cdrs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY authorized_at, call_id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [dict(zip(CDR_COLUMNS, r)) for r in views.query(sql, params)]


def _e164_or_raw(normalise: Callable[[str], str], number: str) -> str:
    try:
        return str(normalise(number))
    except LedgerError:
        return number


def stale_calls(views: ViewDB, now: datetime) -> list[str]:
    """Open calls whose hold has passed its expiry instant."""
    rows = views.query(
        "SELECT call_id FROM cdrs WHERE status IN ('authorized', 'answered') AND expires_at <= ? ORDER BY expires_at",
        (now.astimezone(UTC).isoformat(),),
    )
    return [r[0] for r in rows]


def grants_ending(views: ViewDB, now: datetime, lead: int) -> list[str]:
    """Answered calls, not cut, whose grant (answer + max_seconds) ends within `lead` seconds of `now`."""
    rows = views.query("SELECT call_id, answered_at, max_seconds, flags FROM cdrs WHERE status = 'answered'")
    horizon = now + timedelta(seconds=lead)
    due = [(datetime.fromisoformat(answered) + timedelta(seconds=int(seconds)), call)
           for call, answered, seconds, flags in rows
           if answered and "cut" not in (flags or "").split(",")]
    return [call for ends, call in sorted(due) if ends <= horizon]
