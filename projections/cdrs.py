"""CDR view: one row per call leg, from its `CallSession` events.

A row is inserted when the call is authorized or refused and updated as it
is answered, reported, ended, expired or rerated; `charged` is what the
hangup took and never changes, `cost` is what the call costs after every
rerating. `list_price` is the call's seconds at its recorded rate before any
discount, `discount` the tariff discount and free minutes taken off it
(list_price - discount is the cost; `charged` is less only when capped). Instants are ISO 8601 UTC strings, so text order is time order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ledger.charging import CallSession
from projections.base import Item, Projection, storable
from rating.rate import rate_call
from rating.tariffs import RateRow

COLUMNS = (
    "id", "call_id", "status", "reason", "account", "caller", "callee", "callee_e164", "category",
    "destination_prefix", "destination_name", "service", "booth", "bar", "switch", "plan", "plan_version",
    "rate_name", "price_per_minute", "rate", "hold", "max_seconds", "authorized_at", "answered_at",
    "ended_at", "expires_at", "billsec", "used_seconds", "used", "charged", "cost", "cause", "flags", "retail",
    "list_price", "discount",
)


def iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at is not None else None


def _flags(current: str, flag: str) -> str:
    present = [f for f in current.split(",") if f]
    return ",".join(present if flag in present else [*present, flag])


class CdrView(Projection):
    name = "cdrs"
    tables = ["cdrs"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}cdrs ("
        " id TEXT PRIMARY KEY, call_id TEXT NOT NULL UNIQUE, status TEXT NOT NULL, reason TEXT,"
        " account TEXT, caller TEXT NOT NULL, callee TEXT NOT NULL, callee_e164 TEXT, category TEXT,"
        " destination_prefix TEXT, destination_name TEXT, service TEXT NOT NULL, booth TEXT, bar TEXT,"
        " switch TEXT, plan TEXT, plan_version INTEGER, rate_name TEXT, price_per_minute BIGINT, rate TEXT,"
        " hold BIGINT NOT NULL, max_seconds INTEGER NOT NULL, authorized_at TEXT NOT NULL, answered_at TEXT,"
        " ended_at TEXT, expires_at TEXT, billsec INTEGER NOT NULL, used_seconds INTEGER NOT NULL,"
        " used BIGINT NOT NULL, charged BIGINT NOT NULL, cost BIGINT NOT NULL, cause TEXT, flags TEXT NOT NULL,"
        " retail BIGINT, list_price BIGINT NOT NULL DEFAULT 0, discount BIGINT NOT NULL DEFAULT 0)",
        "CREATE INDEX IF NOT EXISTS {p}cdrs_account ON {p}cdrs (account, authorized_at)",
        "CREATE INDEX IF NOT EXISTS {p}cdrs_bar ON {p}cdrs (bar, booth, authorized_at)",
        "CREATE INDEX IF NOT EXISTS {p}cdrs_caller ON {p}cdrs (caller, authorized_at)",
        "CREATE INDEX IF NOT EXISTS {p}cdrs_time ON {p}cdrs (authorized_at)",
        "CREATE INDEX IF NOT EXISTS {p}cdrs_open ON {p}cdrs (status, expires_at)",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        """Merge the batch's events into rows in memory, then write each touched row once."""
        relevant = [(e.originator_id.hex, e) for _, e in items if type(e) in _HANDLERS]
        if not relevant:
            return
        rows: dict[str, dict[str, Any]] = {}
        opened = {key for key, e in relevant if isinstance(e, (CallSession.Authorized, CallSession.Refused))}
        missing = sorted({key for key, _ in relevant} - opened)
        for start in range(0, len(missing), 500):
            part = missing[start : start + 500]
            cur.execute(self.q("SELECT " + ", ".join(COLUMNS) + " FROM {p}cdrs WHERE id IN ("
                               + ", ".join("?" * len(part)) + ")"), part)
            for found in cur.fetchall():
                rows[found[0]] = dict(zip(COLUMNS, found))
        for key, event in relevant:
            row = rows.get(key)
            if row is None and key not in opened:
                continue  # a session whose opening event this view never saw
            rows[key] = _HANDLERS[type(event)](row or {"id": key}, event)
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
        self.db.insert_many(
            cur, self.t("cdrs"), [tuple(storable(r.get(c)) for c in COLUMNS) for r in rows.values()],
            ", ".join(COLUMNS), "ON CONFLICT (id) DO UPDATE SET " + updates,
        )


# Handlers take the row (a dict of COLUMNS) and the event, and return the new row.


def _authorized(row: dict[str, Any], e: Any) -> dict[str, Any]:
    return {
        "id": row["id"], "call_id": e.call_id, "status": "authorized", "reason": None, "account": e.account,
        "caller": e.caller, "callee": e.callee, "callee_e164": e.callee_e164, "category": e.category,
        "destination_prefix": e.destination_prefix, "destination_name": e.destination_name,
        "service": e.service, "booth": e.booth, "bar": e.bar, "switch": e.switch, "plan": e.plan,
        "plan_version": e.plan_version, "rate_name": e.rate.get("name"),
        "price_per_minute": e.rate.get("price_per_minute"), "rate": json.dumps(e.rate, sort_keys=True),
        "hold": e.hold, "max_seconds": e.max_seconds, "authorized_at": iso(e.authorized_at), "answered_at": None,
        "ended_at": None, "expires_at": iso(e.expires_at), "billsec": 0, "used_seconds": 0, "used": 0,
        "charged": 0, "cost": 0, "cause": None, "flags": "", "list_price": 0, "discount": 0,
    }


