"""Free minutes used by one account in one calendar month: one `FreeUsage` aggregate per (account, month).

The month is read in the tariff's time zone (the operator's by default) at the
instant a call is rated. Each ended call that used free seconds records them
once (`Used`, keyed by call id); what is left for the month is the tariff's
allowance minus `used_seconds`. Saved in the same transaction as the call's
charge, so two calls ending at once cannot both spend the same free seconds
(the second save collides and is retried against the first).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from ledger.ids import derived_id


def month_of(at: datetime, tz: str) -> str:
    """``"2026-12"``: the calendar month of ``at`` read in ``tz``."""
    zone: tzinfo = ZoneInfo(tz)
    return at.astimezone(zone).strftime("%Y-%m")


def free_usage_id(account: str, month: str) -> UUID:
    return derived_id(f"free_usage:{account}:{month}")


class FreeUsage(Aggregate):
    class Opened(Aggregate.Created):
        account: str
        month: str

    def __init__(self, account: str, month: str) -> None:
        self.account = account
        self.month = month
        self.used_seconds = 0
        self.calls: dict[str, int] = {}

    @classmethod
    def open(cls, account: str, month: str) -> FreeUsage:
        return cls._create(cls.Opened, id=free_usage_id(account, month), account=account, month=month)

    class Used(Aggregate.Event):
        call_id: str
        seconds: int
        actor: str

        def apply(self, usage: FreeUsage) -> None:
            usage.used_seconds += self.seconds
            usage.calls[self.call_id] = self.seconds

    def use(self, call_id: str, seconds: int, actor: str) -> None:
        """Record the free seconds a call used (once per call; 0 records nothing)."""
        if seconds > 0 and call_id not in self.calls:
            self.trigger_event(self.Used, call_id=call_id, seconds=seconds, actor=actor)


