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
* an end that the store cannot take now goes to `EndSpool` when one is
  given (store and forward), else it is logged as `asterisk_end_not_recorded`
  and counted; the hold is then settled at its last usage by expiry.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog
from pydantic import ValidationError

from adapters.asterisk.ami import AsteriskCallControl, ChannelBook
from adapters.asterisk.models import CdrEvent
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


class EndSpool(Protocol):
    """Where an end report waits while the store is down (the store-and-forward spool plugs in here)."""

    def put(self, report: EndReport) -> None: ...


class AsteriskCalls:
    """The AMI event handlers over charging; runs on the event loop that owns the AMI connection."""

    def __init__(self, charging: Charging, committer: GroupCommitter, book: ChannelBook,
                 control: AsteriskCallControl | None, zone: ZoneInfo, spool: EndSpool | None = None,
                 conferences: Any = None) -> None:
        self.charging = charging
        self.committer = committer
        self.book = book
        self.control = control
        self.zone = zone
        self.spool = spool
        self.conferences = conferences
        self._ended: OrderedDict[str, None] = OrderedDict()
        self.charged = 0
        self.bad_frames = 0
        self.not_recorded = 0

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

    async def end(self, report: EndReport) -> dict[str, Any] | LedgerError:
        """Charge one reported end; one the store cannot take now goes to the spool (if any)."""
        outcome = await self.deliver(report)
        if isinstance(outcome, StoreUnavailable):
            self.not_recorded += 1
            if self.spool is not None:
                self.spool.put(report)
            else:
                log.error("asterisk_end_not_recorded", call_id=report.call_id, billsec=report.billsec,
                          ended_at=report.ended_at, error=str(outcome)[:200])
        return outcome

    async def deliver(self, report: EndReport) -> dict[str, Any] | LedgerError:
        """Charge one reported end, nothing else: what a spool's forwarder calls (a duplicate is
        answered by the ledger with the first end, and charges nothing)."""
        from datetime import datetime

        try:
            ended_at = datetime.fromisoformat(report.ended_at) if report.ended_at else None
            command = self.charging.end_command(report.call_id, report.billsec, ended_at, report.cause,
                                                actor="switch:asterisk")
        except LedgerError as exc:
            self.bad_frames += 1
            log.error("asterisk_bad_end", call_id=report.call_id, error=str(exc)[:200])
            return exc
        outcome = await self._run(command)
        if isinstance(outcome, StoreUnavailable):
            return outcome
        if isinstance(outcome, LedgerError):
            log.warning("asterisk_end_refused", call_id=report.call_id, error=str(outcome)[:200])
            return outcome
        self._remember(report.call_id)
        if outcome.get("flags") != "refused":
            self.charged += 1
        return outcome

    def _remember(self, call_id: str) -> None:
        self._ended[call_id] = None
        while len(self._ended) > 100_000:
            self._ended.popitem(last=False)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)[:200]
