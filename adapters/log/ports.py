"""`services.ports` implemented by a log line each: nothing is dialled, cut or sent."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable

import structlog

from services.ports import Origination, Text

log = structlog.get_logger("ringledger.ports")


class LoggingDialer:
    def originate(self, call: Origination) -> None:
        log.info("dialer_originate", call_id=call.call_id, caller=call.caller, callee=call.callee,
                 max_seconds=call.max_seconds, conference_id=call.conference_id)


class LoggingCallControl:
    def cut(self, call_id: str, reason: str) -> None:
        log.info("call_control_cut", call_id=call_id, reason=reason)


class LoggingSmsGateway:
    """Logs each text sent (its length, not its body: a text may carry a PIN), and keeps the last
    `keep` sent in memory for `GET /v1/sms/outbox`; `receive` plays a text arriving from a phone
    (`POST /v1/sms/inbound`)."""

    def __init__(self, number: str = "10690000", keep: int = 1000) -> None:
        self.number = number
        self._ids = itertools.count(1)
        self._handlers: list[Callable[[Text], None]] = []
        self._outbox: deque[tuple[str, Text]] = deque(maxlen=keep)

    def send(self, recipient: str, body: str) -> str:
        message_id = f"log-{next(self._ids)}"
        self._outbox.append((message_id, Text(self.number, recipient, body)))
        log.info("sms_send", recipient=recipient, chars=len(body), message_id=message_id)
        return message_id

    def subscribe(self, handler: Callable[[Text], None]) -> None:
        self._handlers.append(handler)

    def receive(self, sender: str, body: str, recipient: str | None = None) -> None:
        log.info("sms_receive", sender=sender, chars=len(body))
        text = Text(sender, recipient or self.number, body)
        for handler in self._handlers:
            handler(text)

    def outbox(self) -> list[tuple[str, Text]]:
        """The texts sent (at most the last `keep`), oldest first, with their message ids."""
        return list(self._outbox)
