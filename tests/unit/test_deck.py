"""CSV rate decks: every row or none, bad lines named by number, exact round trip."""

import io
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.deck import COLUMNS, DeckError, export_deck, parse_deck, parse_money
from rating.demo import DEMO_DECK, demo_plan
from rating.numberplan import CATEGORIES, DialPlan, classify
from rating.rate import rate_call, rate_destination
from rating.tariffs import RateRow, TimeBand

HEADER = ",".join(COLUMNS)


def deck(*lines):
    return "\n".join((HEADER, *lines)) + "\n"


def test_a_deck_row_becomes_a_rate_row_with_money_in_ten_thousandths():
    (r,) = parse_deck(deck("852,,Hong Kong,1.2,30,6,0.1000,0.5000,,0.9000,21:00,07:00"))
    assert (r.prefix, r.category, r.name) == ("852", None, "Hong Kong")
    assert (r.price_per_minute, r.connect_fee, r.minimum_charge) == (12000, 1000, 5000)
    assert (r.first_increment, r.next_increment) == (30, 6)
    assert r.bands == (TimeBand("offpeak", "21:00", "07:00", 9000),)


def test_the_off_peak_window_of_a_deck_row_crosses_midnight():
    (r,) = parse_deck(deck(",mobile,Mobile,0.2000,60,60,,,0.2000,0.1200,21:00,07:00"))
    at_2am = datetime(2024, 3, 4, 18, 0, tzinfo=UTC)  # 02:00 in Beijing
    at_noon = datetime(2024, 3, 4, 4, 0, tzinfo=UTC)
    assert rate_call(r, 60, at_2am, "Asia/Shanghai").cost == 1200
    assert rate_call(r, 60, at_noon, "Asia/Shanghai").cost == 2000
    assert rate_call(r, 60, at_noon, "Asia/Shanghai").band == "peak"


def test_empty_connect_fee_and_minimum_mean_zero():
    (r,) = parse_deck(deck(",local,Local,0.1000,60,60,,,,,,"))
    assert (r.connect_fee, r.minimum_charge, r.bands) == (0, 0, ())


def test_columns_may_come_in_any_order():
    columns = list(reversed(COLUMNS))
    values = dict(zip(COLUMNS, ["44", "", "UK", "3.0000", "30", "6", "", "", "", "", "", ""]))
    text = ",".join(columns) + "\n" + ",".join(values[c] for c in columns) + "\n"
    assert parse_deck(text) == [RateRow("UK", 30000, 30, 6, prefix="44")]


def test_a_deck_can_be_read_from_an_open_file():
    assert parse_deck(io.StringIO(DEMO_DECK)) == parse_deck(DEMO_DECK)


def test_every_bad_row_is_reported_by_line_number_and_nothing_is_returned():
    text = deck(
        ",local,Local,0.1000,60,60,,,,,,",  # line 2: fine
        ",local,Local,0.12345,60,60,,,,,,",  # line 3: five decimals, and a duplicate
        "44,international,UK,3.0000,30,6,,,,,,",  # line 4: both prefix and category
        "+44,,UK,abc,0,6,,,,,,",  # line 5: '+', price, zero increment
        "",  # line 6: blank lines are skipped
        ",mobile,Mobile,0.2000,60,60,,,,0.1000,21:00,",  # line 7: half a window
        ",long,Long distance,0.3000,6,6,,,,,,",  # line 8: unknown category
        "81,,Japan,3.6000,30,6,,,0.5000,,,",  # line 9: peak without a window
        "1,,NANP,2.4000,30",  # line 10: too few fields
        "852,,HK,1.2000,30,6,-0.1000,,,,,",  # line 11: negative fee
        ",national,Domestic,0.3000,6,6,,,,0.1,25:00,07:00",  # line 12: no such hour
        ",hmt,HMT,1.5000,30,6,,,,,,",  # line 13: fine
        ",local,Local again,0.1000,60,60,,,,,,",  # line 14: duplicate of line 2
    )
    with pytest.raises(DeckError) as caught:
        parse_deck(text)
    lines = [n for n, _ in caught.value.problems]
    assert lines == [3, 4, 5, 7, 8, 9, 10, 11, 12, 14]
    messages = dict(caught.value.problems)
    assert "more than 4 decimals" in messages[3]
    assert "exactly one of prefix or category" in messages[4]
    assert (
        "'+44'" in messages[5]
        and "price_per_minute" in messages[5]
        and "first_increment" in messages[5]
    )
    assert "go together" in messages[7]
    assert "'long'" in messages[8]
    assert "peak_price needs an off-peak window" in messages[9]
    assert "expected 12 fields" in messages[10]
    assert "connect_fee" in messages[11]
    assert "offpeak_start" in messages[12]
    assert "first on line 2" in messages[14]
    assert "line 14" in str(caught.value) and "nothing imported" in str(caught.value)


