"""Tariffs view: one row per published version of every tariff plan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from ledger.tariff_book import TariffBook
from projections.base import Item, Projection


class TariffsView(Projection):
    name = "tariffs"
    tables = ["tariffs"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}tariffs ("
        " name TEXT NOT NULL, version INTEGER NOT NULL, effective_from TEXT NOT NULL, tz TEXT NOT NULL,"
        " rows INTEGER NOT NULL, published_at TEXT NOT NULL, actor TEXT NOT NULL, PRIMARY KEY (name, version))",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        rows = [
            (e.plan["name"], e.version, e.effective_from.astimezone(UTC).isoformat(), e.plan.get("tz", ""),
             len(e.plan["rows"]), e.timestamp.isoformat(), e.actor)
            for _, e in items
            if isinstance(e, TariffBook.TariffPlanPublished)
        ]
        if rows:
            cur.executemany(self.q("INSERT INTO {p}tariffs VALUES (?, ?, ?, ?, ?, ?, ?)"), rows)
