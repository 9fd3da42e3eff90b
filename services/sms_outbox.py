"""Every text sent through a real gateway is recorded: queued, each try, sent, failed, delivered.

`SmsOutbox` is itself an `SmsGateway`: it wraps the adapter (Kannel, SMPP),
so the services that text (SMS command replies, phone-bar alerts …) keep
calling `send` and get our message id back, whatever the gateway does.

Guarantees:

* a text is recorded (`OutboundSms.Queued`) before the gateway sees it;
  when the store cannot record it, `send` raises and nothing is sent;
* each try is recorded before the gateway is called, and only one process
  gets to record it, so a text the gateway accepted is never sent twice,
  however often or wherever `retry` runs;
* a text the gateway refused (or could not be reached for) is not lost:
  it waits with its `retry_at` for `retry` (the scheduler's job), with a
  backoff that doubles up to an hour, and is given up after six tries;
* delivery reports are recorded on their text as events; a report for a
  text we never sent is refused (`SmsNotFound`) and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import structlog

from ledger.application import Ledger
from ledger.outbound_sms import GatewayReference, NotRetryable, OutboundSms, SmsNotFound, reference_id, sms_id
from ledger.unit_of_work import UnitOfWork
from services.ports import DeliveryReport, Text, TracksDelivery

log = structlog.get_logger("ringledger.sms")
SYSTEM = "system:sms"
MESSAGE_ID = "sms-"  # followed by 32 hex digits


def is_message_id(value: str) -> bool:
    rest = value.removeprefix(MESSAGE_ID)
    return value.startswith(MESSAGE_ID) and len(rest) == 32 and all(c in "0123456789abcdef" for c in rest)


class SmsOutbox:
    def __init__(self, ledger: Ledger, gateway: TracksDelivery, clock: Callable[[], datetime],
                 sender: str = "") -> None:
        self.ledger = ledger
        self.gateway = gateway
        self.clock = clock
        self.sender = sender
        gateway.subscribe_reports(self.on_report)

    # --- SmsGateway --------------------------------------------------------------

    def send(self, recipient: str, body: str) -> str:
        """Record the text, then hand it to the gateway; returns our message id (`sms-<hex>`) either way."""
        message = MESSAGE_ID + uuid.uuid4().hex
        now = self.clock()

        def queue(uow: UnitOfWork) -> dict[str, Any]:
            uow.add(OutboundSms.queue(message, self.sender, recipient, body, now, SYSTEM))
            return {}

        self.ledger.execute(queue)
        self.deliver(message)
        return message

    def subscribe(self, handler: Callable[[Text], None]) -> None:
        gateway: Any = self.gateway
        gateway.subscribe(handler)

    # --- trying and retrying -------------------------------------------------------

    def _sms(self, uow: UnitOfWork, message: str) -> OutboundSms:
        return uow.get(sms_id(message), OutboundSms, lambda: SmsNotFound(f"no text {message}"))

    def deliver(self, message: str) -> dict[str, Any]:
        """One try of `message` if it may be tried now; its summary after. Never raises for the gateway's sake."""
        now = self.clock()

        def start(uow: UnitOfWork) -> dict[str, Any]:
            sms = self._sms(uow, message)
            sms.attempt(now)
            return {"recipient": sms.recipient, "body": sms.body, "attempt": sms.attempts}

        try:
            job = self.ledger.execute(start)
        except NotRetryable:
            return self.state(message)
        try:
            gateway_id = self.gateway.send_tracked(job["recipient"], job["body"], message)
        except Exception as err:  # the gateway refused or could not be reached: recorded, retried later
            if getattr(err, "maybe_sent", False):  # handed over, unanswered: left `sending`, never sent again
                log.error("sms_send_unconfirmed", message=message, attempt=job["attempt"], error=str(err)[:200])
                return self.state(message)
            log.warning("sms_send_failed", message=message, attempt=job["attempt"], error=type(err).__name__)
            return self._record(message, lambda sms, uow: sms.failed(f"{type(err).__name__}: {err}", self.clock()))

        def sent(sms: OutboundSms, uow: UnitOfWork) -> None:
            sms.sent(self.gateway.name, gateway_id, self.clock())
            if uow.find(reference_id(self.gateway.name, gateway_id), GatewayReference) is None:
                uow.add(GatewayReference.record(self.gateway.name, gateway_id, message))

        log.info("sms_sent", message=message, attempt=job["attempt"], chars=len(job["body"]))
        return self._record(message, sent)

    def _record(self, message: str, change: Callable[[OutboundSms, UnitOfWork], None]) -> dict[str, Any]:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            sms = self._sms(uow, message)
            change(sms, uow)
            return sms.summary()

        return self.ledger.execute(command)

    def retry(self, messages: Iterable[str]) -> list[dict[str, Any]]:
        """Try again each of `messages` whose retry is due (the others are left as they are)."""
        done = []
        for message in messages:
            try:
                done.append(self.deliver(message))
            except SmsNotFound:
                log.warning("sms_retry_unknown", message=message)
        return done

    # --- reports -------------------------------------------------------------------

    def on_report(self, report: DeliveryReport) -> dict[str, Any]:
        """Record a delivery report on its text (found by our id, else by the gateway's id)."""
        now = self.clock()
        message = report.reference
        if message is None and report.gateway_id is not None:
            self.ledger.fresh()
            ref = UnitOfWork(self.ledger).find(reference_id(self.gateway.name, report.gateway_id), GatewayReference)
            message = ref.message if ref is not None else None
        if message is None or not is_message_id(message):
            raise SmsNotFound(f"no text for the report {report.reference or report.gateway_id!r}")

        def command(uow: UnitOfWork) -> dict[str, Any]:
            sms = self._sms(uow, message)
            recorded = sms.report(report.mask, now)
            return {**sms.summary(), "recorded": recorded}

        return self.ledger.execute(command)

    def state(self, message: str) -> dict[str, Any]:
        self.ledger.fresh()
        sms = UnitOfWork(self.ledger).find(sms_id(message), OutboundSms)
        if sms is None:
            raise SmsNotFound(f"no text {message}")
        return sms.summary()
