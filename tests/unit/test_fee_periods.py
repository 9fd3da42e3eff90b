"""Fee periods in the operator's zone: anchor days clamped to month end, local midnight, keys that sort."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.fee_periods import DAILY, MONTHLY, next_period, period_of, period_start

SH = "Asia/Shanghai"


def test_a_monthly_fee_anchored_on_the_31st_falls_due_on_the_last_day_of_a_short_month() -> None:
    assert period_start(MONTHLY, "2027-02", 31, SH) == datetime(2027, 2, 27, 16, 0, tzinfo=UTC)  # 28th, 00:00 +08
    assert period_start(MONTHLY, "2028-02", 31, SH) == datetime(2028, 2, 28, 16, 0, tzinfo=UTC)  # leap year: 29th
    assert period_start(MONTHLY, "2027-03", 31, SH) == datetime(2027, 3, 30, 16, 0, tzinfo=UTC)


def test_an_instant_belongs_to_the_period_of_its_local_day_not_its_utc_day() -> None:
    # 2027-03-09 17:00 UTC is 01:00 on the 10th in Shanghai: the March period (anchor 10) has begun.
    assert period_of(MONTHLY, datetime(2027, 3, 9, 17, 0, tzinfo=UTC), 10, SH) == "2027-03"
    assert period_of(MONTHLY, datetime(2027, 3, 9, 15, 59, tzinfo=UTC), 10, SH) == "2027-02"
    assert period_of(MONTHLY, datetime(2027, 1, 5, tzinfo=UTC), 10, SH) == "2026-12"
    assert period_of(DAILY, datetime(2027, 3, 9, 17, 0, tzinfo=UTC), 1, SH) == "2027-03-10"


def test_the_next_period_crosses_years_and_keys_sort_as_periods_do() -> None:
    assert next_period(MONTHLY, "2026-12") == "2027-01"
    assert next_period(DAILY, "2027-12-31") == "2028-01-01"
    assert sorted(["2027-10", "2027-09", "2028-01"]) == ["2027-09", "2027-10", "2028-01"]
