import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.money import COLUMN_MAX, MAX_AMOUNT, MoneyFormatError, format_money, money_text, parse_money


def test_a_decimal_string_becomes_ten_thousandths() -> None:
    assert parse_money("12.34") == 123_400
    assert parse_money("0.0001") == 1
    assert parse_money("-5") == -50_000


@pytest.mark.parametrize("bad", ["1.23456", "1e3", "abc", "", "1,00", " . ", "--1"])
def test_anything_but_a_plain_decimal_with_four_places_is_refused(bad: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_money(bad)


@pytest.mark.parametrize("padded", [" 1.00", "1.00 ", "+1.00", "1.00\n", "\t1.00", "+0", "- 1.00"])
def test_a_plus_sign_or_whitespace_around_an_amount_is_refused(padded: str) -> None:
    # One parser serves every edge (GraphQL Money, CLI amounts), so each refuses these alike.
    with pytest.raises(MoneyFormatError):
        parse_money(padded)


def test_a_float_is_never_accepted_as_money() -> None:
    with pytest.raises(MoneyFormatError):
        parse_money(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_money(0.1)  # type: ignore[arg-type]


def test_amounts_print_with_exactly_four_decimals() -> None:
    assert format_money(123_400) == "12.3400"
    assert format_money(-1) == "-0.0001"


@given(st.integers(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT))
def test_format_and_parse_round_trip_exactly(amount: int) -> None:
    assert parse_money(format_money(amount)) == amount


def test_the_largest_accepted_amount_is_the_declared_maximum() -> None:
    assert parse_money("99999999999.9999") == MAX_AMOUNT
    assert parse_money("-99999999999.9999") == -MAX_AMOUNT
    # every view column (64-bit) holds thousands of maximal balances summed
    assert COLUMN_MAX // MAX_AMOUNT > 9000


@pytest.mark.parametrize("big", ["100000000000", "100000000000.0000", "999999999999999.9999", "-100000000000"])
def test_an_amount_past_the_maximum_is_refused(big: str) -> None:
    with pytest.raises(MoneyFormatError, match="at most"):
        parse_money(big)


@pytest.mark.parametrize("digits", ["\u0661\u0660.\u0665", "\uff11\uff10.50", "1\u00b2", "\u0967\u0966"])
def test_digits_other_than_ascii_are_refused(digits: str) -> None:
    # Arabic-Indic, full-width, superscript and Devanagari digits are digits to Python, not to the ledger
    with pytest.raises(MoneyFormatError):
        parse_money(digits)


def test_money_in_a_message_reads_as_a_decimal_with_its_currency() -> None:
    assert money_text(25_000) == "2.5000 CNY"
    assert money_text(-1) == "-0.0001 CNY"
