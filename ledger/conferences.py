"""Conferences (多方通话): one aggregate per conference, booked through the portal or started by phone.

The id is derived from the conference id, and an instant conference's id
from the switch's trigger call id, so a repeated trigger collides instead
of opening a twin. Legs are the calls the platform places: the initiator's
first, then each participant's; every attempt is a leg of its own (a new
switch call id, rated and charged to the initiator's account by the
charging hooks).

Invariants:

* a booking fires at most once: `Fired` is an event on this aggregate, so
  two processes that fire the same booking collide on its version and the
  loser sees it fired;
* a cancelled booking never fires, and only a booking not yet fired can be
  cancelled; a booking more than 30 minutes overdue (the platform was down
  at its time) is recorded as missed instead of ringing people late;
* a failed leg is placed again at most `retries` times, each `retry_interval`
  seconds after the failure, and each failure is retried at most once;
* nothing is placed once the conference has ended; it ends when the
  initiator's leg hangs up (or fails for good).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidRequest, LedgerError, NotFound
from ledger.ids import derived_id

BOOKED, CANCELLED, RUNNING, ENDED = "booked", "cancelled", "running", "ended"
PLACED, JOINED, FAILED, DROPPED, HUNG_UP = "placed", "joined", "failed", "dropped", "hung_up"
LIVE = (PLACED, JOINED)
MAX_PARTICIPANTS = 20
MAX_RETRIES = 10
MAX_RETRY_INTERVAL = 3600
#: How late a booking may still be started (after an outage); later, it is recorded as missed.
MISSED_AFTER = timedelta(minutes=30)


def conference_id(conference: str) -> Any:
    return derived_id("conference:" + conference)


class Conference(Aggregate):
    class Booked(Aggregate.Created):
        conference_id: str
        mode: str
        account: str
        initiator: str
        participants: list[str]
        start_at: datetime
        retries: int
        retry_interval: int
        actor: str

    def __init__(self, conference_id: str, mode: str, account: str, initiator: str, participants: list[str],
                 start_at: datetime, retries: int, retry_interval: int, actor: str) -> None:
        self.conference_id = conference_id
        self.mode = mode
        self.account = account
        self.initiator = initiator
        self.participants = list(participants)
        self.start_at = start_at
        self.retries = retries
        self.retry_interval = retry_interval
        self.status = BOOKED
        #: leg call id -> {"number", "attempt", "status", "retry_at", "retried"}
        self.legs: dict[str, dict[str, Any]] = {}

    @classmethod
    def book(cls, conference: str, mode: str, account: str, initiator: str, participants: list[str],
             start_at: datetime, retries: int, retry_interval: int, actor: str) -> Conference:
        if mode not in ("booked", "instant"):
            raise InvalidRequest("a conference is booked or instant")
        if len(participants) > MAX_PARTICIPANTS:
            raise InvalidRequest(f"a conference has at most {MAX_PARTICIPANTS} participants")
        if len(set(participants)) != len(participants) or initiator in participants:
            raise InvalidRequest("each participant is named once, and not the initiator")
        if not 0 <= retries <= MAX_RETRIES:
            raise InvalidRequest(f"retries is 0 to {MAX_RETRIES}")
        if not 0 <= retry_interval <= MAX_RETRY_INTERVAL:
            raise InvalidRequest(f"the retry interval is 0 to {MAX_RETRY_INTERVAL} seconds")
        return cls._create(cls.Booked, id=conference_id(conference), conference_id=conference, mode=mode,
                           account=account, initiator=initiator, participants=list(participants),
                           start_at=start_at, retries=retries, retry_interval=retry_interval, actor=actor)

    # --- queries -------------------------------------------------------------------

    def leg(self, leg: str) -> dict[str, Any]:
        found = self.legs.get(leg)
        if found is None:
            raise LegNotFound(f"conference {self.conference_id} has no leg {leg}")
        return found

    def live_legs(self, number: str | None = None) -> list[str]:
        return [k for k, v in self.legs.items() if v["status"] in LIVE and (number is None or v["number"] == number)]

    def _next_leg(self) -> str:
        return f"{self.conference_id}-{len(self.legs) + 1}"

    # --- events --------------------------------------------------------------------

    class Cancelled(Aggregate.Event):
        actor: str
        reason: str

        def apply(self, c: Conference) -> None:
            c.status = CANCELLED

    class Fired(Aggregate.Event):
        at: datetime
        actor: str

        def apply(self, c: Conference) -> None:
            c.status = RUNNING

    class LegPlaced(Aggregate.Event):
        leg: str
        number: str
        attempt: int
        replaces: str | None
        at: datetime

        def apply(self, c: Conference) -> None:
            if self.replaces is not None:
                _set_leg(c, self.replaces, retried=True)
            c.legs = {**c.legs, self.leg: {"number": self.number, "attempt": self.attempt, "status": PLACED,
                                           "retry_at": None, "retried": False}}

    class LegJoined(Aggregate.Event):
        leg: str
        at: datetime

        def apply(self, c: Conference) -> None:
            _set_leg(c, self.leg, status=JOINED)

    class LegFailed(Aggregate.Event):
        leg: str
        number: str
        cause: str
        at: datetime
        retry_at: datetime | None

        def apply(self, c: Conference) -> None:
            _set_leg(c, self.leg, status=FAILED, retry_at=self.retry_at)

    class LegHungUp(Aggregate.Event):
        leg: str
        cause: str
        at: datetime

        def apply(self, c: Conference) -> None:
            _set_leg(c, self.leg, status=HUNG_UP)

    class ParticipantInvited(Aggregate.Event):
        number: str
        actor: str

        def apply(self, c: Conference) -> None:
            c.participants = [*c.participants, self.number]

    class ParticipantDropped(Aggregate.Event):
        number: str
        legs: list[str]
        actor: str

        def apply(self, c: Conference) -> None:
            c.participants = [p for p in c.participants if p != self.number]
            for leg in self.legs:
                _set_leg(c, leg, status=DROPPED)

    class Ended(Aggregate.Event):
        at: datetime
        cause: str
        cut: list[str]
        actor: str

        def apply(self, c: Conference) -> None:
            c.status = ENDED
            for leg in self.cut:
                _set_leg(c, leg, status=HUNG_UP)

    # --- commands ------------------------------------------------------------------

    def cancel(self, actor: str, reason: str) -> None:
        if self.status != BOOKED:
            raise ConferenceNotCancellable(f"conference {self.conference_id} is {self.status}: only a booking "
                                           "that has not started can be cancelled")
        self.trigger_event(self.Cancelled, actor=actor, reason=reason)

    def fire(self, now: datetime, actor: str) -> list[str]:
        """Start a booking that is due: the initiator's leg is placed. Returns the legs to dial.

        A booking found more than `MISSED_AFTER` past its time (the platform was down) is not
        started late, when nobody expects the call: it is recorded as missed (cancelled)."""
        if self.status != BOOKED or self.start_at > now:
            return []
        if now - self.start_at > MISSED_AFTER:
            self.trigger_event(self.Cancelled, actor=actor, reason="missed")
            return []
        self.trigger_event(self.Fired, at=now, actor=actor)
        return [self._place(self.initiator, 1, None, now)]

    def _place(self, number: str, attempt: int, replaces: str | None, now: datetime) -> str:
        leg = self._next_leg()
        self.trigger_event(self.LegPlaced, leg=leg, number=number, attempt=attempt, replaces=replaces, at=now)
        return leg

    def _running(self) -> None:
        if self.status != RUNNING:
            raise ConferenceNotRunning(f"conference {self.conference_id} is {self.status}")

    def joined(self, leg: str, now: datetime) -> list[str]:
        """A leg answered. When it is the initiator's, every booked participant is called. Returns legs to dial.

        A leg that answers after the conference ended is refused (ConferenceNotRunning): the switch hangs it up."""
        self._running()
        if self.leg(leg)["status"] != PLACED:
            return []
        self.trigger_event(self.LegJoined, leg=leg, at=now)
        if self.legs[leg]["number"] != self.initiator:
            return []
        return [self._place(p, 1, None, now) for p in self.participants if not self.live_legs(p)]

    def failed(self, leg: str, cause: str, now: datetime) -> list[str]:
        """A leg was not answered (busy, no answer, unreachable): a retry is due later, or the
        initiator's last failure ends the conference. Returns the legs to cut. A failure reported after
        the conference ended changes nothing."""
        state = self.leg(leg)
        if self.status != RUNNING or state["status"] != PLACED:
            return []
        retry_at = now + timedelta(seconds=self.retry_interval) if state["attempt"] <= self.retries else None
        self.trigger_event(self.LegFailed, leg=leg, number=state["number"], cause=cause, at=now,
                           retry_at=retry_at)
        if retry_at is None and state["number"] == self.initiator:
            return self.end(now, "initiator_unreachable", "system:conference")
        return []

    def retry(self, leg: str, now: datetime) -> list[str]:
        """Place a failed leg again once its retry is due (at most once per failure). Returns legs to dial."""
        state = self.legs.get(leg)
        if (self.status != RUNNING or state is None or state["status"] != FAILED or state["retried"]
                or state["retry_at"] is None or state["retry_at"] > now):
            return []
        if state["number"] != self.initiator and state["number"] not in self.participants:
            return []  # dropped meanwhile
        if state["number"] == self.initiator and self.live_legs(self.initiator):
            return []
        return [self._place(state["number"], state["attempt"] + 1, leg, now)]

    def invite(self, number: str, actor: str, now: datetime) -> list[str]:
        """Call one more participant into a running conference. Returns the leg to dial."""
        self._running()
        if number == self.initiator:
            raise InvalidRequest("the initiator is already in the conference")
        if self.live_legs(number):
            raise InvalidRequest(f"{number} is already being called or in the conference")
        if number not in self.participants:
            if len(self.participants) >= MAX_PARTICIPANTS:
                raise InvalidRequest(f"a conference has at most {MAX_PARTICIPANTS} participants")
            self.trigger_event(self.ParticipantInvited, number=number, actor=actor)
        return [self._place(number, 1, None, now)]

    def drop(self, number: str, actor: str) -> list[str]:
        """Take a participant out. Returns the legs to cut."""
        self._running()
        if number not in self.participants:
            raise ParticipantNotFound(f"{number} is not a participant of conference {self.conference_id}")
        legs = self.live_legs(number)
        self.trigger_event(self.ParticipantDropped, number=number, legs=legs, actor=actor)
        return legs

    def hung_up(self, leg: str, cause: str, now: datetime) -> list[str]:
        """A leg hung up. The initiator's hangup ends the conference. Returns the legs to cut."""
        if self.status != RUNNING:
            return []
        state = self.leg(leg)
        if state["status"] not in LIVE:
            return []
        self.trigger_event(self.LegHungUp, leg=leg, cause=cause, at=now)
        if state["number"] == self.initiator:
            return self.end(now, "initiator_hung_up", "system:conference")
        return []

    def end(self, now: datetime, cause: str, actor: str) -> list[str]:
        self._running()
        cut = self.live_legs()
        self.trigger_event(self.Ended, at=now, cause=cause, cut=cut, actor=actor)
        return cut


def _set_leg(c: Conference, leg: str, **changes: Any) -> None:
    """Events replace the legs map and a leg's record whole, never mutate them (a cached copy stays intact)."""
    c.legs = {**c.legs, leg: {**c.legs[leg], **changes}}


class ConferenceNotFound(NotFound):
    code = "unknown_conference"


class LegNotFound(NotFound):
    code = "unknown_leg"


class ParticipantNotFound(NotFound):
    code = "unknown_participant"


class ConferenceNotCancellable(LedgerError):
    code = "conference_started"


class ConferenceNotRunning(LedgerError):
    code = "conference_not_running"
