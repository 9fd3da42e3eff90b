"""Missed-call notification view: each callee's notice windows and the reachable-again requests about them.

`missed_notices` has one row per window (one caller within one local
hour): its count, first and last call, status (`pending`, `sent`,
`lapsed`), when it was sent and with what text. `missed_requests` has one
row per reachable-again request (`pending`, `sent`, `unpaid`, `lapsed`).
`missed_boxes` says whether each callee was last reported reachable. The
scheduler's job reads what has waited 24 hours, and what waits for a
reachable callee, from here; the box checks
each lapse again on its own events, so a row read late changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ledger.missed_calls import (
    CAUSES,
    LAPSED,
    PENDING,
    SENT,
    VALIDITY,
    MissedCallBox,
    box_id,
)
from projections.base import Item, Projection, storable
from projections.cdrs import iso


class MissedCallsView(Projection):
    name = "missed_calls"
    tables = ["missed_boxes", "missed_notices", "missed_requests"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}missed_boxes (box TEXT PRIMARY KEY, callee TEXT NOT NULL,"
        " reachable INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {p}missed_notices (box TEXT NOT NULL, window_key TEXT NOT NULL,"
        " caller TEXT NOT NULL, cause TEXT NOT NULL, count INTEGER NOT NULL, first_at TEXT NOT NULL,"
        " last_at TEXT NOT NULL, status TEXT NOT NULL, sent_at TEXT, body TEXT, position BIGINT NOT NULL,"
        " PRIMARY KEY (box, window_key))",
        "CREATE INDEX IF NOT EXISTS {p}missed_notices_pending ON {p}missed_notices (status, first_at)",
        "CREATE TABLE IF NOT EXISTS {p}missed_requests (box TEXT NOT NULL, request TEXT NOT NULL,"
        " requester TEXT NOT NULL, notify TEXT NOT NULL, account TEXT NOT NULL, at TEXT NOT NULL,"
        " status TEXT NOT NULL, charged BIGINT NOT NULL, PRIMARY KEY (box, request))",
        "CREATE INDEX IF NOT EXISTS {p}missed_requests_pending ON {p}missed_requests (status, at)",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        for position, e in items:
            if not isinstance(e, MissedCallBox.Event):
                continue
            box = e.originator_id.hex  # every row of one callee carries its box id
            if isinstance(e, MissedCallBox.Opened):
                cur.execute(self.q("INSERT INTO {p}missed_boxes VALUES (?, ?, ?)"), (box, e.callee, 0))
            elif isinstance(e, MissedCallBox.CameBack):
                cur.execute(self.q("UPDATE {p}missed_boxes SET reachable = 1 WHERE box = ?"), (box,))
            elif isinstance(e, MissedCallBox.CallMissed):
                cur.execute(self.q("UPDATE {p}missed_boxes SET reachable = 0 WHERE box = ?"), (box,))
                cur.execute(self.q("SELECT count FROM {p}missed_notices WHERE box = ? AND window_key = ?"),
                            (box, e.window))
                if cur.fetchone() is None:
                    cur.execute(self.q("INSERT INTO {p}missed_notices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                                (box, e.window, e.caller, CAUSES[e.cause], 1, iso(e.at), iso(e.at), PENDING,
                                 None, None, position))
                else:
                    cur.execute(self.q("UPDATE {p}missed_notices SET count = count + 1, last_at = ?, position = ?"
                                       " WHERE box = ? AND window_key = ?"), (iso(e.at), position, box, e.window))
            elif isinstance(e, MissedCallBox.NoticeSent):
                self._notice(cur, box, e.window, SENT, iso(e.at), storable(e.body), position)
            elif isinstance(e, MissedCallBox.NoticeFailed):
                self._notice(cur, box, e.window, PENDING, None, None, position)
            elif isinstance(e, MissedCallBox.NoticeLapsed):
                self._notice(cur, box, e.window, LAPSED, None, None, position)
            elif isinstance(e, MissedCallBox.ReachableRequested):
                cur.execute(self.q("INSERT INTO {p}missed_requests VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                            (box, e.request, e.requester, e.notify, e.account, iso(e.at), PENDING, 0))
            elif isinstance(e, MissedCallBox.ReachableNoticeSent):
                self._request(cur, box, e.request, SENT, e.amount)
            elif isinstance(e, MissedCallBox.ReachableNoticeUnpaid):
                self._request(cur, box, e.request, "unpaid", 0)
            elif isinstance(e, MissedCallBox.ReachableNoticeFailed):
                self._request(cur, box, e.request, PENDING, 0)
            elif isinstance(e, MissedCallBox.ReachableRequestLapsed):
                self._request(cur, box, e.request, LAPSED, 0)

    def _notice(self, cur: Any, box: str, window: str, status: str, sent_at: str | None, body: str | None,
                position: int) -> None:
        cur.execute(self.q("UPDATE {p}missed_notices SET status = ?, sent_at = ?, body = ?, position = ?"
                           " WHERE box = ? AND window_key = ?"), (status, sent_at, body, position, box, window))

    def _request(self, cur: Any, box: str, request: str, status: str, charged: int) -> None:
        cur.execute(self.q("UPDATE {p}missed_requests SET status = ?, charged = ? WHERE box = ? AND request = ?"),
                    (status, charged, box, request))


NOTICE_COLUMNS = ("window_key", "caller", "cause", "count", "first_at", "last_at", "status", "sent_at", "body")


def notices(db: Any, callee: str, limit: int) -> list[dict[str, Any]]:
    """A callee's notice windows, latest first."""
    rows = db.query("SELECT " + ", ".join(NOTICE_COLUMNS) + " FROM missed_notices WHERE box = ?"
                    " ORDER BY first_at DESC, window_key LIMIT ?", (box_id(callee).hex, limit))
    return [{**dict(zip(NOTICE_COLUMNS, r)), "callee": callee, "count": int(r[3])} for r in rows]


def lapse_due(db: Any, now: datetime) -> list[str]:
    """The callees (E.164) with a notice or request pending since `VALIDITY` or longer."""
    cutoff = iso(now - VALIDITY)
    rows = db.query("SELECT b.callee FROM missed_boxes b WHERE b.box IN ("
                    "SELECT n.box FROM missed_notices n WHERE n.status = ? AND n.first_at <= ?"
                    " UNION SELECT r.box FROM missed_requests r WHERE r.status = ? AND r.at <= ?)"
                    " ORDER BY b.callee", (PENDING, cutoff, PENDING, cutoff))
    return [r[0] for r in rows]


def waiting_while_reachable(db: Any) -> list[str]:
    """The callees (E.164) last reported reachable that still have a notice or request pending."""
    rows = db.query("SELECT b.callee FROM missed_boxes b WHERE b.reachable = 1 AND b.box IN ("
                    "SELECT n.box FROM missed_notices n WHERE n.status = ?"
                    " UNION SELECT r.box FROM missed_requests r WHERE r.status = ?) ORDER BY b.callee",
                    (PENDING, PENDING))
    return [r[0] for r in rows]
