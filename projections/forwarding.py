"""Forwarding view: each business's profile, and every forwarded call with its agent and outcome.

One row per call offered to a business (`forwarded_calls`): routed to an
agent (then answered, abandoned or expired once it ends) or turned away
(blacklisted, outside the schedule, no agent free …). The per-agent call
log and the statistics (answered, abandoned, wait before abandoning) and
the business's bill are reads of these rows (`projections.forwarding_reads`).
Instants are ISO 8601 UTC strings; `day` is the business's local day.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from ledger.forwarding import Business
from projections.base import Item, Projection, storable
from projections.cdrs import iso


class ForwardingView(Projection):
    name = "forwarding"
    tables = ["businesses", "forwarded_calls"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}businesses ("
        " id TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE, account TEXT NOT NULL, tz TEXT NOT NULL,"
        " presented TEXT NOT NULL, greeting TEXT NOT NULL, agents TEXT NOT NULL, distribution TEXT NOT NULL,"
        " schedule TEXT NOT NULL, blocked TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {p}forwarded_calls ("
        " call_id TEXT PRIMARY KEY, business TEXT NOT NULL, caller TEXT NOT NULL, agent TEXT, day TEXT NOT NULL,"
        " offered_at TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, answered_at TEXT, ended_at TEXT,"
        " waited INTEGER, billsec INTEGER, charged BIGINT)",
        "CREATE INDEX IF NOT EXISTS {p}forwarded_calls_business ON {p}forwarded_calls (business, day)",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        for _, event in items:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, cur, event)

    def business(self, cur: Any, e: Any) -> tuple[str, str]:
        cur.execute(self.q("SELECT number, tz FROM {p}businesses WHERE id = ?"), (e.originator_id.hex,))
        number, tz = cur.fetchone()
        return number, tz

    def set(self, cur: Any, e: Any, **changes: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in changes)
        cur.execute(self.q(f"UPDATE {{p}}businesses SET {sets} WHERE id = ?"), [*changes.values(), e.originator_id.hex])


def _registered(v: ForwardingView, cur: Any, e: Business.Registered) -> None:
    cur.execute(v.q("INSERT INTO {p}businesses VALUES (?, ?, ?, ?, ?, '', '[]', 'even', '[]', ?)"),
                (e.originator_id.hex, e.number, storable(e.account), e.tz, e.number,
                 json.dumps({"numbers": [], "prefixes": []})))


def _profile(v: ForwardingView, cur: Any, e: Business.ProfileSet) -> None:
    v.set(cur, e, presented=e.presented, greeting=storable(e.greeting), agents=json.dumps(e.agents),
          distribution=e.distribution)


def _schedule(v: ForwardingView, cur: Any, e: Business.ScheduleSet) -> None:
    v.set(cur, e, schedule=json.dumps(e.rules, sort_keys=True))


def _blacklist(v: ForwardingView, cur: Any, e: Business.BlacklistSet) -> None:
    v.set(cur, e, blocked=json.dumps({"numbers": e.numbers, "prefixes": e.prefixes}, sort_keys=True))


def _routed(v: ForwardingView, cur: Any, e: Business.CallRouted) -> None:
    number, _ = v.business(cur, e)
    cur.execute(v.q("INSERT INTO {p}forwarded_calls VALUES (?, ?, ?, ?, ?, ?, 'open', NULL, NULL, NULL, NULL,"
                    " NULL, NULL)"),
                (storable(e.call_id), number, storable(e.caller), e.agent, e.period, iso(e.routed_at)))


def _turned_away(v: ForwardingView, cur: Any, e: Business.CallTurnedAway) -> None:
    number, tz = v.business(cur, e)
    day = e.at.astimezone(ZoneInfo(tz)).date().isoformat()
    cur.execute(v.q("INSERT INTO {p}forwarded_calls VALUES (?, ?, ?, NULL, ?, ?, 'refused', ?, NULL, NULL, NULL,"
                    " NULL, NULL)"),
                (storable(e.call_id), number, storable(e.caller), day, iso(e.at), storable(e.reason)))


def _finished(v: ForwardingView, cur: Any, e: Business.CallFinished) -> None:
    cur.execute(v.q("UPDATE {p}forwarded_calls SET outcome = ?, answered_at = ?, ended_at = ?, waited = ?,"
                    " billsec = ?, charged = ? WHERE call_id = ?"),
                (e.outcome, iso(e.answered_at), iso(e.ended_at), e.waited, e.billsec, e.charged,
                 storable(e.call_id)))


_HANDLERS: dict[type, Any] = {
    Business.Registered: _registered,
    Business.ProfileSet: _profile,
    Business.ScheduleSet: _schedule,
    Business.BlacklistSet: _blacklist,
    Business.CallRouted: _routed,
    Business.CallTurnedAway: _turned_away,
    Business.CallFinished: _finished,
}
