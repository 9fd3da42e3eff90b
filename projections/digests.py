"""A tamper-evident digest chain over the event log, in its global order.

Link n is SHA-256 over link n-1 (32 zero bytes before the first event) and
the event as stored: notification id, originator id, version, topic and
state bytes, each length-framed. The chain is a projection table (one digest
per position), computed from the stored bytes, not from decoded events, so
changing any stored byte of an event changes every later link. An auditor who
noted the digest at position N can later prove that nothing up to N changed.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from ledger.application import Ledger
from projections.base import Item, Projection
from projections.db import ViewDB

GENESIS = bytes(32)
Stored = tuple[int, Any, int, str, bytes]  # (position, originator_id, version, topic, state)


def events_table(db: ViewDB) -> str:
    """The library's events table: `stored_events` on SQLite, `<app name>_events` on PostgreSQL."""
    return f"{Ledger.name.lower()}_events" if db.is_postgres else "stored_events"


def link(previous: bytes, position: int, originator_id: Any, version: int, topic: str, state: bytes) -> bytes:
    oid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
    t = topic.encode()
    h = hashlib.sha256(previous)
    h.update(struct.pack(">QQ", position, version))
    h.update(oid.bytes)
    h.update(struct.pack(">I", len(t)))
    h.update(t)
    h.update(struct.pack(">I", len(state)))
    h.update(state)
    return h.digest()


def select_stored(cur: Any, db: ViewDB, after: int, until: int | None, limit: int) -> list[Stored]:
    """Stored events with position in (after, until], in order, at most `limit`."""
    pos = "notification_id" if db.is_postgres else "rowid"
    sql = f"SELECT {pos}, originator_id, originator_version, topic, state FROM {events_table(db)} WHERE {pos} > ?"
    params: list[Any] = [after]
    if until is not None:
        sql += f" AND {pos} <= ?"
        params.append(until)
    sql += f" ORDER BY {pos} LIMIT ?"
    params.append(limit)
    cur.execute(db.sql(sql), params)
    return [(int(r[0]), r[1], int(r[2]), r[3], _bytes(r[4])) for r in cur.fetchall()]


def _bytes(state: Any) -> bytes:
    return state.encode() if isinstance(state, str) else bytes(state)


def iter_stored(db: ViewDB, after: int = 0, until: int | None = None, page: int = 5000) -> Iterator[list[Stored]]:
    """Pages of stored events, read on a connection of their own."""
    conn = db.connect()
    try:
        cur = conn.cursor()
        while True:
            rows = select_stored(cur, db, after, until, page)
            if not rows:
                return
            yield rows
            after = rows[-1][0]
    finally:
        conn.close()


class DigestChain(Projection):
    name = "digests"
    tables = ["audit_digests"]
    ddl = ["CREATE TABLE IF NOT EXISTS {p}audit_digests (position BIGINT PRIMARY KEY, digest TEXT NOT NULL)"]

    def head(self, cur: Any) -> tuple[int, bytes]:
        cur.execute(self.q("SELECT position, digest FROM {p}audit_digests ORDER BY position DESC LIMIT 1"))
        row = cur.fetchone()
        return (int(row[0]), bytes.fromhex(row[1])) if row else (0, GENESIS)

    def apply_page(self, cur: Any, items: Sequence[Item], notifications: Sequence[Any]) -> None:
        """Chain the page's stored events as the runner read them (no second read)."""
        self._chain(cur, [(n.id, n.originator_id, n.originator_version, n.topic, _bytes(n.state)) for n in notifications])

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        """Chain events by position when only decoded events are at hand (re-reads the stored bytes)."""
        if not items:
            return
        first, last = items[0][0], items[-1][0]
        wanted = {p for p, _ in items}
        stored = [s for s in select_stored(cur, self.db, first - 1, last, len(items) + 1) if s[0] in wanted]
        if len(stored) != len(items):
            raise RuntimeError(f"digest chain: expected {len(items)} stored events in {first}..{last}, read {len(stored)}")
        self._chain(cur, stored)

    def _chain(self, cur: Any, stored: list[Stored]) -> None:
        if not stored:
            return
        _, digest = self.head(cur)
        rows = []
        for s in stored:
            digest = link(digest, *s)
            rows.append((s[0], digest.hex()))
        self.db.insert_many(cur, self.t("audit_digests"), rows)
