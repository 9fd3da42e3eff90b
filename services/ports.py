"""What the services need from the outside world, as ports an adapter implements.

A service takes these as plain arguments; the composition root (`ringledger`)
chooses the implementation: the switch and SMS adapters in production, the
logging ones in `adapters.log` for `make run`, the recording fakes in
`services.fakes` in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Business time: now, as an aware instant (`services.clock` builds the real ones)."""

    def __call__(self) -> datetime: ...


@dataclass(frozen=True)
class Origination:
    """A call the switch is asked to place: `caller` rings first, then `callee` (callback service).

    With `conference_id`, the switch rings `callee` and joins it to that conference's bridge,
    showing `caller` (the initiator) as the calling number.
    """

    call_id: str
    caller: str
    callee: str
    max_seconds: int
    conference_id: str | None = None


@runtime_checkable
class Dialer(Protocol):
    """Asks the switch to originate a call."""

    def originate(self, call: Origination) -> None: ...


@runtime_checkable
class CallControl(Protocol):
    """Asks the switch to cut a call in progress (its money ran out, it was blacklisted, it expired)."""

    def cut(self, call_id: str, reason: str) -> None: ...


@runtime_checkable
class GrantFollower(Protocol):
    """A `CallControl` that also keeps the switch's own limit in step with the grant (Asterisk's
    `TIMEOUT(absolute)`): told, after the commit that recorded it, that a call's grant grew to
    `granted_seconds`, `elapsed_seconds` into the call."""

    def extended(self, call_id: str, granted_seconds: int, elapsed_seconds: int) -> None: ...


@dataclass(frozen=True)
class Text:
    """One SMS: who sent it, to whom, what it says."""

    sender: str
    recipient: str
    body: str


@runtime_checkable
class SmsGateway(Protocol):
    """Sends a text, and hands every text it receives to the handlers subscribed to it."""

    def send(self, recipient: str, body: str) -> str:
        """Queue `body` for `recipient`; returns the gateway's message id."""
        ...

    def subscribe(self, handler: Callable[[Text], None]) -> None: ...


@dataclass(frozen=True)
class DeliveryReport:
    """What a gateway learnt about a text it accepted: `mask` in Kannel's DLR values (1 delivered,
    2 undelivered, 4 queued on the SMSC, 8 accepted by the SMSC, 16 rejected by the SMSC)."""

    #: Our message id, when the gateway carries it back (Kannel's dlr-url); else None.
    reference: str | None
    #: The gateway's own id for the text (an SMSC's message_id), when it gives one.
    gateway_id: str | None
    mask: int


@runtime_checkable
class TracksDelivery(Protocol):
    """A gateway that sends under our message id and reports what became of each text."""

    #: Names the gateway in events (`kannel`, `smpp`).
    name: str

    def send_tracked(self, recipient: str, body: str, reference: str) -> str:
        """Hand `body` over, to be reported under `reference`; returns the gateway's id. Raises when refused."""
        ...

    def subscribe_reports(self, handler: Callable[[DeliveryReport], None]) -> None: ...

    def health(self) -> dict[str, object]:
        """`up` (bool) and what an operator needs to see why not."""
        ...


@dataclass(frozen=True)
class Ports:
    """The outside world as one process sees it (the container holds one)."""

    dialer: Dialer
    call_control: CallControl
    sms: SmsGateway
