"""Rounding rules of rating, as properties over every price, increment and length."""

import math
from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from rating.rate import billable_seconds, minute_cost, rate_call
from rating.tariffs import RateRow

NOON_BEIJING = datetime(2024, 3, 4, 4, 0, tzinfo=UTC)
INCREMENTS = st.sampled_from([1, 6, 10, 30, 60])


@given(first=INCREMENTS, step=INCREMENTS, billsec=st.integers(1, 20_000))
def test_billable_seconds_cover_the_call_in_whole_increments_and_never_a_whole_step_more(first, step, billsec):
    billed = billable_seconds(billsec, first, step)
    assert billed >= billsec and billed >= first
    if billsec <= first:
        assert billed == first
    else:
        assert (billed - first) % step == 0
        assert billed - billsec < step


@given(price=st.integers(0, 500_000), seconds=st.integers(0, 20_000))
def test_a_minute_price_is_never_rounded_down_and_never_up_by_a_whole_ten_thousandth(price, seconds):
    exact = Fraction(price * seconds, 60)
    assert exact <= minute_cost(price, seconds) < exact + 1


@given(
    price=st.integers(0, 500_000),
    first=INCREMENTS,
    step=INCREMENTS,
    fee=st.integers(0, 5_000),
    minimum=st.integers(0, 20_000),
    billsec=st.integers(0, 20_000),
)
def test_a_call_costs_the_rounded_up_exact_price_plus_the_connect_fee_and_at_least_the_minimum(
    price, first, step, fee, minimum, billsec
):
    r = RateRow(name="t", category="national", price_per_minute=price, first_increment=first,
                next_increment=step, connect_fee=fee, minimum_charge=minimum)
    charge = rate_call(r, billsec, NOON_BEIJING, "Asia/Shanghai")
    if billsec == 0:
        assert (charge.cost, charge.billable_seconds) == (0, 0)
        return
    assert charge.billable_seconds == billable_seconds(billsec, first, step)
    exact = Fraction(price * charge.billable_seconds, 60)
    # Before the connect fee and the minimum: at least exact, less than exact + 0.0001.
    rounded = charge.cost - fee if charge.cost > minimum else None
    if rounded is not None:
        assert exact <= rounded < exact + 1
    assert charge.cost >= minimum
    assert charge.cost >= exact + fee
    assert charge.cost == max(minimum, math.ceil(exact) + fee)


def test_a_band_edge_is_read_to_the_minute() -> None:
    from rating.demo import demo_plan
    from rating.rate import price_at

    local = next(r for r in demo_plan().rows if r.category == "local")  # off-peak 21:00-07:00 Beijing
    at = [datetime(2024, 3, 4, h - 8, m, tzinfo=UTC) for h, m in ((20, 59), (21, 30), (22, 0))]
    assert [price_at(local, t, "Asia/Shanghai")[0] for t in at] == [1000, 600, 600]
