"""Schedule view: what the scheduler must do next for conferences, from their events alone.

One row per due action: a booking's start (`kind` start, `leg` empty) or a
failed leg's retry (`kind` retry). A row appears with the event that makes
the action due and goes with the event that does it or makes it moot
(fired, cancelled, placed again, dropped, ended). The scheduler rebuilds its
work from this view at every start; the aggregate checks each action again,
so a row read late never fires twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.conferences import Conference
from projections.base import Item, Projection
from projections.cdrs import iso


class ConferenceSchedule(Projection):
    name = "conference_schedule"
    tables = ["conference_schedule"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}conference_schedule (id TEXT NOT NULL, leg TEXT NOT NULL,"
        " conference_id TEXT NOT NULL, kind TEXT NOT NULL, number TEXT NOT NULL, due_at TEXT NOT NULL,"
        " PRIMARY KEY (id, leg))",
        "CREATE INDEX IF NOT EXISTS {p}conference_schedule_due ON {p}conference_schedule (due_at)",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        insert = self.q("INSERT INTO {p}conference_schedule VALUES (?, ?, ?, ?, ?, ?)")
        for _, e in items:
            if not isinstance(e, Conference.Event):
                continue
            key = e.originator_id.hex
            if isinstance(e, Conference.Booked):
                cur.execute(insert, (key, "", e.conference_id, "start", e.initiator, iso(e.start_at)))
            elif isinstance(e, (Conference.Fired, Conference.Cancelled)):
                self._delete(cur, "id = ? AND leg = ''", (key,))
            elif isinstance(e, Conference.LegFailed) and e.retry_at is not None:
                cur.execute(insert, (key, e.leg, e.leg.rsplit("-", 1)[0], "retry", e.number, iso(e.retry_at)))
            elif isinstance(e, Conference.LegPlaced) and e.replaces is not None:
                self._delete(cur, "id = ? AND leg = ?", (key, e.replaces))
            elif isinstance(e, Conference.ParticipantDropped):
                self._delete(cur, "id = ? AND number = ?", (key, e.number))
            elif isinstance(e, Conference.Ended):
                self._delete(cur, "id = ?", (key,))

    def _delete(self, cur: Any, where: str, params: tuple[Any, ...]) -> None:
        cur.execute(self.q("DELETE FROM {p}conference_schedule WHERE " + where), params)


def due(db: Any, now: Any) -> list[tuple[str, str, str]]:
    """(conference id, kind, leg) of every action due at `now`, oldest first."""
    rows = db.query("SELECT conference_id, kind, leg FROM conference_schedule WHERE due_at <= ? "
                    "ORDER BY due_at, conference_id, leg", (iso(now),))
    return [(r[0], r[1], r[2]) for r in rows]
