"""Outbound texts: each text the platform sends is an aggregate, from queued to delivered (or given up).

`OutboundSms` is queued with its recipient and body; every try to hand it
to the gateway is recorded *before* the gateway is called (`Attempted`), and
its outcome after (`Sent` with the gateway's id, or `Failed` with when to
try again). Delivery reports from the gateway follow (`Reported`).

Invariants:

* a text the gateway accepted is never handed to it again: `attempt` is
  refused once a `Sent` is recorded, and also while a try's outcome is
  unknown (`sending`: the process stopped between handing it over and
  recording the answer), since the gateway may have accepted it;
* two processes retrying the same text collide on this aggregate's version
  when they record `Attempted`, so only one of them calls the gateway;
* a failed try is retried after a backoff that doubles each time, up to
  `MAX_ATTEMPTS` tries; then the text is given up (`retry_at` None);
* a report of final delivery (delivered, undelivered) is recorded once;
  later reports for the same text change nothing.

`GatewayReference` maps a gateway's message id to our text, so a receipt
that names only the gateway's id (SMPP) finds its text after a restart.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidRequest, LedgerError, NotFound
from ledger.ids import derived_id

QUEUED, SENDING, SENT, FAILED, GIVEN_UP, DELIVERED, UNDELIVERED = (
    "queued", "sending", "sent", "failed", "given_up", "delivered", "undelivered")
STATES = (QUEUED, SENDING, SENT, FAILED, GIVEN_UP, DELIVERED, UNDELIVERED)
#: Tries before a text is given up.
MAX_ATTEMPTS = 6
#: Wait before the first retry; each later retry waits twice as long, at most `MAX_BACKOFF`.
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
#: Kannel's DLR mask values (SMPP receipts are mapped onto them): what each says about the text.
REPORTS = {1: DELIVERED, 2: UNDELIVERED, 4: "queued_on_smsc", 8: "accepted_by_smsc", 16: UNDELIVERED}
FINAL = (DELIVERED, UNDELIVERED)


def sms_id(message: str) -> Any:
    return derived_id("sms:" + message)


def reference_id(gateway: str, gateway_id: str) -> Any:
    return derived_id(f"sms-gateway:{gateway}:{gateway_id}")


def backoff(attempt: int) -> timedelta:
    """The wait after the `attempt`-th failed try (1-based): 30 s, 60 s, 120 s … at most an hour."""
    return min(FIRST_BACKOFF * (2 ** (attempt - 1)), MAX_BACKOFF)


class OutboundSms(Aggregate):
    class Queued(Aggregate.Created):
        message: str
        sender: str
        recipient: str
        body: str
        at: datetime
        actor: str

    def __init__(self, message: str, sender: str, recipient: str, body: str, at: datetime, actor: str) -> None:
        self.message = message
        self.sender = sender
        self.recipient = recipient
        self.body = body
        self.state = QUEUED
        self.attempts = 0
        self.gateway_id: str | None = None
        self.retry_at: datetime | None = None

    @classmethod
    def queue(cls, message: str, sender: str, recipient: str, body: str, at: datetime, actor: str) -> OutboundSms:
        return cls._create(cls.Queued, id=sms_id(message), message=message, sender=sender, recipient=recipient,
                           body=body, at=at, actor=actor)

    class Attempted(Aggregate.Event):
        attempt: int
        at: datetime

        def apply(self, sms: OutboundSms) -> None:
            sms.attempts = self.attempt
            sms.state = SENDING
            sms.retry_at = None

    class Sent(Aggregate.Event):
        attempt: int
        gateway: str
        gateway_id: str
        at: datetime

        def apply(self, sms: OutboundSms) -> None:
            if sms.state == SENDING:  # else a receipt that overtook the gateway's answer already moved it on
                sms.state = SENT
            sms.gateway_id = self.gateway_id

    class Failed(Aggregate.Event):
        attempt: int
        error: str
        #: When to try again; None: given up.
        retry_at: datetime | None
        at: datetime

        def apply(self, sms: OutboundSms) -> None:
            sms.state = FAILED if self.retry_at is not None else GIVEN_UP
            sms.retry_at = self.retry_at

    class Reported(Aggregate.Event):
        mask: int
        status: str
        at: datetime

        def apply(self, sms: OutboundSms) -> None:
            if self.status in FINAL:
                sms.state = self.status
            elif sms.state == SENDING:  # the receipt overtook the gateway's answer: it was accepted
                sms.state = SENT

    def may_try(self, now: datetime) -> bool:
        """Queued and never tried, or failed with its retry due."""
        return self.state == QUEUED or (self.state == FAILED and self.retry_at is not None and self.retry_at <= now)

    def attempt(self, now: datetime) -> int:
        if not self.may_try(now):
            raise NotRetryable(f"text {self.message} is {self.state}: not handed to the gateway again")
        self.trigger_event(self.Attempted, attempt=self.attempts + 1, at=now)
        return self.attempts

    def sent(self, gateway: str, gateway_id: str, now: datetime) -> None:
        if self.gateway_id is not None or self.state in (QUEUED, FAILED, GIVEN_UP):
            return
        self.trigger_event(self.Sent, attempt=self.attempts, gateway=gateway, gateway_id=gateway_id, at=now)

    def failed(self, error: str, now: datetime) -> None:
        if self.state != SENDING:
            return
        retry_at = now + backoff(self.attempts) if self.attempts < MAX_ATTEMPTS else None
        self.trigger_event(self.Failed, attempt=self.attempts, error=error[:200], retry_at=retry_at, at=now)

    def report(self, mask: int, now: datetime) -> bool:
        """Record a delivery report; False (nothing recorded) when the text's fate is already final."""
        if mask not in REPORTS:
            raise BadReport(f"unknown delivery report value {mask}")
        if self.state in FINAL:
            return False
        self.trigger_event(self.Reported, mask=mask, status=REPORTS[mask], at=now)
        return True

    def summary(self) -> dict[str, Any]:
        return {"message": self.message, "recipient": self.recipient, "state": self.state,
                "attempts": self.attempts, "gateway_id": self.gateway_id,
                "retry_at": self.retry_at.isoformat() if self.retry_at else None}


class GatewayReference(Aggregate):
    class Recorded(Aggregate.Created):
        gateway: str
        gateway_id: str
        message: str

    def __init__(self, gateway: str, gateway_id: str, message: str) -> None:
        self.gateway = gateway
        self.gateway_id = gateway_id
        self.message = message

    @classmethod
    def record(cls, gateway: str, gateway_id: str, message: str) -> GatewayReference:
        return cls._create(cls.Recorded, id=reference_id(gateway, gateway_id), gateway=gateway,
                           gateway_id=gateway_id, message=message)


class NotRetryable(LedgerError):
    code = "not_retryable"


class BadReport(InvalidRequest):
    pass


class SmsNotFound(NotFound):
    code = "unknown_sms"
