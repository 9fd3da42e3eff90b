"""Rules of money that a mutation pass found unguarded, pinned on each store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger import house
from ledger.errors import (
    AccountNotActive,
    AccountNotEmpty,
    IdempotencyConflict,
    InvalidRequest,
    NumberNotBound,
    PinLocked,
    VoucherAlreadyRedeemed,
    WrongPin,
)
from ledger.application import Ledger
from services.charging import ChargingPolicy
from ringledger.container import Container
from tests.charging_support import ACCOUNT, PEAK, PHONE, call, flat_rows, set_up, trial_balance


def gl(c: Container, account: str) -> int:
    c.catch_up()
    rows = c.views.query("SELECT balance FROM gl_balances WHERE account = ?", (account,))
    return rows[0][0] if rows else 0


def card_status(c: Container, number: str) -> str:
    c.catch_up()
    return c.views.query("SELECT status FROM cards WHERE number = ?", (number,))[0][0]


def test_a_voucher_redeemed_with_a_wrong_pin_is_refused_and_changes_nothing(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "t", number="6100001")
    ledger.bind("6100001", "+8613600136001", "t")
    [(_, number, pin)] = ledger.issue_batch("voucher", 1, 10_0000, "t", name="WRONGPIN")
    ledger.sell_cards([number], "voucher", 10_0000, "t")
    wrong = str((int(pin[0]) + 1) % 10) + pin[1:]
    with pytest.raises(WrongPin):
        ledger.redeem_voucher(number, wrong, "+8613600136001", "t")
    # No credit, the voucher still sold, its face still in the float.
    assert ledger.account("6100001").balance == 0
    assert card_status(container, number) == "sold"
    assert gl(container, house.VOUCHER_FLOAT) == 10_0000
    # The right PIN still redeems it, once.
    assert ledger.redeem_voucher(number, pin, "+8613600136001", "t")["balance"] == 10_0000
    assert card_status(container, number) == "redeemed"
    assert gl(container, house.VOUCHER_FLOAT) == 0  # the float paid for the credit
    assert trial_balance(container) == 0


def test_a_released_hold_frees_exactly_its_amount(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "t", number="6200001")
    ledger.deposit("6200001", 10_0000, "t")
    ledger.reserve("6200001", "h1", 3_0000, "switch")
    ledger.reserve("6200001", "h2", 2_5000, "switch")
    assert ledger.account("6200001").available == 4_5000
    assert ledger.release("6200001", "h1", "switch")["available"] == 7_5000
    account = ledger.account("6200001")
    assert (account.balance, account.held, account.available) == (10_0000, 2_5000, 7_5000)
    ledger.release("6200001", "h2", "switch")
    account = ledger.account("6200001")
    assert (account.balance, account.held, account.available) == (10_0000, 0, 10_0000)
    assert account.holds == {}
    assert trial_balance(container) == 0


def test_an_upward_rerate_debits_the_customer_and_credits_the_revenue(container: Container) -> None:
    charging = set_up(container, 10_0000)
    charging.authorize(call("up1"))
    assert charging.end("up1", 125)["charged"] == 3000  # 3 minutes at 0.10 (peak)
    charging.publish_plan("demo", flat_rows(2000), PEAK - timedelta(days=1), "test")
    result = charging.rerate(["up1"], "demo", 2, "op")
    # 3 minutes at 0.20 cost 0.60: 0.30 more is charged.
    assert (result["rerated"], result["difference"]) == (1, 3000)
    assert container.ledger.account(ACCOUNT).balance == 10_0000 - 6000
    revenue = house.revenue("direct", "local")
    assert gl(container, revenue) == 6000
    assert trial_balance(container) == 0
    customer = container.ledger.account(ACCOUNT).id.hex
    assert container.views.query(
        "SELECT amount, memo FROM gl_postings WHERE account = ? ORDER BY position DESC LIMIT 1", (customer,)
    ) == [(-3000, "rerate call up1 to demo v2")]
    assert container.views.query("SELECT billsec, cost, plan_version FROM cdrs WHERE call_id = 'up1'") == [
        (125, 6000, 2)]
    # Back to version 1, named although version 2 is in force: its peak band is
    # read in Beijing time (10:00), so the call costs 0.30 again and 0.30 comes back.
    back = charging.rerate(["up1"], "demo", 1, "op")
    assert (back["rerated"], back["difference"]) == (1, -3000)
    assert container.ledger.account(ACCOUNT).balance == 10_0000 - 3000
    assert gl(container, revenue) == 3000
    assert trial_balance(container) == 0


def test_a_rerate_one_ten_thousandth_up_is_charged(container: Container) -> None:
    charging = set_up(container, 10_0000)
    charging.publish_plan("demo", flat_rows(1000), PEAK - timedelta(days=1), "test")
    charging.authorize(call("one"))
    assert charging.end("one", 60)["charged"] == 1000
    charging.publish_plan("demo", flat_rows(1001), PEAK - timedelta(days=1), "test")
    assert charging.rerate(["one"], "demo", 3, "op")["difference"] == 1
    assert container.ledger.account(ACCOUNT).balance == 10_0000 - 1001
    assert trial_balance(container) == 0


def test_cancelling_a_sold_voucher_moves_its_face_and_an_unsold_one_moves_nothing(container: Container) -> None:
    ledger = container.ledger
    sold, unsold = [n for _, n, _ in ledger.issue_batch("voucher", 2, 10_0000, "t", name="CANCEL")]
    ledger.sell_cards([sold], "voucher", 10_0000, "t")
    assert gl(container, house.VOUCHER_FLOAT) == 10_0000
    ledger.cancel_card(sold, "op", "lost in transit")
    assert gl(container, house.VOUCHER_FLOAT) == 0
    assert gl(container, house.CANCELLED_CARDS) == 10_0000
    ledger.cancel_card(unsold, "op", "misprinted")
    assert gl(container, house.CANCELLED_CARDS) == 10_0000
    assert (card_status(container, sold), card_status(container, unsold)) == ("cancelled", "cancelled")
    assert trial_balance(container) == 0


def test_an_operation_id_repeated_inside_one_group_commit_acts_once(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "t", number="6300001")
    ledger.deposit("6300001", 10_0000, "t")
    op = Ledger._op("pay-1", "debit", "6300001", 4_0000, house.ADJUSTMENTS)
    other = Ledger._op("pay-1", "debit", "6300001", 1_0000, house.ADJUSTMENTS)
    debit = ledger.debit_command("6300001", 4_0000, house.ADJUSTMENTS, "t")
    results = ledger.execute_many([(debit, op), (debit, op),
                                   (ledger.debit_command("6300001", 1_0000, house.ADJUSTMENTS, "t"), other)])
    assert results[0] == results[1] and isinstance(results[0], dict)
    assert isinstance(results[2], IdempotencyConflict)
    assert ledger.account("6300001").balance == 6_0000
    # A later group with the same id gets the first answer too.
    assert ledger.execute_many([(debit, op)]) == [results[0]]
    assert ledger.account("6300001").balance == 6_0000


def test_a_suspended_account_is_refused_calls_and_debits(container: Container) -> None:
    charging = set_up(container, 10_0000)
    container.ledger.set_status(ACCOUNT, "suspend", "op")
    answer = charging.authorize(call("s1"))
    assert (answer["authorized"], answer["reason"], answer["hold"]) == (False, "account_closed", 0)
    with pytest.raises(AccountNotActive):
        container.ledger.debit(ACCOUNT, 1_0000, house.ADJUSTMENTS, "t")
    account = container.ledger.account(ACCOUNT)
    assert (account.balance, account.held) == (10_0000, 0)
    container.ledger.set_status(ACCOUNT, "resume", "op")
    assert charging.authorize(call("s2"))["authorized"] is True


def test_an_account_with_bound_numbers_cannot_be_closed(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "t", number="6400001")
    ledger.deposit("6400001", 1_0000, "t")
    ledger.reserve("6400001", "h1", 1_0000, "switch")
    ledger.settle("6400001", "h1", 1_0000, house.revenue("direct", "local"), "switch")  # balance now 0
    ledger.bind("6400001", "+8613600136004", "t")
    with pytest.raises(AccountNotEmpty):
        ledger.set_status("6400001", "close", "op")
    assert ledger.account("6400001").status == "active"
    ledger.unbind("+8613600136004", "t")
    ledger.set_status("6400001", "close", "op")
    assert ledger.account("6400001").status == "closed"


def test_an_account_with_an_open_hold_cannot_be_closed(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "t", number="6500001")
    ledger.deposit("6500001", 1_0000, "t")
    ledger.reserve("6500001", "h1", 1_0000, "switch")
    # A hold never exceeds the balance, so the refusal must name the hold as the reason.
    with pytest.raises(AccountNotEmpty, match="open holds"):
        ledger.set_status("6500001", "close", "op")
    assert ledger.account("6500001").status == "active"


def test_a_redemption_repeated_with_its_operation_id_answers_the_same_and_credits_once(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "t", number="6600001")
    ledger.bind("6600001", "+8613600136006", "t")
    ledger.bind("6600001", "+8613600136007", "t")
    cards = ledger.issue_batch("voucher", 2, 10_0000, "t", name="OPID")
    (_, number, pin), (_, other, other_pin) = cards
    ledger.sell_cards([number, other], "voucher", 10_0000, "t")
    first = ledger.redeem_voucher(number, pin, "+8613600136006", "t", op_id="r-1")
    assert first == {"voucher": number, "account": "6600001", "amount": 10_0000, "balance": 10_0000}
    assert ledger.redeem_voucher(number, pin, "+8613600136006", "t", op_id="r-1") == first
    with pytest.raises(VoucherAlreadyRedeemed):
        ledger.redeem_voucher(number, pin, "+8613600136006", "t", op_id="r-2")
    # The same operation id for another voucher or another phone is a conflict, not a replay.
    with pytest.raises(IdempotencyConflict):
        ledger.redeem_voucher(other, other_pin, "+8613600136006", "t", op_id="r-1")
    with pytest.raises(IdempotencyConflict):
        ledger.redeem_voucher(number, pin, "+8613600136007", "t", op_id="r-1")
    assert ledger.account("6600001").balance == 10_0000


def test_a_hold_expires_only_once_its_ttl_has_passed_and_its_usage_goes_to_revenue(container: Container) -> None:
    policy = ChargingPolicy(refresh_seconds=0, hold_ttl=600, max_call_seconds=3600, grant_seconds=3600)
    charging = set_up(container, 10_0000, policy=policy)
    charging.authorize(call("lost"))
    charging.answer("lost", PEAK)
    charging.interim("lost", 300)  # 5 minutes: 0.50 used
    due = PEAK + timedelta(seconds=3600 + 600)  # max_seconds + TTL after authorize
    assert charging.expire_stale_holds(due - timedelta(seconds=1), ["lost"]) == []
    assert charging.interim("lost", 360)["continue"] is True  # the call is still open: 0.60 used
    assert charging.expire_stale_holds(due, ["lost"]) == [{"call_id": "lost", "expired": True, "charged": 6000}]
    assert charging.expire_stale_holds(due, ["lost"]) == []
    account = container.ledger.account(ACCOUNT)
    assert (account.balance, account.held) == (10_0000 - 6000, 0)
    assert gl(container, house.revenue("direct", "local")) == 6000
    assert container.views.query("SELECT status, charged, flags FROM cdrs WHERE call_id = 'lost'") == [
        ("expired", 6000, "expired")]
    assert trial_balance(container) == 0


def test_an_interim_at_zero_seconds_is_accepted_and_a_negative_one_refused(container: Container) -> None:
    charging = set_up(container, 10_0000)
    charging.authorize(call("i0"))
    assert charging.interim("i0", 0)["continue"] is True
    with pytest.raises(InvalidRequest):
        charging.interim("i0", -1)


def test_the_switch_reads_whole_answers_for_interim_and_for_the_end_of_a_refused_call(container: Container) -> None:
    charging = set_up(container, 10_0000, policy=ChargingPolicy(refresh_seconds=0, max_call_seconds=600))
    charging.authorize(call("a1"))
    charging.answer("a1", PEAK)
    assert charging.interim("a1", 120) == {"call_id": "a1", "continue": True, "max_seconds": 180, "used": 2000,
                                           "granted_seconds": 300, "hold": 5000, "low_balance": False,
                                           "reason": None}
    # At the longest call the switch is told to stop.
    stop = charging.interim("a1", 600)
    assert (stop["continue"], stop["reason"], stop["granted_seconds"]) == (False, "max_call_seconds", 600)
    refused = charging.authorize(call("r1", caller="+8613900139000"))
    assert refused["reason"] == "unknown_account"
    assert charging.end("r1", 30) == {
        "call_id": "r1", "charged": 0, "cost": 0, "balance": None, "available": None, "low_balance": False,
        "billsec": 0, "flags": "refused", "service": "direct"}


def test_an_end_with_its_own_hangup_time_is_recorded_at_that_instant(container: Container) -> None:
    from datetime import datetime, timezone

    charging = set_up(container, 10_0000)
    charging.authorize(call("t1"))
    beijing = timezone(timedelta(hours=8))
    hangup = datetime(2024, 5, 6, 10, 5, tzinfo=beijing)  # 02:05 UTC, five minutes after authorize
    assert charging.end("t1", 120, ended_at=hangup)["charged"] == 2000
    container.catch_up()
    [(ended_at,)] = container.views.query("SELECT ended_at FROM cdrs WHERE call_id = 't1'")
    assert datetime.fromisoformat(ended_at) == hangup


def test_a_call_of_exactly_its_maximum_is_charged_its_hold_without_flags(container: Container) -> None:
    charging = set_up(container, 20_0000, policy=ChargingPolicy(refresh_seconds=0, grant_seconds=12_000))
    answer = charging.authorize(call("exact"))  # 20.00 at 0.10/min: 200 minutes, all granted at once
    assert (answer["max_seconds"], answer["hold"]) == (12_000, 20_0000)
    end = charging.end("exact", 12_000)
    assert (end["charged"], end["cost"], end["flags"]) == (20_0000, 20_0000, "")
    assert container.ledger.account(ACCOUNT).balance == 0
    assert trial_balance(container) == 0


def test_a_call_past_its_maximum_is_capped_at_its_hold_and_flagged(container: Container) -> None:
    charging = set_up(container, 20_0000)
    charging.authorize(call("long"))
    end = charging.end("long", 12_001)
    assert (end["charged"], end["cost"], end["flags"]) == (20_0000, 20_1000, "capped,over_max")
    assert container.ledger.account(ACCOUNT).balance == 0
    assert trial_balance(container) == 0


def test_a_refusal_from_a_stale_cached_copy_is_checked_again_against_the_store(settings) -> None:
    from ringledger.container import build

    first, second = build(settings), build(settings)
    try:
        first.ledger.open_account("subscriber", "t", number="6700001")
        assert first.ledger.account("6700001").balance == 0  # now cached, empty, in the first process
        second.ledger.deposit("6700001", 5_0000, "t")  # another process funds it
        # The first process's cached copy says 0.00; the store says 5.00: the debit goes through.
        assert first.ledger.debit("6700001", 3_0000, house.ADJUSTMENTS, "t")["balance"] == 2_0000
        assert second.ledger.account("6700001").balance == 2_0000
    finally:
        first.close()
        second.close()


def test_a_voucher_locks_at_the_fifth_wrong_pin_and_then_refuses_the_right_one(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "t", number="6800001")
    ledger.bind("6800001", "+8613600136008", "t")
    [(_, number, pin)] = ledger.issue_batch("voucher", 1, 10_0000, "t", name="LOCK")
    ledger.sell_cards([number], "voucher", 10_0000, "t")
    wrong = str((int(pin[0]) + 1) % 10) + pin[1:]
    for _ in range(4):
        with pytest.raises(WrongPin):
            ledger.redeem_voucher(number, wrong, "+8613600136008", "t")
    with pytest.raises(PinLocked):
        ledger.redeem_voucher(number, wrong, "+8613600136008", "t")
    with pytest.raises(PinLocked):
        ledger.redeem_voucher(number, pin, "+8613600136008", "t")
    assert ledger.account("6800001").balance == 0


def test_a_voucher_redeemed_for_an_unbound_phone_is_refused_and_stays_sold(container: Container) -> None:
    ledger = container.ledger
    [(_, number, pin)] = ledger.issue_batch("voucher", 1, 10_0000, "t", name="NOPHONE")
    ledger.sell_cards([number], "voucher", 10_0000, "t")
    with pytest.raises(NumberNotBound):
        ledger.redeem_voucher(number, pin, "+8613600136009", "t")
    assert card_status(container, number) == "sold"


def test_a_blacklisted_caller_is_refused_however_the_switch_writes_the_number(container: Container) -> None:
    charging = set_up(container, 10_0000)
    charging.block("13800138000", "op")  # stored as +8613800138000
    answer = charging.authorize(call("b1", caller="13800138000"))
    assert (answer["authorized"], answer["reason"]) == (False, "blacklisted")
