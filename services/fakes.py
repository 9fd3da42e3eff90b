"""In-memory implementations of the ports that record what they were asked (for tests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from services.ports import Origination, Text


class FixedClock:
    """A clock that stands still until it is moved."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("a business instant needs an offset")
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingDialer:
    def __init__(self) -> None:
        self.originated: list[Origination] = []

    def originate(self, call: Origination) -> None:
        self.originated.append(call)


class RecordingCallControl:
    def __init__(self) -> None:
        self.cuts: list[tuple[str, str]] = []

    def cut(self, call_id: str, reason: str) -> None:
        self.cuts.append((call_id, reason))


class RecordingSmsGateway:
    """Keeps what was sent; `receive` plays a text arriving from a phone."""

    def __init__(self, number: str = "10690000") -> None:
        self.number = number
        self.sent: list[Text] = []
        self._handlers: list[Callable[[Text], None]] = []

    def send(self, recipient: str, body: str) -> str:
        self.sent.append(Text(self.number, recipient, body))
        return f"fake-{len(self.sent)}"

    def subscribe(self, handler: Callable[[Text], None]) -> None:
        self._handlers.append(handler)

    def receive(self, sender: str, body: str, recipient: str | None = None) -> None:
        text = Text(sender, recipient or self.number, body)
        for handler in self._handlers:
            handler(text)

    def outbox(self) -> list[tuple[str, Text]]:
        """What was sent, with the message ids `send` returned."""
        return [(f"fake-{i}", text) for i, text in enumerate(self.sent, 1)]
