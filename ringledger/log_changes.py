"""Which aggregates the event log changed after a position: the feed of `ledger.freshness.CacheSync`.

Reads only (position, aggregate id, version) through the library's own
datastore (its pool, its error translation), in position order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.freshness import Changes


def log_changes(app: Any) -> Changes:
    recorder = app.recorder
    datastore = recorder.datastore
    table = recorder.events_table_name
    if hasattr(datastore, "schema"):  # PostgreSQL
        sql = (f'SELECT notification_id, originator_id, originator_version FROM "{datastore.schema}"."{table}" '
               "WHERE notification_id > %s ORDER BY notification_id LIMIT %s")
    else:
        sql = (f"SELECT rowid, originator_id, originator_version FROM {table} "
               "WHERE rowid > ? ORDER BY rowid LIMIT ?")

    def changes(after: int, limit: int) -> Sequence[tuple[int, Any, int]]:
        with datastore.transaction(commit=False) as cur:
            cur.execute(sql, (after, limit))
            return [_row(r) for r in cur.fetchall()]

    return changes


def _row(r: Any) -> tuple[int, Any, int]:
    if isinstance(r, dict):  # psycopg's dict rows
        return int(r["notification_id"]), r["originator_id"], int(r["originator_version"])
    return int(r[0]), r[1], int(r[2])
