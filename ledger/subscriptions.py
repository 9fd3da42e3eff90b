"""Recurring fees: one subscription per account and service (monthly rent, or a lease by the day or month).

The id is derived from the account and the service name, so subscribing
twice collides instead of opening a twin. The fee itself is a debit of the
account (`Account.Debited` to the service's fee revenue); this aggregate
records which period each debit paid.

Invariants:

* a period is charged at most once: `FeeCharged` names the period and
  moves `next_period` past it, and two processes charging the same period
  collide on this aggregate's version, so the loser sees it charged;
* a fee is charged whole or not at all: a fee the available balance cannot
  pay is recorded as unpaid (`FeeUnpaid`), the subscription is suspended
  and the fee becomes arrears; nothing is billed while suspended;
* a suspended subscription resumes (`Resumed`) only by paying all its
  arrears at once; its next period is then the one the resumption falls in,
  unless that one is already paid;
* a lease with a term ends after its last paid period; a cancelled or ended
  subscription is never charged again (its arrears stay shown).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate

from ledger import house
from ledger.errors import InvalidRequest, LedgerError, NotFound
from ledger.fee_periods import PERIODS, next_period, period_of, period_start
from ledger.ids import derived_id
from ledger.money import MAX_AMOUNT, money_text

ACTIVE, SUSPENDED, CANCELLED, ENDED = "active", "suspended", "cancelled", "ended"
#: `missed_call_off`, `missed_call_busy`, `lease:pbx-line-1`: a lower-case name, and for a lease its item.
SERVICE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}(:[a-z0-9][a-z0-9_-]{0,31})?")
MAX_TERM = 1200


def subscription_id(account: str, service: str) -> Any:
    return derived_id(f"subscription:{account}:{service}")


def fee_revenue(service: str) -> str:
    """The house account a service's fees are earned in, e.g. `house:revenue:fees:missed_call_off`."""
    return house.revenue("fees", service)


def check_terms(service: Any, fee: Any, period: Any, anchor_day: Any, term: Any, tz: Any) -> None:
    """Refuse terms no subscription can be charged on (InvalidRequest); record nothing."""
    if not isinstance(service, str) or not SERVICE_NAME.fullmatch(service):
        raise InvalidRequest("a service is a lower-case name such as missed_call_off, or lease:<item>")
    if isinstance(fee, bool) or not isinstance(fee, int) or not 0 < fee <= MAX_AMOUNT:
        raise InvalidRequest(f"a fee is more than 0.00 and at most {money_text(MAX_AMOUNT)}")
    if period not in PERIODS:
        raise InvalidRequest(f"a fee period is one of {', '.join(PERIODS)}")
    if isinstance(anchor_day, bool) or not isinstance(anchor_day, int) or not 1 <= anchor_day <= 31:
        raise InvalidRequest("the anchor day is a day of the month, 1 to 31")
    if isinstance(term, bool) or not isinstance(term, int) or not 0 <= term <= MAX_TERM:
        raise InvalidRequest(f"a term is 0 (until cancelled) to {MAX_TERM} periods")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidRequest(f"unknown time zone {tz!r}") from None


