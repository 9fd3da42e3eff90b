"""Pricing calls: increments, fees, time bands, tariff versions and the real-time inverse."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.numberplan import DialPlan, classify
from rating.rate import (
    MAX_CALL_SECONDS,
    NoRate,
    max_seconds_for,
    rate_call,
    rate_destination,
)
from rating.tariffs import RateRow, TariffBook, TariffPlan, TimeBand, select_version

SHANGHAI = "Asia/Shanghai"
NOON_BEIJING = datetime(2024, 3, 4, 4, 0, tzinfo=UTC)  # Monday 12:00 in Beijing


def beijing(year, month, day, hour, minute=0):
    """A UTC instant given as Beijing wall-clock time (UTC+8, no DST)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def row(**kw):
    base = {"name": "test", "category": "national", "price_per_minute": 6000}
    base.update(kw)
    return RateRow(**base)


def cost(r, billsec, at=NOON_BEIJING):
    return rate_call(r, billsec, at, SHANGHAI).cost


# --- increments -------------------------------------------------------------


def test_a_60_60_tariff_bills_whole_minutes_rounded_up():
    r = row(first_increment=60, next_increment=60)  # 0.6000 per minute
    assert [cost(r, s) for s in (1, 59, 60, 61, 120, 121)] == [
        6000,
        6000,
        6000,
        12000,
        12000,
        18000,
    ]


def test_a_6_6_tariff_bills_six_second_steps():
    r = row(first_increment=6, next_increment=6)
    assert rate_call(r, 7, NOON_BEIJING, SHANGHAI).billable_seconds == 12
    assert cost(r, 7) == 1200  # 12 s at 0.6000/min
    assert cost(r, 61) == 6600  # 66 s


def test_a_30_6_increment_rounds_up_to_30_then_whole_six_seconds():
    r = row(first_increment=30, next_increment=6)
    billed = [rate_call(r, s, NOON_BEIJING, SHANGHAI).billable_seconds for s in (1, 30, 31, 36, 37)]
    assert billed == [30, 30, 36, 36, 42]


def test_the_per_minute_price_is_rounded_up_to_the_next_ten_thousandth():
    r = row(price_per_minute=1001, first_increment=1, next_increment=1)
    assert cost(r, 1) == 17  # 1001/60 = 16.68… → 17, never a fraction
    assert cost(r, 60) == 1001


def test_an_unanswered_call_costs_nothing_not_even_the_connect_fee_or_minimum():
    r = row(connect_fee=1000, minimum_charge=5000)
    charge = rate_call(r, 0, NOON_BEIJING, SHANGHAI)
    assert (charge.cost, charge.billable_seconds) == (0, 0)


def test_the_connect_fee_is_added_to_every_answered_call():
    r = row(connect_fee=1000)
    assert cost(r, 1) == 7000
    assert cost(r, 61) == 13000


def test_a_short_call_is_charged_at_least_the_minimum_charge():
    r = row(price_per_minute=1000, first_increment=6, next_increment=6, minimum_charge=3000)
    assert cost(r, 6) == 3000  # 6 s would be 100
    assert cost(r, 300) == 5000  # long enough to pass the minimum


def test_negative_or_float_durations_are_refused():
    with pytest.raises(ValueError):
        rate_call(row(), -1, NOON_BEIJING, SHANGHAI)
    with pytest.raises(ValueError):
        rate_call(row(), 1.5, NOON_BEIJING, SHANGHAI)


def test_a_naive_answer_time_is_refused_because_bands_need_a_zone():
    with pytest.raises(ValueError, match="aware"):
        rate_call(row(), 60, datetime(2024, 3, 4, 12, 0), SHANGHAI)


def test_money_fields_refuse_floats():
    with pytest.raises(TypeError, match="price_per_minute"):
        row(price_per_minute=0.15)
    with pytest.raises(TypeError, match="connect_fee"):
        row(connect_fee=1.0)


# --- time bands --------------------------------------------------------------

NIGHT = TimeBand("offpeak", "21:00", "07:00", 3000)
DAY = TimeBand("peak", "07:00", "21:00", 6000)
BANDED = row(price_per_minute=9999, bands=(NIGHT, DAY))


@pytest.mark.parametrize(
    ("answered", "band", "price"),
    [
        (beijing(2024, 3, 4, 20, 59), "peak", 6000),
        (beijing(2024, 3, 4, 21, 0), "offpeak", 3000),
        (beijing(2024, 3, 4, 23, 59), "offpeak", 3000),
        (beijing(2024, 3, 5, 0, 0), "offpeak", 3000),  # after midnight, same night band
        (beijing(2024, 3, 5, 6, 59), "offpeak", 3000),
        (beijing(2024, 3, 5, 7, 0), "peak", 6000),
    ],
)
def test_a_night_band_crossing_midnight_applies_on_both_sides_of_it(answered, band, price):
    charge = rate_call(BANDED, 60, answered, SHANGHAI)
    assert (charge.band, charge.price_per_minute, charge.cost) == (band, price, price)


