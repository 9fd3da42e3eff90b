"""The views and the event log as of one instant: one connection inside one read transaction.

PostgreSQL: `REPEATABLE READ`, so every statement sees the snapshot taken by
the first. SQLite (WAL): a read transaction keeps the snapshot of its first
read. Writers carry on meanwhile; none of their commits is seen. The
projector writes the views and their tracked position in one transaction,
so the views read here are exactly the views after the position read here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from projections.db import ViewDB


class _Held:
    """One connection lent out many times: `close()` is the snapshot's, not the borrower's."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def cursor(self) -> Any:
        return self._conn.cursor()

    def execute(self, *args: Any) -> Any:
        return self._conn.execute(*args)

    def close(self) -> None:
        pass


class SnapshotDB(ViewDB):
    """A ViewDB whose every read (`connect`, `conn`, `query`) goes to the snapshot's connection."""

    def __init__(self, db: ViewDB, conn: Any) -> None:
        super().__init__(db.url, db.schema)
        self._held = _Held(conn)

    def connect(self) -> Any:
        return self._held

    def conn(self) -> Any:
        return self._held

    def close(self) -> None:
        pass


@contextmanager
def snapshot(db: ViewDB) -> Iterator[SnapshotDB]:
    conn = db.connect()
    try:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if db.is_postgres else "BEGIN")
        try:
            yield SnapshotDB(db, conn)
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()