class Subscription(Aggregate):
    class Subscribed(Aggregate.Created):
        account: str
        service: str
        fee: int
        period: str
        anchor_day: int
        term: int
        tz: str
        first_period: str
        actor: str

    def __init__(self, account: str, service: str, fee: int, period: str, anchor_day: int, term: int, tz: str,
                 first_period: str, actor: str) -> None:
        self.account = account
        self.service = service
        self.fee = fee
        self.period = period
        self.anchor_day = anchor_day
        self.term = term
        self.tz = tz
        self.status = ACTIVE
        self.next_period = first_period
        self.paid_periods = 0
        self.arrears = 0
        self.unpaid: list[str] = []

    @classmethod
    def subscribe(cls, account: str, service: str, fee: int, period: str, anchor_day: int, term: int, tz: str,
                  now: datetime, actor: str) -> Subscription:
        """The first period is the one `now` falls in: it is due at once."""
        check_terms(service, fee, period, anchor_day, term, tz)
        first = period_of(period, now, anchor_day, tz)
        return cls._create(cls.Subscribed, id=subscription_id(account, service), account=account, service=service,
                           fee=fee, period=period, anchor_day=anchor_day, term=term, tz=tz, first_period=first,
                           actor=actor)

    # --- queries -----------------------------------------------------------------

    def due_at(self) -> datetime | None:
        """When the next fee is due; None when nothing will be billed (suspended, cancelled, ended)."""
        if self.status != ACTIVE:
            return None
        return period_start(self.period, self.next_period, self.anchor_day, self.tz)

    def is_due(self, now: datetime) -> bool:
        due = self.due_at()
        return due is not None and due <= now

    def term_over(self) -> bool:
        return self.term > 0 and self.paid_periods >= self.term

    @property
    def revenue_account(self) -> str:
        return fee_revenue(self.service)

    # --- events ------------------------------------------------------------------

    class FeeCharged(Aggregate.Event):
        """The period's fee was debited from the account (its posting is on `Account.Debited`)."""

        period: str
        amount: int
        at: datetime

        def apply(self, s: Subscription) -> None:
            s.next_period = next_period(s.period, self.period)
            s.paid_periods += 1

    class FeeUnpaid(Aggregate.Event):
        """The available balance could not pay the period's fee: nothing was debited, the subscription is
        suspended and the fee is owed."""

        period: str
        amount: int
        available: int
        at: datetime

        def apply(self, s: Subscription) -> None:
            s.status = SUSPENDED
            s.arrears += self.amount
            s.unpaid = [*s.unpaid, self.period]
            s.next_period = next_period(s.period, self.period)

    class Resumed(Aggregate.Event):
        """The arrears were debited from the account in one payment; billing goes on from `next`."""

        paid: int
        periods: list[str]
        next: str
        at: datetime
        actor: str

        def apply(self, s: Subscription) -> None:
            s.status = ACTIVE
            s.paid_periods += len(self.periods)
            s.arrears = 0
            s.unpaid = []
            s.next_period = self.next

    class Cancelled(Aggregate.Event):
        at: datetime
        actor: str
        reason: str

        def apply(self, s: Subscription) -> None:
            s.status = CANCELLED

    class Ended(Aggregate.Event):
        """A lease's last period was paid and its term has run out."""

        at: datetime

        def apply(self, s: Subscription) -> None:
            s.status = ENDED

    # --- commands ----------------------------------------------------------------

    def charge(self, available: int, now: datetime) -> str | None:
        """Bill the next period if it has begun: `charged` (the caller debits the fee in the same unit of
        work), `unpaid` (suspended, the fee owed), `ended` (a lease whose term ran out), or None (nothing due)."""
        if not self.is_due(now):
            return None
        if self.term_over():
            self.trigger_event(self.Ended, at=now)
            return "ended"
        if self.fee > available:
            self.trigger_event(self.FeeUnpaid, period=self.next_period, amount=self.fee, available=available, at=now)
            return "unpaid"
        self.trigger_event(self.FeeCharged, period=self.next_period, amount=self.fee, at=now)
        return "charged"

    def resume(self, available: int, now: datetime, actor: str) -> int:
        """Pay the arrears whole and resume; returns the amount the caller debits.

        Raises NotSuspended, or ArrearsUnpaid when the available balance cannot pay them all."""
        if self.status != SUSPENDED:
            raise NotSuspended(f"subscription {self.account}/{self.service} is {self.status}")
        if self.arrears > available:
            raise ArrearsUnpaid(f"subscription {self.account}/{self.service} owes {money_text(self.arrears)};"
                                f" {money_text(available)} is available")
        current = period_of(self.period, now, self.anchor_day, self.tz)
        upcoming = max(current, self.next_period)  # keys of one kind sort as their periods do
        paid = self.arrears
        self.trigger_event(self.Resumed, paid=paid, periods=list(self.unpaid), next=upcoming, at=now, actor=actor)
        return paid

    def cancel(self, now: datetime, actor: str, reason: str) -> None:
        if self.status in (CANCELLED, ENDED):
            raise SubscriptionClosed(f"subscription {self.account}/{self.service} is already {self.status}")
        self.trigger_event(self.Cancelled, at=now, actor=actor, reason=reason)

    def summary(self) -> dict[str, Any]:
        return {"account": self.account, "service": self.service, "fee": self.fee, "period": self.period,
                "anchor_day": self.anchor_day, "term": self.term, "status": self.status,
                "next_period": self.next_period, "due_at": self.due_at(), "paid_periods": self.paid_periods,
                "arrears": self.arrears, "unpaid_periods": list(self.unpaid)}


class SubscriptionNotFound(NotFound):
    code = "unknown_subscription"


class SubscriptionExists(LedgerError):
    code = "subscription_exists"


class SubscriptionClosed(LedgerError):
    code = "subscription_closed"


class NotSuspended(LedgerError):
    code = "subscription_not_suspended"


class ArrearsUnpaid(LedgerError):
    code = "insufficient_funds"
