"""Which process runs the scheduler: one per store.

On PostgreSQL, several API processes share one event log; the one holding a
session-level advisory lock is the leader. The lock lives on a connection
kept for the process's life, so it is released the moment the process (or
its connection) dies, and the next process to ask takes over. On SQLite
(one process by design) every process that asks leads.

The key is (namespace, hash of the schema), so stores in separate schemas of
one database (tests running side by side) never contend. A leader that
resigns unlocks before it closes its connection: the server ends a closed
connection's backend, and frees its locks, only some time later, and a
successor asking in between would be refused.
"""

from __future__ import annotations

import threading
from typing import Any

from projections.db import ViewDB

#: A fixed 64-bit key for `pg_try_advisory_lock`, namespaced per schema by the caller.
LOCK_NAMESPACE = 0x52_4C_53_43  # "RLSC"


class Leader:
    def __init__(self, db: ViewDB) -> None:
        self.db = db
        self._conn: Any = None
        self._lock = threading.Lock()
        self.is_leader = not db.is_postgres

    def try_lead(self) -> bool:
        """True while this process leads; asks for the lock when it does not yet."""
        if not self.db.is_postgres:
            return True
        with self._lock:
            if self._conn is not None and self.is_leader:
                try:  # the lock lives as long as its connection: a lost connection lost the lead
                    self._conn.execute("SELECT 1")
                    return True
                except Exception:
                    self._close()
            if self._conn is None:
                self._conn = self.db.connect()
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))", (LOCK_NAMESPACE,)
            ).fetchone()
            self.is_leader = bool(row[0])
            return self.is_leader

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        self.is_leader = False
        if conn is not None:
            try:  # release at once (a closed connection's backend may linger a moment)
                conn.execute("SELECT pg_advisory_unlock_all()")
            except Exception:  # the connection is gone, and the lock with it
                pass
            try:
                conn.close()
            except Exception:  # already gone
                pass

    def resign(self) -> None:
        with self._lock:
            self._close()
            self.is_leader = not self.db.is_postgres
