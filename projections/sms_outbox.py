"""Outbound texts view: each text's state, tries, gateway id and when it is next tried.

One row per text (never its body: a reply may name a card). `retry_at` is
the UTC instant a failed text is due again, NULL otherwise; the scheduler
reads what is due from here and the aggregate checks each try again, so a
row read late never sends twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ledger.outbound_sms import FAILED, FINAL, GIVEN_UP, SENDING, SENT, OutboundSms
from projections.base import Item, Projection, storable
from projections.cdrs import iso


class SmsOutboxView(Projection):
    name = "sms_outbox"
    tables = ["sms_outbox"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}sms_outbox (id TEXT PRIMARY KEY, message TEXT NOT NULL, recipient TEXT NOT NULL,"
        " chars INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, gateway TEXT, gateway_id TEXT,"
        " retry_at TEXT, last_error TEXT, report TEXT, queued_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS {p}sms_outbox_retry ON {p}sms_outbox (retry_at)",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        for _, e in items:
            if not isinstance(e, OutboundSms.Event):
                continue
            if isinstance(e, OutboundSms.Queued):
                cur.execute(self.q("INSERT INTO {p}sms_outbox VALUES (?, ?, ?, ?, 'queued', 0, NULL, NULL, NULL, NULL,"
                                   " NULL, ?, ?)"),
                            (e.originator_id.hex, e.message, storable(e.recipient), len(e.body), iso(e.at), iso(e.at)))
                continue
            key = e.originator_id.hex
            if isinstance(e, OutboundSms.Attempted):
                self._set(cur, key, "state = ?, attempts = ?, retry_at = NULL", (SENDING, e.attempt), e.at)
            elif isinstance(e, OutboundSms.Sent):
                self._set(cur, key, "state = CASE WHEN state = ? THEN ? ELSE state END, gateway = ?, gateway_id = ?",
                          (SENDING, SENT, e.gateway, storable(e.gateway_id)), e.at)
            elif isinstance(e, OutboundSms.Failed):
                state = FAILED if e.retry_at is not None else GIVEN_UP
                self._set(cur, key, "state = ?, retry_at = ?, last_error = ?",
                          (state, iso(e.retry_at), storable(e.error)), e.at)
            elif isinstance(e, OutboundSms.Reported):
                if e.status in FINAL:
                    self._set(cur, key, "state = ?, report = ?", (e.status, e.status), e.at)
                else:
                    self._set(cur, key, "state = CASE WHEN state = ? THEN ? ELSE state END, report = ?",
                              (SENDING, SENT, e.status), e.at)

    def _set(self, cur: Any, key: str, assignments: str, values: tuple[Any, ...], at: datetime) -> None:
        cur.execute(self.q(f"UPDATE {{p}}sms_outbox SET {assignments}, updated_at = ? WHERE id = ?"),
                    (*values, iso(at), key))


COLUMNS = ("message", "recipient", "chars", "state", "attempts", "gateway", "gateway_id", "retry_at",
           "last_error", "report", "queued_at", "updated_at")


def due_retries(db: Any, now: datetime, limit: int = 100) -> list[str]:
    """Message ids of the failed texts whose retry is due at `now`, oldest due first."""
    rows = db.query("SELECT message FROM sms_outbox WHERE state = ? AND retry_at IS NOT NULL AND retry_at <= ?"
                    " ORDER BY retry_at, message LIMIT ?", (FAILED, iso(now), limit))
    return [r[0] for r in rows]


def outbox(db: Any, recipient: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    sql = "SELECT " + ", ".join(COLUMNS) + " FROM sms_outbox"
    params: list[Any] = []
    if recipient is not None:
        sql += " WHERE recipient = ?"
        params.append(recipient)
    rows = db.query(sql + " ORDER BY queued_at, message LIMIT ?", (*params, limit))
    return [dict(zip(COLUMNS, r)) for r in rows]


def counts(db: Any) -> dict[str, int]:
    """How many texts are in each state."""
    return {r[0]: int(r[1]) for r in db.query("SELECT state, COUNT(*) FROM sms_outbox GROUP BY state")}
