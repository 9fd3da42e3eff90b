"""Account and money rules that a mutation pass found unguarded."""

import pytest

from ledger import house
from ledger.accounts import Account
from ledger.errors import InsufficientFunds, InvalidRequest, PinLocked, WrongPin
from ledger.money import MoneyFormatError, format_money, parse_money, parse_positive_money


def test_a_right_pin_after_wrong_ones_starts_the_count_again() -> None:
    account = Account.open("1000001", "subscriber", "t")
    for _ in range(4):
        with pytest.raises(WrongPin):
            account.verify_pin(False, "ivr")
    account.verify_pin(True, "ivr")
    assert account.pin_failures == 0
    # Four more wrong tries are allowed before the fifth locks it.
    for _ in range(4):
        with pytest.raises(WrongPin):
            account.verify_pin(False, "ivr")
    with pytest.raises(PinLocked):
        account.verify_pin(False, "ivr")


def test_only_a_phone_bar_has_a_retail_tariff() -> None:
    subscriber = Account.open("1000002", "subscriber", "t")
    with pytest.raises(InvalidRequest):
        subscriber.set_retail_plan("walk-in", "op")
    bar = Account.open("5550001", "phonebar", "t")
    bar.set_retail_plan("walk-in", "op")
    assert bar.retail_plan == "walk-in"
    bar.set_retail_plan(None, "op")
    assert bar.retail_plan is None


def test_unbinding_a_number_removes_it_from_the_account() -> None:
    account = Account.open("1000003", "subscriber", "t")
    account.bind("+8613800138000", "t")
    account.unbind("+8613800138000", "t")
    assert account.phones == []
    account.unbind("+8613800138000", "t")  # unbinding again changes nothing
    assert account.phones == [] and len(account.pending_events) == 3


def test_a_positive_amount_is_at_least_one_ten_thousandth() -> None:
    assert parse_positive_money("0.0001") == 1
    for bad in ("0", "0.0000", "-1.00"):
        with pytest.raises(MoneyFormatError):
            parse_positive_money(bad)


def test_a_debit_of_the_whole_available_balance_is_allowed_and_one_more_is_not() -> None:
    account = Account.open("1000004", "subscriber", "t")
    account.credit(10_000, house.DEPOSITS, "t")
    account.reserve("h", 4_000, "switch")
    account.debit(6_000, house.ADJUSTMENTS, "t")
    assert account.available == 0
    with pytest.raises(InsufficientFunds):
        account.debit(1, house.ADJUSTMENTS, "t")


def test_reported_usage_stays_within_its_hold() -> None:
    account = Account.open("1000005", "subscriber", "t")
    account.credit(10_000, house.DEPOSITS, "t")
    account.reserve("h", 4_000, "switch")
    account.report_usage("h", 0)
    account.report_usage("h", 4_000)
    for bad in (-1, 4_001):
        with pytest.raises(InvalidRequest):
            account.report_usage("h", bad)
    assert account.holds["h"] == [4_000, 4_000]


def test_a_whole_number_of_units_is_scaled_to_ten_thousandths() -> None:
    assert parse_money(5) == 5_0000
    assert parse_money("5") == 5_0000


def test_zero_and_small_amounts_are_formatted_without_a_minus() -> None:
    assert [format_money(a) for a in (0, 1, -1, 12_3400)] == ["0.0000", "0.0001", "-0.0001", "12.3400"]
