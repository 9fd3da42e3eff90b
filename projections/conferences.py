"""Conference view: each conference with its status, and each leg the platform placed.

Instants are ISO 8601 UTC strings (text order is time order); participants
are the current list, comma-separated. What a leg cost is in the CDR view
under the leg's call id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.conferences import Conference
from projections.base import Item, Projection, storable
from projections.cdrs import iso


class ConferencesView(Projection):
    name = "conferences"
    tables = ["conferences", "conference_legs"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}conferences (id TEXT PRIMARY KEY, conference_id TEXT NOT NULL UNIQUE,"
        " mode TEXT NOT NULL, account TEXT NOT NULL, initiator TEXT NOT NULL, participants TEXT NOT NULL,"
        " start_at TEXT NOT NULL, retries INTEGER NOT NULL, retry_interval INTEGER NOT NULL,"
        " status TEXT NOT NULL, booked_at TEXT NOT NULL, booked_by TEXT NOT NULL, fired_at TEXT,"
        " ended_at TEXT, end_cause TEXT)",
        "CREATE INDEX IF NOT EXISTS {p}conferences_account ON {p}conferences (account, start_at)",
        "CREATE TABLE IF NOT EXISTS {p}conference_legs (conference_id TEXT NOT NULL, leg TEXT NOT NULL,"
        " number TEXT NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL, placed_at TEXT NOT NULL,"
        " joined_at TEXT, ended_at TEXT, cause TEXT, retry_at TEXT, PRIMARY KEY (conference_id, leg))",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        for _, e in items:
            if isinstance(e, Conference.Event):
                self._one(cur, e)

    def _conf(self, cur: Any, e: Any, sets: str, params: tuple[Any, ...]) -> None:
        cur.execute(self.q("UPDATE {p}conferences SET " + sets + " WHERE id = ?"), (*params, e.originator_id.hex))

    def _leg(self, cur: Any, leg: str, sets: str, params: tuple[Any, ...]) -> None:
        cur.execute(self.q("UPDATE {p}conference_legs SET " + sets + " WHERE conference_id = ? AND leg = ?"),
                    (*params, leg.rsplit("-", 1)[0], leg))

    def _one(self, cur: Any, e: Any) -> None:
        at = iso(e.timestamp)
        if isinstance(e, Conference.Booked):
            cur.execute(self.q("INSERT INTO {p}conferences VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?,"
                               " NULL, NULL, NULL)"),
                        (e.originator_id.hex, e.conference_id, e.mode, e.account, e.initiator,
                         ",".join(e.participants), iso(e.start_at), e.retries, e.retry_interval, at,
                         storable(e.actor)))
        elif isinstance(e, Conference.Cancelled):
            self._conf(cur, e, "status = 'cancelled', ended_at = ?, end_cause = ?", (at, storable(e.reason)))
        elif isinstance(e, Conference.Fired):
            self._conf(cur, e, "status = 'running', fired_at = ?", (iso(e.at),))
        elif isinstance(e, Conference.LegPlaced):
            cur.execute(self.q("INSERT INTO {p}conference_legs VALUES (?, ?, ?, ?, 'placed', ?, NULL, NULL, NULL,"
                               " NULL)"), (e.leg.rsplit("-", 1)[0], e.leg, e.number, e.attempt, iso(e.at)))
        elif isinstance(e, Conference.LegJoined):
            self._leg(cur, e.leg, "status = 'joined', joined_at = ?", (iso(e.at),))
        elif isinstance(e, Conference.LegFailed):
            self._leg(cur, e.leg, "status = 'failed', ended_at = ?, cause = ?, retry_at = ?",
                      (iso(e.at), storable(e.cause), iso(e.retry_at)))
        elif isinstance(e, Conference.LegHungUp):
            self._leg(cur, e.leg, "status = 'hung_up', ended_at = ?, cause = ?", (iso(e.at), storable(e.cause)))
        elif isinstance(e, (Conference.ParticipantInvited, Conference.ParticipantDropped)):
            cur.execute(self.q("SELECT participants FROM {p}conferences WHERE id = ?"), (e.originator_id.hex,))
            current = [p for p in cur.fetchone()[0].split(",") if p]
            if isinstance(e, Conference.ParticipantInvited):
                current.append(e.number)
            else:
                current = [p for p in current if p != e.number]
                for leg in e.legs:
                    self._leg(cur, leg, "status = 'dropped', ended_at = ?, cause = 'dropped'", (at,))
            self._conf(cur, e, "participants = ?", (",".join(current),))
        elif isinstance(e, Conference.Ended):
            for leg in e.cut:
                self._leg(cur, leg, "status = 'hung_up', ended_at = ?, cause = ?", (iso(e.at), storable(e.cause)))
            self._conf(cur, e, "status = 'ended', ended_at = ?, end_cause = ?", (iso(e.at), storable(e.cause)))
