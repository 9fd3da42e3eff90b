"""Which aggregates the event log changed after a position: the feed of `ledger.freshness.CacheSync`.

Reads only (position, aggregate id, version), in position order, on one
connection of its own in autocommit: one round trip when nothing changed
(the library's pooled read transaction took three plus a pool check-out). A
connection the server dropped is replaced and the read tried once more; any
other error is raised as the library's `OperationalError`, like any other store failure.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import OperationalError

from projections.db import ViewDB, is_connection_lost


class LogChanges:
    def __init__(self, db: ViewDB, events_table: str) -> None:
        self.db = db
        column = "notification_id" if db.is_postgres else "rowid"
        self.sql = db.sql(f"SELECT {column}, originator_id, originator_version FROM {events_table} "
                          f"WHERE {column} > ? ORDER BY {column} LIMIT ?")
        self._conn: Any = None
        self._lock = threading.Lock()

    def __call__(self, after: int, limit: int) -> Sequence[tuple[int, Any, int]]:
        with self._lock:
            # A connection the server dropped since the last call is found only by using it:
            # such a loss is retried once on a fresh connection; a fresh one that fails is an outage.
            for attempt in (1, 2):
                reused = self._conn is not None
                try:
                    if self._conn is None:
                        self._conn = self.db.connect()
                    cur = self._conn.cursor()
                    try:
                        cur.execute(self.sql, (after, limit))
                        return [(int(p), oid, int(v)) for p, oid, v in cur.fetchall()]
                    finally:
                        cur.close()
                except (sqlite3.Error, psycopg.Error) as err:
                    self._drop()
                    if attempt == 1 and reused and is_connection_lost(err):
                        continue
                    raise OperationalError(str(err)) from err
            raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken
                pass
