"""Tariff discounts in rating: list price, discount and charge; the hold's inverse stays exact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.discounts import PercentOff, basis_points_for, discount_of
from rating.rate import MAX_CALL_SECONDS, max_seconds_for, rate_call
from rating.tariffs import RateRow
from tests.unit.test_rating import BANDED, DAY, NIGHT, NOON_BEIJING, SHANGHAI, beijing, row


def test_ten_percent_off_is_its_own_line_and_rounds_for_the_customer():
    r = row(price_per_minute=3333, discounts=(PercentOff(1000),))
    charge = rate_call(r, 60, NOON_BEIJING, SHANGHAI)
    # list 0.3333, 10 % is 0.03333 rounded up to 0.0334, the charge 0.2999 (rounded down).
    assert (charge.list_cost, charge.discount, charge.cost) == (3333, 334, 2999)


def test_a_band_discount_applies_only_in_that_band_and_the_largest_rule_wins():
    r = RateRow(**{**BANDED.to_dict(), "bands": (NIGHT, DAY),
                   "discounts": (PercentOff(500), PercentOff(5000, band="offpeak"))})
    night = rate_call(r, 60, beijing(2024, 3, 4, 23, 0), SHANGHAI)
    day = rate_call(r, 60, beijing(2024, 3, 4, 12, 0), SHANGHAI)
    assert (night.list_cost, night.discount, night.cost) == (3000, 1500, 1500)
    assert (day.list_cost, day.discount, day.cost) == (6000, 300, 5700)


def test_rules_match_by_band_and_a_full_discount_makes_every_length_free():
    assert basis_points_for((PercentOff(100, band="peak"),), "offpeak") == 0
    free = row(discounts=(PercentOff(10_000),))
    assert rate_call(free, 600, NOON_BEIJING, SHANGHAI).cost == 0
    assert max_seconds_for(free, 0, NOON_BEIJING, SHANGHAI) == MAX_CALL_SECONDS


def test_a_row_without_discounts_lists_at_its_cost():
    charge = rate_call(row(), 60, NOON_BEIJING, SHANGHAI)
    assert (charge.list_cost, charge.discount, charge.cost) == (6000, 0, 6000)
    assert "discounts" not in row().to_dict()  # stored rates of earlier calls read the same


def test_a_discounted_row_round_trips_through_its_stored_form():
    r = row(discounts=(PercentOff(2500, category="national", band="peak"),))
    assert RateRow.from_dict(r.to_dict()) == r


@pytest.mark.parametrize("bp", [0, -1, 10_001, True])
def test_a_discount_outside_0_01_to_100_percent_is_refused(bp):
    with pytest.raises(ValueError):
        PercentOff(bp)


def test_discount_rounding_is_up():
    assert discount_of(1, 1) == 1 and discount_of(0, 5000) == 0 and discount_of(10_000, 1000) == 1000


@given(
    price=st.integers(0, 200_000),
    fee=st.integers(0, 5_000),
    minimum=st.integers(0, 20_000),
    first=st.sampled_from([1, 6, 30, 60]),
    step=st.sampled_from([1, 6, 30, 60]),
    bp=st.integers(1, 10_000),
    available=st.integers(0, 5_000_000),
    cap=st.integers(0, MAX_CALL_SECONDS),
)
def test_max_seconds_is_exactly_the_longest_affordable_discounted_call(price, fee, minimum, first, step, bp,
                                                                      available, cap):
    r = row(price_per_minute=price, connect_fee=fee, minimum_charge=minimum, first_increment=first,
            next_increment=step, discounts=(PercentOff(bp),))
    at = datetime(2024, 3, 4, 4, 0, tzinfo=UTC)
    seconds = max_seconds_for(r, available, at, SHANGHAI, cap=cap)
    assert 0 <= seconds <= cap
    assert rate_call(r, seconds, at, SHANGHAI).cost <= available
    if seconds < cap:
        assert rate_call(r, seconds + 1, at, SHANGHAI).cost > available


def test_free_seconds_cover_the_first_billable_seconds_and_count_as_discount():
    r = row(price_per_minute=1_0000, first_increment=60, next_increment=60, connect_fee=1000)
    whole = rate_call(r, 90, NOON_BEIJING, SHANGHAI, free_seconds=300)
    assert (whole.list_cost, whole.discount, whole.cost, whole.free_seconds) == (2_1000, 2_1000, 0, 120)
    part = rate_call(r, 150, NOON_BEIJING, SHANGHAI, free_seconds=60)
    # 180 billable, 60 free: the other 120 s are priced as a call (2.00 + 0.10 connect fee).
    assert (part.list_cost, part.discount, part.cost, part.free_seconds) == (3_1000, 1_0000, 2_1000, 60)


def test_free_seconds_then_a_percentage_on_what_is_left():
    r = row(price_per_minute=1_0000, discounts=(PercentOff(1000),))
    charge = rate_call(r, 180, NOON_BEIJING, SHANGHAI, free_seconds=60)
    assert (charge.list_cost, charge.discount, charge.cost) == (3_0000, 1_2000, 1_8000)


@given(billsec=st.integers(0, 20_000), free=st.integers(0, 20_000), bp=st.integers(0, 10_000))
def test_free_seconds_never_charge_more_than_without_them(billsec, free, bp):
    rules = (PercentOff(bp),) if bp else ()
    r = row(price_per_minute=7777, first_increment=30, next_increment=6, connect_fee=500, minimum_charge=900,
            discounts=rules)
    with_free = rate_call(r, billsec, NOON_BEIJING, SHANGHAI, free_seconds=free)
    without = rate_call(r, billsec, NOON_BEIJING, SHANGHAI)
    assert 0 <= with_free.cost <= without.cost
    assert with_free.list_cost - with_free.discount == with_free.cost