def test_bands_are_read_in_the_tariffs_zone_not_in_utc():
    # 14:00 UTC is 22:00 in Beijing (off-peak) but 14:00 in London (peak).
    at = datetime(2024, 3, 4, 14, 0, tzinfo=UTC)
    assert rate_call(BANDED, 60, at, SHANGHAI).band == "offpeak"
    assert rate_call(BANDED, 60, at, "Europe/London").band == "peak"


def test_the_whole_call_is_priced_at_the_band_of_its_answer_instant():
    # Answered at 20:50 at peak, runs 30 minutes into the night: all peak.
    charge = rate_call(BANDED, 1800, beijing(2024, 3, 4, 20, 50), SHANGHAI)
    assert (charge.band, charge.cost) == ("peak", 30 * 6000)


def test_a_weekend_band_crossing_midnight_belongs_to_the_day_it_starts():
    friday_night = TimeBand("weekend", "20:00", "08:00", 1000, days=frozenset({4, 5, 6}))
    r = row(price_per_minute=6000, bands=(friday_night,))
    # Friday 2024-03-08 19:59 is before the band, 20:00 inside it.
    assert rate_call(r, 60, beijing(2024, 3, 8, 19, 59), SHANGHAI).band is None
    assert rate_call(r, 60, beijing(2024, 3, 8, 20, 0), SHANGHAI).band == "weekend"
    # Monday 03:00 is the tail of Sunday night's band; Tuesday 03:00 is not (Monday has none).
    assert rate_call(r, 60, beijing(2024, 3, 11, 3, 0), SHANGHAI).band == "weekend"
    assert rate_call(r, 60, beijing(2024, 3, 12, 3, 0), SHANGHAI).cost == 6000


def test_a_time_band_refuses_an_impossible_time_of_day():
    with pytest.raises(ValueError, match="24:00"):
        TimeBand("late", "24:00", "07:00", 1)


# --- lookup ------------------------------------------------------------------

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def plan(rows, version=1, effective_from=EPOCH, **kw):
    return TariffPlan(
        name="retail", version=version, effective_from=effective_from, rows=tuple(rows), **kw
    )


WORLD = plan(
    [
        RateRow("World", 48000, category="international"),
        RateRow("UK", 30000, prefix="44"),
        RateRow("UK mobile", 45000, prefix="447"),
        RateRow("UK mobile Vodafone", 40000, prefix="4477"),
        RateRow("NANP", 24000, prefix="1"),
        RateRow("Local", 1000, category="local"),
        RateRow("Domestic", 3000, category="national"),
        RateRow("Mobile", 2000, category="mobile"),
        RateRow("HMT", 15000, category="hmt"),
        RateRow("Hong Kong", 12000, prefix="852"),
        RateRow("Special", 0, category="special"),
    ]
)
CN = DialPlan()


@pytest.mark.parametrize(
    ("dialled", "name"),
    [
        ("+447712345678", "UK mobile Vodafone"),
        ("+447400123456", "UK mobile"),
        ("+442079460000", "UK"),
        ("+12125550123", "NANP"),
        ("+33142685300", "World"),  # France: no prefix row, falls back to the category
        ("0085221234567", "Hong Kong"),
        ("+85328212345", "HMT"),
        ("62345678", "Local"),
        ("02112345678", "Domestic"),
        ("13800138000", "Mobile"),
        ("110", "Special"),
    ],
)
def test_the_longest_matching_prefix_wins_and_categories_catch_the_rest(dialled, name):
    assert WORLD.find_rate(classify(dialled, CN)).name == name


def test_a_destination_without_prefix_or_category_row_has_no_rate():
    domestic_only = plan([RateRow("Local", 1000, category="local")])
    dest = classify("+12125550123", CN)
    assert domestic_only.find_rate(dest) is None
    with pytest.raises(NoRate, match=r"\+12125550123"):
        rate_destination(domestic_only, dest, 60, NOON_BEIJING)


def test_a_plan_refuses_two_rows_for_the_same_prefix():
    with pytest.raises(ValueError, match="prefix:44"):
        plan([RateRow("UK", 1, prefix="44"), RateRow("UK again", 2, prefix="44")])


def test_a_row_needs_exactly_one_of_prefix_or_category():
    with pytest.raises(ValueError, match="exactly one"):
        RateRow("both", 1, prefix="44", category="international")
    with pytest.raises(ValueError, match="category"):
        RateRow("typo", 1, category="longdistance")


def test_rate_destination_reads_bands_in_the_plans_zone():
    night_plan = plan([row(category="mobile", bands=(NIGHT, DAY))], tz="Asia/Shanghai")
    charge = rate_destination(
        night_plan, classify("13800138000", CN), 60, beijing(2024, 3, 4, 23, 0)
    )
    assert (charge.band, charge.cost) == ("offpeak", 3000)


def test_a_plan_round_trips_through_json_for_storing_in_an_event():
    p = plan(
        [
            row(category="local", bands=(NIGHT, DAY)),
            RateRow("HK", 12000, 30, 6, 1000, 5000, prefix="852"),
        ],
        version=3,
        effective_from=datetime(2024, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))),
        fees={"missed_call_sms": 1000, "missed_call_monthly": 20000},
    )
    data = json.loads(json.dumps(p.to_dict()))
    back = TariffPlan.from_dict(data)
    assert back == p
    assert back.effective_from == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
    assert back.find_rate(classify("0085221234567", CN)).minimum_charge == 5000


