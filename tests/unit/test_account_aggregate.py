"""The Account aggregate on its own: checks first, then events."""

import copy

import pytest

from ledger import house
from ledger.accounts import Account
from ledger.errors import (
    AccountClosed,
    AccountNotActive,
    AccountNotEmpty,
    HoldNotFound,
    InsufficientFunds,
    InvalidRequest,
    PinLocked,
    WrongPin,
)


def funded(amount: int = 100_000) -> Account:
    account = Account.open("1000001", "subscriber", "t")
    account.credit(amount, house.DEPOSITS, "t")
    return account


def test_a_debit_beyond_the_available_balance_is_refused_and_records_nothing() -> None:
    account = funded(10_000)
    before = len(account.pending_events)
    with pytest.raises(InsufficientFunds):
        account.debit(10_001, house.ADJUSTMENTS, "t")
    assert len(account.pending_events) == before and account.balance == 10_000


def test_holds_reduce_what_is_available_and_settling_charges_only_the_cost() -> None:
    account = funded(100_000)
    account.reserve("call-1", 60_000, "switch")
    assert account.available == 40_000
    with pytest.raises(InsufficientFunds):
        account.debit(50_000, house.ADJUSTMENTS, "t")
    account.settle("call-1", 12_345, house.revenue("direct", "local"), "switch")
    assert (account.balance, account.held, account.available) == (87_655, 0, 87_655)
    with pytest.raises(HoldNotFound):
        account.release("call-1", "switch")


def test_a_settlement_cannot_charge_more_than_its_hold() -> None:
    account = funded(100_000)
    account.reserve("h", 1_000, "switch")
    with pytest.raises(InsufficientFunds):
        account.settle("h", 1_001, house.ADJUSTMENTS, "switch")


def test_every_money_event_posts_to_two_sides_that_sum_to_zero() -> None:
    account = funded(100_000)
    account.debit(3_000, house.revenue("direct", "mobile"), "t")
    account.reserve("h", 5_000, "t")
    account.settle("h", 4_000, house.revenue("direct", "local"), "t")
    money_events = [e for e in account.pending_events if hasattr(e, "postings")]
    assert len(money_events) == 3
    for event in money_events:
        lines = event.postings()
        assert len(lines) == 2 and sum(a for _, a in lines) == 0


def test_five_wrong_pins_lock_the_account_until_the_pin_is_reset() -> None:
    account = funded()
    for _ in range(4):
        with pytest.raises(WrongPin):
            account.verify_pin(False, "ivr")
    with pytest.raises(PinLocked):
        account.verify_pin(False, "ivr")
    with pytest.raises(PinLocked):
        account.verify_pin(True, "ivr")  # even the right PIN, once locked
    account.change_pin("new-pvv", "operator")
    account.verify_pin(True, "ivr")


def test_a_suspended_account_cannot_spend_and_a_closed_one_cannot_do_anything() -> None:
    account = funded(0 + 1)
    account.suspend("op")
    with pytest.raises(AccountNotActive):
        account.debit(1, house.ADJUSTMENTS, "t")
    account.resume("op")
    with pytest.raises(AccountNotEmpty):
        account.close("op")
    account.debit(1, house.ADJUSTMENTS, "t")
    account.close("op")
    with pytest.raises(AccountClosed):
        account.credit(1, house.ADJUSTMENTS, "t")


def test_amounts_must_be_positive_integers() -> None:
    account = funded()
    for bad in (0, -5, 1.5, True):
        with pytest.raises(InvalidRequest):
            account.debit(bad, house.ADJUSTMENTS, "t")  # type: ignore[arg-type]


def test_a_cached_copy_does_not_share_holds_or_phones_with_the_original() -> None:
    account = funded()
    account.reserve("h", 1, "t")
    clone = copy.deepcopy(account)
    clone.reserve("h2", 1, "t")
    clone.holds["h"][1] = 99
    assert "h2" not in account.holds and account.holds["h"] == [1, 0]
    assert account.held == 1 and clone.held == 2


def test_a_hold_is_extended_only_out_of_what_is_available_and_settles_as_one_hold() -> None:
    account = funded(10_000)
    account.reserve("call-1", 3_000, "sw")
    account.extend_hold("call-1", 3_000, "sw")
    assert (account.held, account.available, account.holds["call-1"][0]) == (6_000, 4_000, 6_000)
    before = len(account.pending_events)
    with pytest.raises(InsufficientFunds):
        account.extend_hold("call-1", 4_001, "sw")
    with pytest.raises(HoldNotFound):
        account.extend_hold("call-2", 1, "sw")
    assert len(account.pending_events) == before  # refused: nothing recorded
    account.settle("call-1", 5_000, house.revenue("direct", "local"), "sw")  # charged 5_000, 1_000 released
    assert (account.balance, account.held, account.available) == (5_000, 0, 5_000)


def test_a_suspended_account_holds_no_more_for_a_running_call() -> None:
    account = funded(10_000)
    account.reserve("call-1", 3_000, "sw")
    account.suspend("op")
    with pytest.raises(AccountNotActive):
        account.extend_hold("call-1", 1_000, "sw")
