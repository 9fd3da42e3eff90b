"""One grant over two legs (services.callback.grants), against the demo tariff's rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rating.rate import billable_seconds, minute_cost
from services.callback.grants import bridged_seconds, warn_after


def per_minute(price: int, first: int = 60, step: int = 60):
    return lambda s: minute_cost(price, billable_seconds(s, first, step))


MOBILE, LOCAL = per_minute(2000), per_minute(1000)  # 0.20 and 0.10 a minute, whole minutes


def test_the_grant_is_the_longest_bridge_both_legs_pay_for_with_leg_a_setup_counted() -> None:
    # 20.00: leg A 90 + s seconds at 0.20, leg B s seconds at 0.10. 3,930 s costs 13.40 + 6.60.
    assert bridged_seconds(MOBILE, LOCAL, 90, 20_0000, 14_400) == 3930
    # Without the setup, the same money bridges longer: leg A's ringing is paid for.
    assert bridged_seconds(MOBILE, LOCAL, 0, 20_0000, 14_400) > 3930


def test_no_money_for_the_first_minute_of_both_is_no_grant_and_the_cap_bounds_the_grant() -> None:
    # The first bridged second costs leg A's 2 minutes (0.40) and leg B's first minute (0.10).
    assert bridged_seconds(MOBILE, LOCAL, 90, 4999, 14_400) == 0
    assert bridged_seconds(MOBILE, LOCAL, 90, 5000, 14_400) == 30  # up to the end of A's second minute
    assert bridged_seconds(MOBILE, LOCAL, 90, 10**11, 600) == 600


def test_the_warning_comes_when_less_than_the_threshold_would_be_left() -> None:
    assert warn_after(MOBILE, LOCAL, 90, 20_0000, 2_0000, 3930) == 3510
    assert warn_after(MOBILE, LOCAL, 90, 1_0000, 2_0000, 30) == 0  # under 2.00 from the start
    assert warn_after(MOBILE, LOCAL, 90, 100_0000, 2_0000, 60) == 60  # never under 2.00 in this grant


@given(st.integers(0, 5_0000_0000), st.integers(0, 600), st.integers(0, 5_0000), st.integers(0, 5_0000))
def test_the_grant_is_affordable_and_one_second_more_is_not(available: int, setup: int, a: int, b: int) -> None:
    leg_a, leg_b = per_minute(a, 30, 6), per_minute(b)
    seconds = bridged_seconds(leg_a, leg_b, setup, available, 14_400)
    assert seconds == 0 or leg_a(setup + seconds) + leg_b(seconds) <= available
    if 0 < seconds < 14_400:
        assert leg_a(setup + seconds + 1) + leg_b(seconds + 1) > available
