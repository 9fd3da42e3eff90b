"""AMI events turned into charging: `DialEnd` answers a call, `Cdr` ends it, `Hangup` closes its channel.

Guarantees:

* a call is charged once for the billsec of its own CDR: only a `Cdr` whose
  `UserField` is `rl:<call id>` (set by the AGI authorize on the channel it
  authorized) ends a call, so the other CDR of a `Local` channel (same
  `Linkedid`, no mark) is ignored; a repeated `Cdr` of the same call is
  dropped here, and the ledger answers a repeated end with the first one;
* events may come in any order (`Cdr` before `Hangup`, `Hangup` twice):
  `Hangup` only forgets the channel, so nothing is sent to it any more;
* a frame that does not parse (a missing `BillableSeconds`, a time that is
  not `YYYY-MM-DD HH:MM:SS`) is counted in `bad_frames`, logged, and
  changes nothing;
* with a spool (`adapters.spool.Spool`, the same store and forward as
  FreeSWITCH's), an end the store cannot take now is appended and fsynced
  before `end` returns, and while anything waits there new ends queue
  behind it; the spool's thread replays them oldest first once the store
  answers, and a replay after a crash charges nothing twice (the ledger
  answers a repeated end of a call with the first one);
* without a spool, or when the spool itself cannot be written (a full
  disk), the end is logged as `asterisk_end_not_recorded` and counted; the
  hold is then settled at its last usage by expiry.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from pydantic import ValidationError

from adapters.asterisk.ami import AsteriskCallControl, ChannelBook
from adapters.asterisk.models import CdrEvent
from adapters.spool import Spool, Spooled, unreachable
from ledger.application import Command
from ledger.errors import LedgerError, StoreUnavailable
from services.charging import Charging
from services.group_commit import GroupCommitter

log = structlog.get_logger("ringledger.asterisk")


@dataclass(frozen=True)
class EndReport:
    """A hangup as the switch reported it, ready to be charged (or kept until the store is back)."""

    call_id: str
    billsec: int
    ended_at: str | None  # ISO 8601 with offset
    cause: str


#: The spool record kind of an Asterisk end.
END = "end"


class AsteriskCalls:
    """The AMI event handlers over charging; runs on the event loop that owns the AMI connection."""

    def __init__(self, charging: Charging, committer: GroupCommitter, book: ChannelBook,
                 control: AsteriskCallControl | None, zone: ZoneInfo, spool: Spool | None = None,
                 conferences: Any = None) -> None:
        self.charging = charging
        self.committer = committer
        self.book = book
        self.control = control
        self.zone = zone
        self.spool = spool
        self.conferences = conferences
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._counting = threading.Lock()  # the spool's replayer charges from its own thread
        self.charged = 0
        self.bad_frames = 0
        self.not_recorded = 0
        self.spooled = 0

    def install(self, ami: Any) -> None:
        ami.on("Cdr", self.on_cdr)
        ami.on("Hangup", self.on_hangup)
        ami.on("DialEnd", self.on_dial_end)
        ami.on("OriginateResponse", self.on_originate_response)

    async def _run(self, command: Command) -> dict[str, Any] | LedgerError:
        return await self.committer.submit(command)

    async def _after_commit(self, command: Command) -> None:
        """Cuts and limits the command decided, sent off the loop (the ports wait for AMI replies)."""
        if getattr(command, "cuts", None) or getattr(command, "extended", None):
            await asyncio.get_running_loop().run_in_executor(None, self.charging.after_commit, command)

    # --- answer ---------------------------------------------------------------

    async def on_dial_end(self, event: dict[str, str]) -> None:
        """The dialled party answered a call we authorized: billing starts, the channel's limit is reset."""
        if event.get("dialstatus", "").upper() != "ANSWER":
            return
        call_id = self.book.call_of(event.get("uniqueid", ""))
        if call_id is not None:
            await self.answered(call_id)

    async def answered(self, call_id: str) -> None:
        """Record the answer of a call we authorized; then its channel's limit runs from now."""
        try:
            command = self.charging.answer_command(call_id)
        except LedgerError as exc:
            log.warning("asterisk_answer_refused", call_id=call_id, error=str(exc)[:200])
            return
        outcome = await self._run(command)
        if isinstance(outcome, LedgerError):
            log.warning("asterisk_answer_not_recorded", call_id=call_id, error=str(outcome)[:200])
            return
        await self._after_commit(command)
        channel = self.book.channel(call_id)
        if self.control is not None and channel is not None and not command.cuts:
            left = int(outcome["max_seconds"])  # from the answer: the limit set at authorize counted ringing too
            await asyncio.get_running_loop().run_in_executor(None, self.control.set_limit, call_id, channel, left)

    # --- hangup and CDR -------------------------------------------------------

    def on_hangup(self, event: dict[str, str]) -> None:
        call_id = self.book.hung_up(event.get("uniqueid", ""))
        if call_id is not None:
            log.info("asterisk_hangup", call_id=call_id, cause=event.get("cause-txt", "")[:60])

    async def on_originate_response(self, event: dict[str, str]) -> None:
        """An originated leg rang: answered, its channel carries that leg from now on; not answered,
        a conference leg is reported failed (the conference retries it as booked)."""
        call_id = self.book.call_of_action(event.get("actionid", ""))
        if call_id is None:
            return
        if event.get("response", "").lower() == "success" and event.get("channel"):
            self.book.track(call_id, event["channel"], event.get("uniqueid", ""))
            return
        log.warning("asterisk_originate_failed", call_id=call_id, reason=event.get("reason", "")[:40])
        conference = self.book.conference_of(call_id)
        if conference is not None and self.conferences is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, self.conferences.leg_event, conference, call_id, "failed", "no_answer")
            except Exception as exc:
                log.error("asterisk_leg_failure_not_recorded", call_id=call_id, error=str(exc)[:200])

    async def on_cdr(self, event: dict[str, str]) -> None:
        try:
            cdr = CdrEvent.model_validate(event)
            ended_at = cdr.ended_at(self.zone)
        except (ValidationError, ValueError) as exc:
            self.bad_frames += 1
            log.error("asterisk_bad_cdr", error=_first_error(exc), uniqueid=event.get("uniqueid", "")[:60])
            return
        call_id = cdr.call_id
        if call_id is None or call_id in self._ended:
            return  # not a call we authorized (or the other CDR of its Local channel), or already sent
        self._remember(call_id)  # before the await: a repeat arriving meanwhile is not sent again
        report = EndReport(call_id, cdr.billable_seconds, ended_at.isoformat() if ended_at else None,
                           cdr.disposition.lower())
        outcome = await self.end(report)
        if isinstance(outcome, LedgerError):
            self._ended.pop(call_id, None)  # not recorded: a later report of it may still be

    async def end(self, report: EndReport) -> dict[str, Any] | LedgerError | Spooled:
        """Charge one reported end; one the store cannot take now is spooled (if a spool is given).

        Returns the ledger's answer, `Spooled` (kept on disk, charged later), or the `LedgerError`
        that refused it (a `StoreUnavailable` when it could be neither recorded nor spooled).
        """
        if self.spool is None:
            outcome = await self.deliver(report)
            if isinstance(outcome, StoreUnavailable):
                self._lost(report, outcome)
            return outcome
        try:
            result: dict[str, Any] | Spooled = await self.spool.forward_async(END, asdict(report), self._forward)
        except LedgerError as exc:  # refused for good (logged by `deliver`)
            return exc
        except OSError as exc:  # neither recorded nor written to the spool
            lost = StoreUnavailable(f"the end could not be spooled: {exc}")
            self._lost(report, lost)
            return lost
        if isinstance(result, Spooled):
            self.spooled += 1
            log.warning("asterisk_end_spooled", call_id=report.call_id, seq=result.seq)
        return result

    def _lost(self, report: EndReport, error: LedgerError) -> None:
        self.not_recorded += 1
        log.error("asterisk_end_not_recorded", call_id=report.call_id, billsec=report.billsec,
                  ended_at=report.ended_at, error=str(error)[:200])

    async def _forward(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        outcome = await self.deliver(EndReport(**payload))
        if isinstance(outcome, LedgerError):
            raise outcome  # the spool keeps it when the store is down; any other refusal comes back to `end`
        return outcome

    def _command(self, report: EndReport) -> Command:
        ended_at = datetime.fromisoformat(report.ended_at) if report.ended_at else None
        return self.charging.end_command(report.call_id, report.billsec, ended_at, report.cause,
                                         actor="switch:asterisk")

    async def deliver(self, report: EndReport) -> dict[str, Any] | LedgerError:
        """Charge one reported end, nothing else (a duplicate is answered by the ledger with the
        first end, and charges nothing)."""
        try:
            command = self._command(report)
        except LedgerError as exc:
            self._count("bad_frames")
            log.error("asterisk_bad_end", call_id=report.call_id, error=str(exc)[:200])
            return exc
        outcome = await self._run(command)
        if not isinstance(outcome, LedgerError):
            self._remember(report.call_id)
        return self._settled(report, outcome)

    def deliver_spooled(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The spool's replayer (a plain thread): charge one spooled end, raising what refused it
        (`StoreUnavailable` keeps it spooled; any other refusal moves it to the spool's rejected file)."""
        if kind != END:
            raise ValueError(f"an Asterisk spool holds ends, not {kind!r}")
        report = EndReport(**payload)
        command = self._command(report)
        outcome = self._settled(report, self.committer.submit_wait(command))
        if isinstance(outcome, LedgerError):
            raise outcome
        log.info("asterisk_spooled_end_charged", call_id=report.call_id)
        return outcome

    def _settled(self, report: EndReport, outcome: dict[str, Any] | LedgerError) -> dict[str, Any] | LedgerError:
        if isinstance(outcome, LedgerError) and unreachable(outcome):  # the store, or a server stopping
            return outcome
        if isinstance(outcome, LedgerError):
            log.warning("asterisk_end_refused", call_id=report.call_id, error=str(outcome)[:200])
            return outcome
        if outcome.get("flags") != "refused":
            self._count("charged")
        return outcome

    def _count(self, name: str) -> None:
        with self._counting:
            setattr(self, name, getattr(self, name) + 1)

    def _remember(self, call_id: str) -> None:
        self._ended[call_id] = None
        while len(self._ended) > 100_000:
            self._ended.popitem(last=False)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)[:200]