def test_line_numbers_count_physical_lines_even_with_a_quoted_newline():
    text = deck('44,,"United\nKingdom",3.0000,30,6,,,,,,', "81,,Japan,3.6000,0,6,,,,,,")
    with pytest.raises(DeckError) as caught:
        parse_deck(text)
    assert [n for n, _ in caught.value.problems] == [4]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "header row is required"),
        (HEADER + "\n", "no rate rows"),
        ("prefix,category,name\n,local,Local\n", "missing columns price_per_minute"),
        (HEADER + ",comment\n", "unknown columns comment"),
    ],
)
def test_a_deck_without_a_proper_header_or_rows_is_refused_at_line_1(text, words):
    with pytest.raises(DeckError) as caught:
        parse_deck(text)
    ((line, message),) = caught.value.problems
    assert line == 1 and words in message


@pytest.mark.parametrize(
    ("text", "amount"),
    [("0.15", 1500), ("0.1500", 1500), ("12", 120000), ("0.0001", 1), ("3.", None)],
)
def test_money_columns_are_decimal_strings_with_at_most_four_places(text, amount):
    if amount is None:
        with pytest.raises(ValueError):
            parse_money(text)
    else:
        assert parse_money(text) == amount


@pytest.mark.parametrize("text", ["0.00001", "1e3", "-1", "0,15", "NaN", ""])
def test_money_that_is_not_a_plain_amount_is_refused(text):
    with pytest.raises(ValueError):
        parse_money(text)


def test_the_demo_deck_exports_back_to_the_same_text():
    assert export_deck(parse_deck(DEMO_DECK)) == DEMO_DECK


def test_export_refuses_bands_a_deck_cannot_express():
    weekend = RateRow(
        "Weekend",
        1000,
        category="local",
        bands=(TimeBand("offpeak", "00:00", "00:00", 500, days=frozenset({5, 6})),),
    )
    with pytest.raises(ValueError, match="cannot express"):
        export_deck([weekend])


def hhmm():
    return st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@st.composite
def deck_rows(draw):
    bands = ()
    if draw(st.booleans()):
        start, end = draw(hhmm()), draw(hhmm())
        if start != end:
            bands = (TimeBand("offpeak", start, end, draw(st.integers(0, 10**6))),)
            if draw(st.booleans()):
                bands += (TimeBand("peak", end, start, draw(st.integers(0, 10**6))),)
    keyed = draw(
        st.one_of(
            st.builds(dict, prefix=st.from_regex(r"[1-9][0-9]{0,6}", fullmatch=True)),
            st.builds(dict, category=st.sampled_from(sorted(CATEGORIES))),
        )
    )
    name = draw(
        st.text(
            st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
        ).filter(lambda s: s == s.strip() and s != "")
    )
    return RateRow(
        name=name,
        price_per_minute=draw(st.integers(0, 10**8)),
        first_increment=draw(st.integers(1, 3600)),
        next_increment=draw(st.integers(1, 3600)),
        connect_fee=draw(st.integers(0, 10**6)),
        minimum_charge=draw(st.integers(0, 10**6)),
        bands=bands,
        **keyed,
    )


@given(st.lists(deck_rows(), min_size=1, max_size=8, unique_by=lambda r: r.key))
def test_export_then_import_gives_back_the_same_rows(rows):
    assert parse_deck(export_deck(rows)) == rows


def test_the_demo_plan_prices_each_category_and_its_prefixes():
    plan = demo_plan()
    dial = DialPlan()
    noon = datetime(2024, 3, 4, 4, 0, tzinfo=UTC)  # 12:00 Beijing, peak
    prices = {
        d: rate_destination(plan, classify(d, dial), 60, noon).cost
        for d in (
            "62345678",
            "02112345678",
            "13800138000",
            "110",
            "0085221234567",
            "+85328212345",
            "+886221234567",
            "+12125550123",
            "+442079460000",
            "+447712345678",
            "+33142685300",
        )
    }
    assert prices == {
        "62345678": 1000,
        "02112345678": 3000,
        "13800138000": 2000,
        "110": 0,
        "0085221234567": 12000,
        "+85328212345": 15000,
        "+886221234567": 18000,
        "+12125550123": 24000 + 1000,
        "+442079460000": 30000 + 1000,
        "+447712345678": 45000 + 1000,
        "+33142685300": 48000 + 1000,
    }
    assert plan.fees == {"missed_call_sms": 1000, "missed_call_monthly": 20000}
