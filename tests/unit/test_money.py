import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.money import MoneyFormatError, format_money, parse_money


def test_a_decimal_string_becomes_ten_thousandths() -> None:
    assert parse_money("12.34") == 123_400
    assert parse_money("0.0001") == 1
    assert parse_money("-5") == -50_000


@pytest.mark.parametrize("bad", ["1.23456", "1e3", "abc", "", "1,00", " . ", "--1"])
def test_anything_but_a_plain_decimal_with_four_places_is_refused(bad: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_money(bad)


def test_a_float_is_never_accepted_as_money() -> None:
    with pytest.raises(MoneyFormatError):
        parse_money(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_money(0.1)  # type: ignore[arg-type]


def test_amounts_print_with_exactly_four_decimals() -> None:
    assert format_money(123_400) == "12.3400"
    assert format_money(-1) == "-0.0001"


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_format_and_parse_round_trip_exactly(amount: int) -> None:
    assert parse_money(format_money(amount)) == amount
