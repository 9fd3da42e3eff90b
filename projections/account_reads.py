"""Reads of the account, phone-binding and hold views (rows as dicts, money as int)."""

from __future__ import annotations

from typing import Any

from projections.db import ViewDB

ACCOUNT_COLUMNS = ("id", "number", "kind", "status", "balance", "held", "plan", "batch", "opened_at", "updated_at")
ACCOUNT_SELECT = "SELECT " + ", ".join(ACCOUNT_COLUMNS) + " FROM accounts"


def account_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(ACCOUNT_COLUMNS, row, strict=True))
    d["balance"], d["held"] = int(d["balance"]), int(d["held"])
    d["available"] = d["balance"] - d["held"]
    return d


def account_by(db: ViewDB, column: str, value: str) -> dict[str, Any] | None:
    assert column in ("number", "id")
    rows = db.query(f"{ACCOUNT_SELECT} WHERE {column} = ?", (value,))
    return account_dict(rows[0]) if rows else None


def account_for_phone(db: ViewDB, phone: str) -> dict[str, Any] | None:
    rows = db.query("SELECT account FROM phone_bindings WHERE phone = ?", (phone,))
    return account_by(db, "number", rows[0][0]) if rows else None


def holds(db: ViewDB, number: str | None) -> list[dict[str, Any]]:
    sql = "SELECT account, hold, amount, used, reserved_at FROM holds"
    params: tuple[Any, ...] = ()
    if number is not None:
        sql += " WHERE account = ?"
        params = (number,)
    rows = db.query(sql + " ORDER BY account, reserved_at, hold", params)
    return [
        {"account": a, "hold": h, "amount": int(m), "used": int(u), "reserved_at": r} for a, h, m, u, r in rows
    ]