def _refused(row: dict[str, Any], e: Any) -> dict[str, Any]:
    destination = e.answer.get("destination") or {}
    return {
        "id": row["id"], "call_id": e.call_id, "status": "refused", "reason": e.reason, "account": e.account,
        "caller": e.caller, "callee": e.callee, "callee_e164": destination.get("e164"),
        "category": destination.get("category"), "destination_prefix": destination.get("prefix"),
        "destination_name": destination.get("name"), "service": e.service, "booth": e.booth, "bar": None,
        "switch": e.switch, "plan": None, "plan_version": None, "rate_name": None, "price_per_minute": None,
        "rate": None, "hold": 0, "max_seconds": 0, "authorized_at": iso(e.refused_at), "answered_at": None,
        "ended_at": None, "expires_at": None, "billsec": 0, "used_seconds": 0, "used": 0, "charged": 0, "cost": 0,
        "cause": None, "flags": "", "list_price": 0, "discount": 0,
    }


def _expiry(row: dict[str, Any], e: Any) -> str | None:
    """A report moves the hold's expiry when it records one (events before version 2 do not)."""
    return iso(e.expires_at) if e.expires_at is not None else row["expires_at"]


def _answered(row: dict[str, Any], e: Any) -> dict[str, Any]:
    return {**row, "status": "answered", "answered_at": iso(e.answered_at), "expires_at": _expiry(row, e)}


def _interim(row: dict[str, Any], e: Any) -> dict[str, Any]:
    return {**row, "used_seconds": e.used_seconds, "used": e.used, "expires_at": _expiry(row, e)}


def _grant_extended(row: dict[str, Any], e: Any) -> dict[str, Any]:
    return {**row, "hold": e.hold, "max_seconds": e.max_seconds, "expires_at": _expiry(row, e)}


def _grant_repriced(row: dict[str, Any], e: Any) -> dict[str, Any]:
    return {**row, "hold": e.hold, "max_seconds": e.max_seconds}


def _cut(row: dict[str, Any], e: Any) -> dict[str, Any]:
    return {**row, "flags": _flags(row["flags"], "cut")}


def _lines(rate: str | None, seconds: int, at: datetime | str | None, cost: int | None = None) -> dict[str, int]:
    """List price and discount of `seconds` at the recorded `rate` answered `at` (0 and 0 unpriced).

    With the `cost` an event recorded, the discount is list price - cost, so it
    includes the free minutes the call used; without, the rate's discount alone.
    """
    if not rate or not seconds or at is None:
        return {"list_price": 0, "discount": 0}
    stored = json.loads(rate)
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    charge = rate_call(RateRow.from_dict(stored), seconds, when, stored.get("tz", "Asia/Shanghai"))
    discount = charge.discount if cost is None else charge.list_cost - cost
    return {"list_price": charge.list_cost, "discount": discount}


def _rated_at(row: dict[str, Any]) -> str | None:
    return row.get("answered_at") or row.get("authorized_at")


def _ended(row: dict[str, Any], e: Any) -> dict[str, Any]:
    return {**row, "status": "ended", "billsec": e.billsec, "ended_at": iso(e.ended_at), "cause": e.cause,
            "charged": e.charged, "cost": e.charged, "flags": e.flags,
            **_lines(row.get("rate"), e.billsec, e.answered_at, e.cost)}


def _expired(row: dict[str, Any], e: Any) -> dict[str, Any]:
    return {**row, "status": "expired", "billsec": e.used_seconds, "ended_at": iso(e.expired_at),
            "charged": e.charged, "cost": e.charged, "flags": e.flags, "cause": "expired",
            **_lines(row.get("rate"), e.used_seconds, _rated_at(row))}


def _late_end(row: dict[str, Any], e: Any) -> dict[str, Any]:
    flags = row["flags"]
    for flag in e.flags.split(","):
        flags = _flags(flags, flag)
    if e.cost is None:  # version 1: recorded for review, nothing moved
        return {**row, "flags": flags}
    return {**row, "flags": flags, "billsec": e.billsec, "ended_at": iso(e.ended_at),
            "charged": row["charged"] + e.charged, "cost": row["cost"] + e.charged,
            **_lines(row.get("rate"), e.billsec, _rated_at(row))}


def _rerated(row: dict[str, Any], e: Any) -> dict[str, Any]:
    rate = json.dumps(e.rate, sort_keys=True)
    return {**row, "cost": e.cost, "plan": e.plan, "plan_version": e.plan_version, "rate_name": e.rate.get("name"),
            "price_per_minute": e.rate.get("price_per_minute"), "rate": rate,
            "flags": _flags(row["flags"], "rerated"), **_lines(rate, e.billsec, _rated_at(row), e.cost)}


def _retail(row: dict[str, Any], e: Any) -> dict[str, Any]:
    return {**row, "retail": e.amount}


_HANDLERS = {
    CallSession.Authorized: _authorized,
    CallSession.Refused: _refused,
    CallSession.Answered: _answered,
    CallSession.InterimReported: _interim,
    CallSession.GrantExtended: _grant_extended,
    CallSession.GrantRepriced: _grant_repriced,
    CallSession.CallCut: _cut,
    CallSession.Ended: _ended,
    CallSession.Expired: _expired,
    CallSession.EndedAfterExpiry: _late_end,
    CallSession.Rerated: _rerated,
    CallSession.RetailPriced: _retail,
}
