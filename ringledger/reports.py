"""Reports as rows and as CSV, shared by the CLI and the GraphQL portal.

Money columns are int ten-thousandths in the rows and decimal strings
("12.3400") in CSV; days are the operator's local days (Settings.timezone).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from ledger.money import format_money

MONEY_COLUMNS = frozenset({
    "amount", "face", "outstanding", "balance", "held", "available", "cost", "retail", "margin",
    "paid", "discount", "list_price", "charged",
})


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            format_money(row[c]) if c in MONEY_COLUMNS and isinstance(row[c], int) else row[c] for c in columns
        )
    return out.getvalue()


def formatted(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with money as decimal strings, for JSON output."""
    return [
        {k: format_money(v) if k in MONEY_COLUMNS and isinstance(v, int) else v for k, v in row.items()}
        for row in rows
    ]


REVENUE_COLUMNS = ("day", "service", "category", "amount", "postings")
INVENTORY_COLUMNS = ("batch", "kind", "face", "count", "issued", "sold", "redeemed", "cancelled", "outstanding",
                     "paid", "discount")
CARD_SALES_COLUMNS = ("day", "batch", "cards", "face", "paid", "discount")
LOW_BALANCE_COLUMNS = ("number", "kind", "balance", "held", "available")
CALL_COLUMNS = ("day", "attempts", "answered", "asr", "acd", "minutes", "cost", "retail", "margin")
