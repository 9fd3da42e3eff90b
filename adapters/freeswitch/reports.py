"""What FreeSWITCH reports about a call (answer, heartbeat, end, CDR), delivered to charging.

Answers and ends go through the spool (`adapters.spool`): while the ledger's
store cannot be reached they are kept on disk and replayed in order later.
A heartbeat is a live question ("may it go on?"), never spooled: unanswered,
the hangup already scheduled at the switch stops the call at its grant.

Guarantees: a report is answered only after the transaction that recorded
it committed, or after it was fsynced to the spool; a report repeated (the
hangup event and the JSON CDR of one call, each perhaps twice, a replay
after a crash) is charged once, because charging is idempotent per call id.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from adapters.spool import Spool, Spooled
from ledger.application import Command
from ledger.errors import LedgerError
from services.charging import Charging
from services.group_commit import GroupCommitter

SWITCH = "freeswitch"
ACTOR = f"switch:{SWITCH}"


def instant(micros: str | int | None) -> datetime | None:
    """A FreeSWITCH time (microseconds since the epoch, as text) as an aware instant; 0/absent: None."""
    if micros in (None, "", "0", 0):
        return None
    value = int(micros)
    return datetime.fromtimestamp(value / 1_000_000, UTC) if value > 0 else None


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Reports:
    def __init__(self, charging: Charging, committer: GroupCommitter, spool: Spool) -> None:
        self.charging = charging
        self.committer = committer
        self.spool = spool

    def _command(self, kind: str, p: dict[str, Any]) -> Command:
        if kind == "answer":
            return self.charging.answer_command(p["call_id"], _at(p.get("answered_at")))
        if kind == "end":
            return self.charging.end_command(p["call_id"], p["billsec"], _at(p.get("ended_at")),
                                             p.get("cause", ""), actor=ACTOR)
        if kind == "interim":
            return self.charging.interim_command(p["call_id"], p["used_seconds"])
        raise ValueError(f"no report of kind {kind!r}")

    # --- delivering -------------------------------------------------------------------

    async def deliver_async(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        command = self._command(kind, payload)
        outcome = await self.committer.submit(command)
        if isinstance(outcome, LedgerError):
            raise outcome
        if getattr(command, "cuts", None):  # committed: now the switch may be asked to cut
            await asyncio.to_thread(self.charging.after_commit, command)
        return outcome

    def deliver(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The same from a plain thread (the spool's replayer)."""
        command = self._command(kind, payload)
        outcome = self.committer.submit_wait(command)
        if isinstance(outcome, LedgerError):
            raise outcome
        self.charging.after_commit(command)
        return outcome

    # --- the reports ------------------------------------------------------------------

    async def answer(self, call_id: str, answered_at: datetime | None) -> dict[str, Any] | Spooled:
        payload = {"call_id": call_id, "answered_at": answered_at.isoformat() if answered_at else None}
        result: dict[str, Any] | Spooled = await self.spool.forward_async("answer", payload, self.deliver_async)
        return result

    async def end(self, call_id: str, billsec: int, ended_at: datetime | None, cause: str) -> dict[str, Any] | Spooled:
        payload = {"call_id": call_id, "billsec": billsec, "cause": cause,
                   "ended_at": ended_at.isoformat() if ended_at else None}
        result: dict[str, Any] | Spooled = await self.spool.forward_async("end", payload, self.deliver_async)
        return result

    async def interim(self, call_id: str, used_seconds: int) -> dict[str, Any]:
        return await self.deliver_async("interim", {"call_id": call_id, "used_seconds": used_seconds})

    def start(self, interval: float = 1.0) -> None:
        self.spool.start(self.deliver, interval)

    def stop(self) -> None:
        self.spool.stop()
