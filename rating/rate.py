"""The pure rating function and its inverse for real-time charging.

Rules, each a named function so a tariff dispute can point at one:

* `billable_seconds`: 0 stays 0; otherwise the call is rounded *up* to the
  first increment, then up to whole next increments (30/6: 31 s → 36 s);
* `minute_cost`: ``ceil(price_per_minute × seconds / 60)`` ten-thousandths —
  the operator never undercharges by a fraction of the smallest unit;
* `price_at`: the band covering the *answer* instant, read in the tariff's
  time zone, prices the *whole* call (no splitting at band edges); no band →
  the row's ``price_per_minute``;
* `rate_call`: an unanswered call (billsec 0) costs 0, with no connect fee;
  an answered one lists at ``minute_cost + connect_fee``, but at least
  ``minimum_charge``; a tariff discount on the row (`rating.discounts`, the
  largest that applies in the band in force) comes off that list price as
  its own line, rounded up, and the rest is the cost; free seconds (a
  monthly allowance, passed in) cover the first billable seconds, and the
  rest is priced as a call of that many billable seconds (connect fee and
  minimum charge included), then discounted.

Nothing here reads a clock or does I/O; all arithmetic is on ints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from rating.discounts import basis_points_for, discount_of, list_budget
from rating.tariffs import RateRow, RoutedCall, TariffPlan

MAX_CALL_SECONDS = 4 * 3600


@dataclass(frozen=True, slots=True)
class Charge:
    """The price of one call: ``cost`` in ten-thousandths, and how it was reached.

    ``cost`` is what is charged: ``list_cost - discount``.
    """

    cost: int
    billable_seconds: int
    price_per_minute: int
    band: str | None
    list_cost: int
    discount: int
    free_seconds: int = 0


class NoRate(LookupError):
    """The tariff has neither a prefix nor a category row for this destination."""


def billable_seconds(billsec: int, first_increment: int, next_increment: int) -> int:
    """Seconds charged for ``billsec`` seconds of talk: first block, then whole next blocks, up."""
    if billsec <= 0:
        return 0
    if billsec <= first_increment:
        return first_increment
    blocks = -(-(billsec - first_increment) // next_increment)
    return first_increment + blocks * next_increment


def minute_cost(price_per_minute: int, seconds: int) -> int:
    """``ceil(price_per_minute * seconds / 60)`` in integer arithmetic."""
    return -(-(price_per_minute * seconds) // 60)


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def price_at(row: RateRow, answered_at: datetime, tz: tzinfo | str) -> tuple[int, str | None]:
    """Price per minute and band name in force at ``answered_at`` (aware) read in ``tz``."""
    if answered_at.utcoffset() is None:
        raise ValueError("answered_at must be an aware datetime (UTC)")
    if not row.bands:
        return row.price_per_minute, None
    local = answered_at.astimezone(_zone(tz))
    weekday, minute = local.weekday(), local.hour * 60 + local.minute
    for band in row.bands:
        if band.covers(weekday, minute):
            return band.price_per_minute, band.name
    return row.price_per_minute, None


def _cost(row: RateRow, price: int, billable: int) -> int:
    if billable == 0:
        return 0
    return max(minute_cost(price, billable) + row.connect_fee, row.minimum_charge)


def rate_call(row: RateRow, billsec: int, answered_at: datetime, tz: tzinfo | str,
              free_seconds: int = 0) -> Charge:
    """Price a call of ``billsec`` talk seconds answered at ``answered_at``, ``free_seconds`` of it free at most."""
    if isinstance(billsec, bool) or not isinstance(billsec, int) or billsec < 0:
        raise ValueError(f"billsec must be a non-negative int, got {billsec!r}")
    if isinstance(free_seconds, bool) or not isinstance(free_seconds, int) or free_seconds < 0:
        raise ValueError(f"free_seconds must be a non-negative int, got {free_seconds!r}")
    price, band = price_at(row, answered_at, tz)
    billable = billable_seconds(billsec, row.first_increment, row.next_increment)
    listed = _cost(row, price, billable)
    free = min(free_seconds, billable)
    payable = _cost(row, price, billable - free) if free else listed
    off = discount_of(payable, basis_points_for(row.discounts, band)) if row.discounts else 0
    return Charge(payable - off, billable, price, band, listed, listed - payable + off, free)


def rate_destination(
    plan: TariffPlan, destination: RoutedCall, billsec: int, answered_at: datetime
) -> Charge:
    """Find the row for ``destination`` in ``plan`` and rate the call in the plan's zone."""
    row = plan.find_rate(destination)
    if row is None:
        raise NoRate(f"tariff {plan.name!r} v{plan.version} has no rate for {destination.e164}")
    return rate_call(row, billsec, answered_at, plan.zone)


def max_seconds_for(
    row: RateRow,
    available: int,
    answered_at: datetime,
    tz: tzinfo | str,
    cap: int = MAX_CALL_SECONDS,
) -> int:
    """The longest call ``available`` pays for, at most ``cap`` seconds.

    Exactly consistent with `rate_call` at the same instant: the result ``s``
    satisfies ``rate_call(s).cost <= available`` and, unless ``s == cap``,
    ``rate_call(s + 1).cost > available``. It is 0 when even the first
    increment (with connect fee and minimum charge) is unaffordable.
    """
    if cap < 0:
        raise ValueError(f"cap must be non-negative, got {cap}")
    price, band = price_at(row, answered_at, tz)
    if row.discounts:  # what `available` pays after the discount, as a list price
        budget = list_budget(available, basis_points_for(row.discounts, band))
        if budget is None:
            return cap  # 100 % off: every length is free
        available = budget
    first, step = row.first_increment, row.next_increment
    if cap == 0 or _cost(row, price, first) > available:
        return 0
    if price == 0:
        return cap  # every length costs the same as the first increment
    # minute_cost(price, b) <= budget  ⇔  price * b <= 60 * budget  (ceil of an int ratio)
    budget = available - row.connect_fee
    longest = (60 * budget) // price
    blocks = (longest - first) // step
    return min(first + blocks * step, cap)


__all__ = [
    "MAX_CALL_SECONDS",
    "Charge",
    "NoRate",
    "billable_seconds",
    "max_seconds_for",
    "minute_cost",
    "price_at",
    "rate_call",
    "rate_destination",
]