# --- versions ----------------------------------------------------------------

V1 = plan(
    [RateRow("Mobile", 2000, category="mobile")], version=1, effective_from=beijing(2024, 1, 1, 0)
)
V2 = plan(
    [RateRow("Mobile", 1500, category="mobile")], version=2, effective_from=beijing(2024, 7, 1, 0)
)


def test_the_tariff_in_force_is_the_latest_effective_before_the_call():
    book = TariffBook([V2, V1])
    assert book.at(beijing(2023, 12, 31, 23, 59)) is None
    assert book.at(beijing(2024, 6, 30, 23, 59)) is V1
    assert book.at(beijing(2024, 7, 1, 0, 0)) is V2
    assert select_version([V1, V2], beijing(2024, 6, 30, 23, 59)) is V1
    assert select_version([V1, V2], beijing(2024, 7, 1, 0, 0)) is V2


def test_a_call_just_before_a_price_cut_pays_the_old_price():
    mobile = classify("13800138000", CN)
    before, after = beijing(2024, 6, 30, 23, 59), beijing(2024, 7, 1, 0, 1)
    assert rate_destination(select_version([V1, V2], before), mobile, 60, before).cost == 2000
    assert rate_destination(select_version([V1, V2], after), mobile, 60, after).cost == 1500


def test_a_tariff_book_refuses_mixed_names_and_repeated_versions():
    with pytest.raises(ValueError, match="one tariff"):
        TariffBook([V1, TariffPlan("wholesale", 2, EPOCH, ())])
    with pytest.raises(ValueError, match="repeated version"):
        TariffBook([V1, plan([], version=1, effective_from=beijing(2024, 9, 1, 0))])


def test_a_plan_refuses_a_naive_effective_from_and_an_unknown_zone():
    with pytest.raises(ValueError, match="aware"):
        TariffPlan("retail", 1, datetime(2024, 1, 1), ())
    with pytest.raises(ValueError, match="Mars/Olympus"):
        TariffPlan("retail", 1, EPOCH, (), tz="Mars/Olympus")


# --- the real-time inverse -----------------------------------------------------


def test_max_seconds_is_what_the_balance_pays_for_in_whole_increments():
    r = row(price_per_minute=6000, first_increment=30, next_increment=6, connect_fee=1000)
    # 1.0000 left: 9000 after the connect fee buys 90 s at 0.6000/min.
    assert max_seconds_for(r, 10000, NOON_BEIJING, SHANGHAI) == 90
    assert cost(r, 90) == 10000
    assert cost(r, 91) > 10000


def test_max_seconds_is_zero_when_the_first_increment_is_unaffordable():
    r = row(price_per_minute=6000, first_increment=60, next_increment=6, minimum_charge=8000)
    # The first minute costs 0.6000 but the minimum charge makes it 0.8000.
    assert max_seconds_for(r, 7999, NOON_BEIJING, SHANGHAI) == 0
    # With 0.8000: 78 s (60 + 3 × 6) still costs the minimum; 84 s would cost 0.8400.
    assert max_seconds_for(r, 8000, NOON_BEIJING, SHANGHAI) == 78


def test_max_seconds_is_capped_and_a_free_destination_gets_the_cap():
    free = row(price_per_minute=0)
    assert max_seconds_for(free, 0, NOON_BEIJING, SHANGHAI) == MAX_CALL_SECONDS
    assert max_seconds_for(row(), 10**12, NOON_BEIJING, SHANGHAI, cap=600) == 600


def test_max_seconds_uses_the_band_at_the_answer_instant():
    night, day = beijing(2024, 3, 4, 23, 0), beijing(2024, 3, 4, 12, 0)
    assert max_seconds_for(BANDED, 6000, night, SHANGHAI) == 120  # 0.3000/min
    assert max_seconds_for(BANDED, 6000, day, SHANGHAI) == 60  # 0.6000/min


rows = st.builds(
    RateRow,
    name=st.just("generated"),
    category=st.just("international"),
    price_per_minute=st.integers(0, 200_000),
    first_increment=st.sampled_from([1, 6, 30, 60]),
    next_increment=st.sampled_from([1, 6, 30, 60]),
    connect_fee=st.integers(0, 5_000),
    minimum_charge=st.integers(0, 20_000),
    bands=st.sampled_from([(), (NIGHT,), (NIGHT, DAY)]),
)


@given(
    r=rows,
    available=st.integers(0, 5_000_000),
    answered=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    cap=st.integers(0, MAX_CALL_SECONDS),
)
def test_max_seconds_is_exactly_the_longest_affordable_call(r, available, answered, cap):
    seconds = max_seconds_for(r, available, answered, SHANGHAI, cap=cap)
    assert 0 <= seconds <= cap
    assert rate_call(r, seconds, answered, SHANGHAI).cost <= available
    if seconds < cap:
        assert rate_call(r, seconds + 1, answered, SHANGHAI).cost > available
