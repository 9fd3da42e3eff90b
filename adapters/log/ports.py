"""`services.ports` implemented by a log line each: nothing is dialled, cut or sent."""

from __future__ import annotations

import itertools
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
    """Logs each text sent (its length, not its body: a text may carry a PIN); receives nothing."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._handlers: list[Callable[[Text], None]] = []

    def send(self, recipient: str, body: str) -> str:
        message_id = f"log-{next(self._ids)}"
        log.info("sms_send", recipient=recipient, chars=len(body), message_id=message_id)
        return message_id

    def subscribe(self, handler: Callable[[Text], None]) -> None:
        self._handlers.append(handler)
