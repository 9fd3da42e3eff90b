"""Ledger commands end to end on each store."""

from __future__ import annotations

import pytest

from ledger import cardnumbers, house
from ledger.errors import (
    AccountExists,
    CardNotActive,
    NumberAlreadyBound,
    NumberNotBound,
    PinLocked,
    WrongPin,
)
from ringledger.container import Container
from tests.integration.test_consistency_rules import race


def gl(c: Container, account: str) -> int:
    c.catch_up()
    rows = c.views.query("SELECT balance FROM gl_balances WHERE account = ?", (account,))
    return rows[0][0] if rows else 0


def test_a_phone_number_is_bound_to_one_account_at_a_time(container: Container) -> None:
    ledger = container.ledger
    for n in ("1000001", "1000002"):
        ledger.open_account("subscriber", "t", number=n)
    ledger.bind("1000001", "+8613800138000", "t")
    with pytest.raises(NumberAlreadyBound):
        ledger.bind("1000002", "+8613800138000", "t")
    ledger.unbind("+8613800138000", "t")
    ledger.bind("1000002", "+8613800138000", "t")
    assert ledger.account_for_phone("+8613800138000") == "1000002"
    with pytest.raises(NumberNotBound):
        ledger.account_for_phone("+8613900139000")


def test_racing_binds_of_one_number_leave_it_bound_once(container: Container) -> None:
    ledger = container.ledger
    numbers = [str(2000000 + i) for i in range(10)]
    for n in numbers:
        ledger.open_account("subscriber", "t", number=n)
    results = race(10, lambda i: ledger.bind(numbers[i], "+8613700137000", "t"))
    winners = [r for r in results if isinstance(r, dict)]
    assert len(winners) == 1
    assert all(isinstance(r, NumberAlreadyBound) for r in results if not isinstance(r, dict))
    bound = [n for n in numbers if ledger.account(n).phones]
    assert bound == [winners[0]["number"]]


def test_an_account_number_cannot_be_opened_twice(container: Container) -> None:
    container.ledger.open_account("subscriber", "t", number="3000001")
    with pytest.raises(AccountExists):
        container.ledger.open_account("phonebar", "t", number="3000001")


def test_wrong_pins_are_counted_durably_and_lock_after_five(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "t", number="4000001", pin="246810")
    for _ in range(4):
        with pytest.raises(WrongPin):
            ledger.verify_pin("4000001", "111111", "ivr")
    with pytest.raises(PinLocked):
        ledger.verify_pin("4000001", "111111", "ivr")
    with pytest.raises(PinLocked):
        ledger.verify_pin("4000001", "246810", "ivr")
    assert ledger.account("4000001").pin_failures == 5  # read back from the store
    ledger.change_pin("4000001", "135790", "operator")
    assert ledger.verify_pin("4000001", "135790", "ivr") == {"number": "4000001", "verified": True}


def test_no_pin_is_stored_in_clear(container: Container) -> None:
    cards = container.ledger.issue_batch("callback", 20, 10_0000, "t", name="PINS")
    container.ledger.open_account("subscriber", "t", number="5000001", pin="9081726354")
    stored = b"".join(n.state for n in container.ledger.recorder.select_notifications(start=1, limit=10_000))
    for _, number, pin in cards:
        assert number.encode() in stored
        assert pin.encode() not in stored
    assert b"9081726354" not in stored


def test_a_card_number_drawn_again_in_a_later_batch_is_replaced(container: Container, monkeypatch) -> None:
    [(_, first, _)] = container.ledger.issue_batch("voucher", 1, 10_0000, "t", name="FIRST")
    real = cardnumbers.new_numbers
    calls = []

    def draw_the_old_number_first(kind: str, n: int) -> list[str]:
        calls.append(n)
        return [first, *real(kind, n - 1)] if len(calls) == 1 else real(kind, n)

    monkeypatch.setattr("ledger.application.new_numbers", draw_the_old_number_first)
    second = container.ledger.issue_batch("voucher", 3, 10_0000, "t", name="SECOND")
    numbers = [n for _, n, _ in second]
    assert first not in numbers and len(set(numbers)) == 3
    container.catch_up()
    assert container.views.query("SELECT COUNT(*) FROM cards WHERE batch = 'SECOND'") == [(3,)]


