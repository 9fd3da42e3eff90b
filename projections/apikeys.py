"""API keys view: who holds which role, since when, and whether revoked (never the token)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.apikeys import ApiKey
from projections.base import Item, Projection


class ApiKeysView(Projection):
    name = "api_keys"
    tables = ["api_keys"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}api_keys (key_id TEXT PRIMARY KEY, role TEXT NOT NULL, bar TEXT,"
        " label TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,"
        " revoked_at TEXT, revoked_by TEXT)"
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        for _, e in items:
            if isinstance(e, ApiKey.Created):
                cur.execute(
                    self.q("INSERT INTO {p}api_keys VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)"),
                    (e.key_id, e.role, e.bar, e.label, e.timestamp.isoformat(), e.actor),
                )
            elif isinstance(e, ApiKey.Revoked):
                cur.execute(
                    self.q("UPDATE {p}api_keys SET revoked_at = ?, revoked_by = ? WHERE key_id = ?"),
                    (e.timestamp.isoformat(), e.actor, e.key_id),
                )
