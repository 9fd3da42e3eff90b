"""Grants in slices: a call holds the cost of one slice at a time, extended while money is available.

Guarantees:

* a grant is never more than what is held: `hold` is the rated cost of the
  granted seconds (at the instant the call is priced at), so any `billsec`
  up to the grant costs at most the hold, whatever the increments, connect
  fee or minimum charge;
* an extension is held out of the account's available money
  (`Account.extend_hold`), so available never goes below zero however many
  calls share one deposit; when no more can be held the grant stays as it is;
* a repeated report (the same `used_seconds`, a switch's retry) extends
  nothing a second time and answers alike;
* once the call has used its whole grant and no next slice can be held, the
  answer says stop and the cut is recorded once (`CallCut`); the switch is
  asked to cut (`CallControl.cut`) only after the transaction that recorded
  it has committed, never from inside a command that may run again;
* a switch whose own limit must follow the grant (a `CallControl` that is
  also a `GrantFollower`) is told of each extension after its commit, never
  before, so it never lets a call run past what is held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from typing import Any

from ledger.accounts import ACTIVE, Account
from ledger.charging import ANSWERED, CallSession
from ledger.errors import InvalidRequest
from ledger.unit_of_work import UnitOfWork
from rating.rate import max_seconds_for, rate_call
from rating.tariffs import RateRow
from services.charging.base import ChargingBase
from services.charging.requests import GRANT_ACTOR, rate_row_of
from services.ports import GrantFollower

Cuts = list[tuple[str, str]]


class CutAfterCommit:
    """A command that may decide to cut a call; `cuts` holds what its last run decided.

    Run it like any command (alone or in a group commit); once its
    transaction has committed, `Granting.after_commit` asks the switch to cut.
    """

    def __init__(self, run: Callable[[UnitOfWork, Cuts], dict[str, Any]]) -> None:
        self._run = run
        self.cuts: Cuts = []
        #: (call id, granted seconds, elapsed seconds) of each grant the last run extended.
        self.extended: list[tuple[str, int, int]] = []

    def __call__(self, uow: UnitOfWork) -> dict[str, Any]:
        self.cuts = []  # a retried run decides afresh
        self.extended = []
        return self._run(uow, self.cuts)


class Granting(ChargingBase):
    """Slices: the first grant at authorize, extensions at interim or by the timer, the cut."""

    def first_grant(self, row: RateRow, available: int, at: datetime, tz: tzinfo | str,
                    cap_seconds: int | None = None) -> int:
        """Seconds granted at authorize: one slice, never more than `available` pays for, the longest call
        or the request's own cap (a callback leg's share of what both legs can pay for)."""
        cap = min(self.policy.grant_seconds, self.policy.max_call_seconds)
        if cap_seconds is not None:
            cap = min(cap, cap_seconds)
        return max_seconds_for(row, available, at, tz, cap)

    def _extend(self, session: CallSession, account: Account, elapsed: int, reported_at: datetime | None,
                actor: str) -> bool:
        """Grant the next slice once less than the lead is left at `elapsed` seconds; True if it grew.

        The new grant runs one slice past the later of the grant and
        `elapsed`, at most the longest call, and at most what the hold plus
        the account's available money pay for (a part of a slice if that is
        all there is).
        """
        if session.max_seconds - elapsed > self.policy.lead:
            return False
        cap = min(max(session.max_seconds, elapsed) + self.policy.grant_seconds, self.policy.max_call_seconds)
        if cap <= session.max_seconds:
            return False
        row, at, tz = rate_row_of(session.rate), session.answered_at or session.authorized_at, self._tz(session)
        assert at is not None
        budget = session.hold + (max(0, account.available) if account.status == ACTIVE else 0)
        seconds = max_seconds_for(row, budget, at, tz, cap)
        if seconds <= session.max_seconds:
            return False
        hold = max(session.hold, rate_call(row, seconds, at, tz).cost)
        self._hold_more(account, session, hold - session.hold, actor)
        session.extend_grant(max_seconds=seconds, hold=hold, at_seconds=elapsed, reported_at=reported_at,
                             ttl=self.policy.hold_ttl, actor=actor)
        return True

    @staticmethod
    def _hold_more(account: Account, session: CallSession, amount: int, actor: str) -> None:
        if not amount:
            return
        if session.hold:
            account.extend_hold(session.call_id, amount, actor)
        else:  # a call that cost nothing so far held nothing: its first money opens the hold
            account.reserve(session.call_id, amount, actor)

    @staticmethod
    def _tz(session: CallSession) -> str:
        return str(session.rate.get("tz", "Asia/Shanghai"))

    def _stop_if_spent(self, session: CallSession, account: Account, elapsed: int, at: datetime, cuts: Cuts,
                       actor: str) -> None:
        """At the end of its grant (nothing more could be held), record the cut once and queue it."""
        if not session.is_open or elapsed < session.max_seconds:
            return
        if session.max_seconds >= self.policy.max_call_seconds:
            reason = "max_call_seconds"
        elif account.status != ACTIVE:
            reason = "account_closed"
        else:
            reason = "insufficient_funds"
        if session.cut(reason, elapsed, at, actor):
            cuts.append((session.call_id, reason))

    def reprice_at_answer(self, uow: UnitOfWork, session: CallSession, cuts: Cuts, actor: str) -> None:
        """Answered in a dearer time band than authorized: hold the grant's price at the answer instant.

        What the hold lacks is held out of the available money; when that is
        not enough, the grant shrinks to what the hold pays for at the new
        price (to nothing, and the call is cut, if not even the first
        increment is paid for).
        """
        row, at, tz = rate_row_of(session.rate), session.answered_at, self._tz(session)
        assert at is not None
        if rate_call(row, session.max_seconds, at, tz).cost <= session.hold:
            return
        account = self._account(uow, session)
        budget = session.hold + (max(0, account.available) if account.status == ACTIVE else 0)
        seconds = max_seconds_for(row, budget, at, tz, session.max_seconds)
        hold = max(session.hold, rate_call(row, seconds, at, tz).cost)
        self._hold_more(account, session, hold - session.hold, actor)
        session.reprice_grant(max_seconds=seconds, hold=hold, actor=actor)
        self._stop_if_spent(session, account, 0, at, cuts, actor)

    def top_up_at_end(self, session: CallSession, account: Account, billsec: int, cost: int, actor: str) -> None:
        """A hangup past the grant (a switch that neither reported nor stopped): hold what the account
        can still pay towards `cost` before settling, so nothing beyond available is charged."""
        short = cost - session.hold
        if short <= 0 or account.status != ACTIVE or account.available <= 0:
            return
        amount = min(short, account.available)
        row, at = rate_row_of(session.rate), session.answered_at or session.authorized_at
        assert at is not None
        seconds = max(session.max_seconds,
                      max_seconds_for(row, session.hold + amount, at, self._tz(session), max(billsec, 1)))
        self._hold_more(account, session, amount, actor)
        session.extend_grant(max_seconds=seconds, hold=session.hold + amount, at_seconds=billsec,
                             reported_at=None, ttl=self.policy.hold_ttl, actor=actor)

    # --- interim --------------------------------------------------------------

    def interim(self, call: str, used_seconds: int) -> dict[str, Any]:
        command = self.interim_command(call, used_seconds)
        answer = self.ledger.execute(command)
        self.after_commit(command)
        return answer

    def interim_command(self, call: str, used_seconds: int) -> CutAfterCommit:
        if isinstance(used_seconds, bool) or not isinstance(used_seconds, int) or used_seconds < 0:
            raise InvalidRequest("used_seconds is a non-negative whole number")

        def run(uow: UnitOfWork, cuts: Cuts) -> dict[str, Any]:
            session = self._session(uow, call)
            if not session.is_open:
                session.report_interim(used_seconds, 0)  # a refused call raises; an ended one changes nothing
            account = self._account(uow, session)
            now = self.clock()
            if session.is_open and used_seconds > session.used_seconds:
                if self._extend(session, account, used_seconds, now, "switch"):
                    command.extended.append((call, session.max_seconds, used_seconds))
                used = min(self._cost(session, used_seconds, session.answered_at or session.authorized_at),
                           session.hold)
                session.report_interim(used_seconds, used, reported_at=now, ttl=self.policy.hold_ttl)
                if session.hold:
                    account.report_usage(call, used)
                self._stop_if_spent(session, account, used_seconds, now, cuts, "switch")
            go_on = session.is_open and session.cut_reason is None and used_seconds < session.max_seconds
            return {"call_id": call, "continue": go_on, "max_seconds": session.seconds_left if go_on else 0,
                    "used": session.used, "granted_seconds": session.max_seconds, "hold": session.hold,
                    "low_balance": account.available < self.policy.low_balance,
                    "reason": None if go_on else session.cut_reason or session.status}

        command = CutAfterCommit(run)
        return command

    def after_commit(self, command: object) -> None:
        """Ask the switch to cut what a committed command decided to cut (nothing for other commands),
        and tell a switch that follows grants how far each extended grant now runs."""
        if self.call_control is None:
            return
        if isinstance(self.call_control, GrantFollower):
            for call_id, granted, elapsed in getattr(command, "extended", ()):
                self.call_control.extended(call_id, granted, elapsed)
        for call_id, reason in getattr(command, "cuts", None) or ():
            self.call_control.cut(call_id, reason)

    # --- the ledger's own timer -------------------------------------------------

    def grant_command(self, call: str, now: datetime) -> CutAfterCommit:
        """For a silent switch: extend an answered call's grant as an interim at `now` would, cut it when spent.

        No usage is recorded (the switch has not reported any): an expired
        hold is still settled at the last reported usage.
        """

        def run(uow: UnitOfWork, cuts: Cuts) -> dict[str, Any]:
            session = self._session(uow, call)
            if session.status != ANSWERED or session.cut_reason is not None or session.answered_at is None:
                return {"call_id": call, "extended": False, "cut": session.cut_reason}
            elapsed = max(0, int((now - session.answered_at).total_seconds()))
            if session.max_seconds - elapsed > self.policy.lead:
                return {"call_id": call, "extended": False, "cut": None}
            account = self._account(uow, session)
            extended = self._extend(session, account, elapsed, None, GRANT_ACTOR)
            if extended:
                command.extended.append((call, session.max_seconds, elapsed))
            self._stop_if_spent(session, account, elapsed, now, cuts, GRANT_ACTOR)
            return {"call_id": call, "extended": extended, "granted_seconds": session.max_seconds,
                    "cut": session.cut_reason}

        command = CutAfterCommit(run)
        return command

    def extend_grants(self, now: datetime, candidates: Iterable[str]) -> list[dict[str, Any]]:
        """Run the timer over `candidates` (calls whose grant may end soon); returns what it extended or cut.

        Each candidate is checked against its own events, so running this
        twice at the same instant extends and cuts once.
        """
        results: list[dict[str, Any]] = []
        calls = list(candidates)
        for start in range(0, len(calls), 256):
            commands = [self.grant_command(c, now) for c in calls[start : start + 256]]
            outcomes = self.ledger.execute_many([(command, None) for command in commands])
            for command, outcome in zip(commands, outcomes):
                if isinstance(outcome, dict):
                    self.after_commit(command)
                    if outcome.get("extended") or command.cuts:
                        results.append(outcome)
        return results