def test_an_unsold_voucher_cannot_be_redeemed(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "t", number="6000001")
    ledger.bind("6000001", "+8613600136000", "t")
    [(_, number, pin)] = ledger.issue_batch("voucher", 1, 10_0000, "t", name="UNSOLD")
    with pytest.raises(CardNotActive):
        ledger.redeem_voucher(number, pin, "+8613600136000", "t")
    assert ledger.account("6000001").balance == 0


def test_cancelling_a_sold_card_moves_what_it_held_to_the_house(container: Container) -> None:
    ledger = container.ledger
    [(_, card, _)] = ledger.issue_batch("callback", 1, 30_0000, "t", name="CB")
    ledger.sell_cards([card], "callback", 30_0000, "t")
    ledger.debit(card, 5_0000, house.revenue("callback", "national"), "switch")
    ledger.cancel_card(card, "op", "reported stolen")
    assert ledger.account(card).status == "closed"
    assert gl(container, house.CANCELLED_CARDS) == 25_0000
    assert gl(container, house.CARD_SALES) == -30_0000
    container.catch_up()
    assert container.views.query("SELECT status FROM cards WHERE number = ?", (card,)) == [("cancelled",)]


def test_a_transfer_moves_balance_between_two_cards(container: Container) -> None:
    ledger = container.ledger
    cards = [n for _, n, _ in ledger.issue_batch("callback", 2, 20_0000, "t", name="TR")]
    ledger.sell_cards(cards, "callback", 20_0000, "t")
    result = ledger.transfer(cards[0], cards[1], 15_0000, "t")
    assert (result["from"]["balance"], result["to"]["balance"]) == (5_0000, 35_0000)
    assert (ledger.account(cards[0]).balance, ledger.account(cards[1]).balance) == (5_0000, 35_0000)
    container.catch_up()
    statement = container.views.query(
        "SELECT amount, balance_after FROM gl_postings WHERE account = ? ORDER BY position, seq",
        (ledger.account(cards[1]).id.hex,),
    )
    assert statement == [(20_0000, 20_0000), (15_0000, 35_0000)]


def test_a_busy_account_is_snapshotted_and_loads_the_same_from_the_snapshot(container: Container) -> None:
    from ledger.application import Ledger
    from ledger.accounts import Account
    from ledger.ids import account_id

    ledger = container.ledger
    ledger.open_account("phonebar", "t", number="7100001")
    interval = Ledger.snapshotting_intervals[Account]
    commands = [(lambda uow: uow.find(account_id("7100001"), Account).credit(1, house.DEPOSITS, "t") or {}, None)]
    for _ in range(interval + 10):
        ledger.execute_many(commands)
    snapshots = list(ledger.snapshots.get(account_id("7100001")))
    assert [s.originator_version for s in snapshots] == [interval]
    # A cold load (no cache) starts from the snapshot and ends at the same state.
    assert ledger.account("7100001").balance == interval + 10
    assert ledger.account("7100001").version == interval + 11


def test_a_grouped_command_that_fails_after_recording_leaves_no_trace(container: Container) -> None:
    from ledger.accounts import Account
    from ledger.errors import InvalidRequest
    from ledger.ids import account_id

    ledger = container.ledger
    ledger.open_account("phonebar", "t", number="7200001")
    ledger.deposit("7200001", 10_000, "t")

    def debit(amount: int):
        return lambda uow: ledger._account(uow, "7200001").debit(amount, house.ADJUSTMENTS, "t") or {"ok": amount}

    def debit_then_fail(uow):
        uow.find(account_id("7200001"), Account).debit(5_000, house.ADJUSTMENTS, "t")
        raise InvalidRequest("broke check-first")

    results = ledger.execute_many([(debit(1_000), None), (debit_then_fail, None), (debit(2_000), None)])
    assert results[0] == {"ok": 1_000} and results[2] == {"ok": 2_000}
    assert isinstance(results[1], InvalidRequest)
    assert ledger.account("7200001").balance == 7_000  # the failed command's 5,000 is not there
