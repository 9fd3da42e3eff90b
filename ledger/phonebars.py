"""A phone bar's roster of booths and its low-deposit alert.

One `PhoneBar` per bar account (id derived from the number). The roster says
whether the bar has booths defined at all: a bar without one keeps the old
behaviour (any booth name on a call, no permissions).

Alert guarantees: when a charge takes the deposit from at or above the
owner's threshold to below it, one `LowDepositAlerted` is recorded in the
same transaction as the charge, so it is never lost; no other charge records
one until the deposit has been at or above the threshold again (one alert
per crossing). `AlertSent` marks it delivered to the SMS gateway, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidRequest, LedgerError
from ledger.ids import derived_id


def phonebar_id(bar: str) -> Any:
    return derived_id("phonebar:" + bar)


class PhoneBar(Aggregate):
    class Registered(Aggregate.Created):
        bar: str

    def __init__(self, bar: str) -> None:
        self.bar = bar
        self.booths: list[str] = []
        self.threshold: int | None = None
        self.phone: str | None = None
        self.alerts = 0
        self.unsent: dict[int, dict[str, Any]] = {}

    @classmethod
    def register(cls, bar: str) -> PhoneBar:
        return cls._create(cls.Registered, id=phonebar_id(bar), bar=bar)

    class BoothListed(Aggregate.Event):
        name: str

        def apply(self, bar: PhoneBar) -> None:
            bar.booths = sorted({*bar.booths, self.name})

    class BoothUnlisted(Aggregate.Event):
        name: str

        def apply(self, bar: PhoneBar) -> None:
            bar.booths = [b for b in bar.booths if b != self.name]

    def list_booth(self, name: str) -> None:
        if name not in self.booths:
            self.trigger_event(self.BoothListed, name=name)

    def unlist_booth(self, name: str) -> None:
        if name in self.booths:
            self.trigger_event(self.BoothUnlisted, name=name)

    class AlertSet(Aggregate.Event):
        threshold: int | None
        phone: str | None
        actor: str

        def apply(self, bar: PhoneBar) -> None:
            bar.threshold, bar.phone = self.threshold, self.phone

    def set_alert(self, threshold: int | None, phone: str | None, actor: str) -> None:
        if (threshold is None) != (phone is None):
            raise InvalidRequest("a low-deposit alert needs both a threshold and a phone (or neither, to turn it off)")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int) or threshold <= 0):
            raise InvalidRequest("an alert threshold is an amount above zero")
        self.trigger_event(self.AlertSet, threshold=threshold, phone=phone, actor=actor)

    class LowDepositAlerted(Aggregate.Event):
        alert: int
        phone: str
        body: str
        balance: int
        threshold: int
        alerted_at: datetime

        def apply(self, bar: PhoneBar) -> None:
            bar.alerts = self.alert
            bar.unsent = {**bar.unsent, self.alert: {"phone": self.phone, "body": self.body}}

    def note_balance(self, before: int, after: int, at: datetime, body: str) -> bool:
        """Record an alert if this change crossed the threshold downwards; True if it did."""
        if self.threshold is None or self.phone is None or not (after < self.threshold <= before):
            return False
        self.trigger_event(self.LowDepositAlerted, alert=self.alerts + 1, phone=self.phone, body=body,
                           balance=after, threshold=self.threshold, alerted_at=at)
        return True

    class AlertSent(Aggregate.Event):
        alert: int
        message_id: str
        sent_at: datetime

        def apply(self, bar: PhoneBar) -> None:
            bar.unsent = {k: v for k, v in bar.unsent.items() if k != self.alert}

    def mark_sent(self, alert: int, message_id: str, at: datetime) -> None:
        if alert not in self.unsent:
            raise AlertAlreadySent(f"alert {alert} of bar {self.bar} is not waiting to be sent")
        self.trigger_event(self.AlertSent, alert=alert, message_id=message_id, sent_at=at)


class AlertAlreadySent(LedgerError):
    code = "alert_already_sent"
