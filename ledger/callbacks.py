"""Callback requests (回拨): one aggregate per call the subscriber made to the access number.

The id is derived from the switch's call id of that inbound call, so a
retried request collides instead of placing a second callback. The request
moves no money itself: its two legs are call sessions (`<id>-a` rings the
subscriber, `<id>-b` the destination) on the card's account, and their holds
and charges are the account's events. What this aggregate records is the
story an auditor reads: placed (or refused), bridged to a destination (or
failed), ended with what both legs charged.

Invariants: a request is either refused at once (no leg is ever placed) or
placed; a placed request is bridged at most once, and closed exactly once,
by `Failed` (no destination was bridged) or `Ended`. Every answer given to
the switch is recorded, so a retry gets the same answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import LedgerError, NotFound
from ledger.ids import derived_id

PLACED, REFUSED, BRIDGED, FAILED, ENDED = "placed", "refused", "bridged", "failed", "ended"


def callback_id(call_id: str) -> UUID:
    return derived_id("callback:" + call_id)


def leg_a(call_id: str) -> str:
    """The call id of the leg that rings the subscriber back."""
    return f"{call_id}-a"


def leg_b(call_id: str) -> str:
    """The call id of the leg to the destination the subscriber keyed."""
    return f"{call_id}-b"


class CallbackRequest(Aggregate):
    def __init__(self, call_id: str, request: str, subscriber: str, access_number: str,
                 account: str | None, answer: dict[str, Any]) -> None:
        self.call_id = call_id
        self.request = request
        self.subscriber = subscriber
        self.access_number = access_number
        self.account = account
        self.answer = answer
        self.status = PLACED
        self.setup_seconds = 0
        self.placed_at: datetime | None = None
        self.destination: str | None = None  # as normalised
        self.keyed: str | None = None  # as the subscriber keyed it
        self.bridge_answer: dict[str, Any] | None = None
        self.close_answer: dict[str, Any] | None = None
        self.failure: str | None = None  # why it failed, once it has

    class Placed(Aggregate.Created):
        """The access call was refused unanswered and leg A was handed to the dialer."""

        call_id: str
        request: str
        subscriber: str
        access_number: str
        account: str
        plan: str
        setup_seconds: int
        placed_at: datetime
        actor: str
        answer: dict[str, Any]

        def apply(self, request: CallbackRequest) -> None:
            request.setup_seconds = self.setup_seconds
            request.placed_at = self.placed_at

    @classmethod
    def place(cls, **fields: Any) -> CallbackRequest:
        return cls._create(cls.Placed, id=callback_id(fields["call_id"]), **fields)

    class Refused(Aggregate.Created):
        """No callback: the caller has no usable card, or it cannot pay for the call-back leg."""

        call_id: str
        request: str
        subscriber: str
        access_number: str
        account: str | None
        reason: str
        message: str
        refused_at: datetime
        actor: str
        answer: dict[str, Any]

        def apply(self, request: CallbackRequest) -> None:
            request.status = REFUSED

    @classmethod
    def refuse(cls, **fields: Any) -> CallbackRequest:
        return cls._create(cls.Refused, id=callback_id(fields["call_id"]), **fields)

    def _check_placed(self) -> None:
        if self.status == REFUSED:
            raise CallbackNotOpen(f"callback {self.call_id} was refused ({self.answer.get('reason')})")

    class Bridged(Aggregate.Event):
        """Both legs authorized together on the account: leg A for `setup_seconds` + `max_seconds`, leg B for
        `max_seconds`."""

        destination: str
        destination_e164: str
        leg_a: str
        leg_b: str
        max_seconds: int
        bridged_at: datetime
        actor: str
        answer: dict[str, Any]

        def apply(self, request: CallbackRequest) -> None:
            request.status = BRIDGED
            request.destination = self.destination_e164
            request.keyed = self.destination
            request.bridge_answer = self.answer

    def bridge(self, **fields: Any) -> None:
        self._check_placed()
        if self.status != PLACED:
            raise CallbackNotOpen(f"callback {self.call_id} is already {self.status}")
        self.trigger_event(self.Bridged, **fields)

    class Failed(Aggregate.Event):
        """Closed without a bridge: the destination was refused, or the subscriber keyed none."""

        reason: str
        message: str
        destination: str | None
        failed_at: datetime
        actor: str
        answer: dict[str, Any]

        def apply(self, request: CallbackRequest) -> None:
            request.status = FAILED
            request.failure = self.reason
            request.close_answer = self.answer

    def fail(self, **fields: Any) -> None:
        self._check_placed()
        if self.status != PLACED:
            raise CallbackNotOpen(f"callback {self.call_id} is already {self.status}")
        self.trigger_event(self.Failed, **fields)

    class Ended(Aggregate.Event):
        """Both legs are over: what each leg was charged, and the balance to announce."""

        account: str
        leg_a_charged: int
        leg_b_charged: int
        balance: int
        ended_at: datetime
        actor: str
        answer: dict[str, Any]

        def apply(self, request: CallbackRequest) -> None:
            request.status = ENDED
            request.close_answer = self.answer

    def end(self, **fields: Any) -> None:
        self._check_placed()
        if self.status != BRIDGED:
            raise CallbackNotOpen(f"callback {self.call_id} is {self.status}, not bridged")
        self.trigger_event(self.Ended, **fields)


class CallbackNotFound(NotFound):
    code = "unknown_callback"


class CallbackNotOpen(LedgerError):
    code = "callback_not_open"
