"""The booth board, checkout with the walk-in customer's bill, and the owner's low-deposit SMS."""

from __future__ import annotations

import threading

import pytest

from ledger.booths import BoothBusy, NothingToBill
from ringledger.container import Container
from tests.charging_support import trial_balance
from tests.phonebar_support import BAR, LOCAL, MOBILE, open_bar


def _retail(bar) -> None:
    """The bar's retail tariff: local 0.50/min, mobile 1.00/min, 60/60, in force since 2024."""
    from datetime import UTC, datetime

    from rating.tariffs import RateRow

    rows = [RateRow(name="Local (walk-in)", category="local", price_per_minute=5000),
            RateRow(name="Mobile (walk-in)", category="mobile", price_per_minute=10000)]
    bar.charging.publish_plan("walkin", rows, datetime(2024, 1, 1, tzinfo=UTC), "test")
    bar.container.ledger.set_retail_plan(BAR, "walkin", "test")


def test_the_board_shows_each_booth_its_call_and_the_running_retail_amount(container: Container) -> None:
    bar = open_bar(container)
    _retail(bar)
    for name in ("1", "2", "3"):
        bar.bars.add_booth(BAR, name, "owner")
    bar.call("c1", "1", MOBILE)
    bar.charging.answer("c1")
    bar.call("c2", "2", LOCAL)  # dialling, not answered yet
    bar.clock.advance(75)
    board = {row["booth"]: row for row in bar.bars.board(BAR)}
    assert list(board) == ["1", "2", "3"]
    talking = board["1"]
    assert (talking["state"], talking["dialled"], talking["elapsed"]) == ("talking", MOBILE, 75)
    assert (talking["running"], talking["priced_at"]) == (2_0000, "retail")  # 2 started minutes at 1.00
    assert (board["2"]["state"], board["2"]["elapsed"], board["2"]["running"]) == ("dialling", 75, 0)
    assert board["3"]["state"] == "idle" and board["3"]["call_id"] is None
    # Elapsed is read from the clock at each look.
    bar.clock.advance(60)
    assert bar.bars.board(BAR)[0]["elapsed"] == 135 and bar.bars.board(BAR)[0]["running"] == 3_0000
    bar.charging.end("c1", 135)
    assert bar.bars.board(BAR)[0]["state"] == "idle"


def test_checkout_bills_every_call_since_the_last_checkout_at_retail_once(container: Container) -> None:
    bar = open_bar(container)
    _retail(bar)
    bar.bars.add_booth(BAR, "1", "owner")
    bar.bars.add_booth(BAR, "2", "owner")
    bar.talk("a", "1", 65, MOBILE)  # retail 2 min x 1.00, wholesale 2 min x 0.20
    bar.talk("b", "1", 30, LOCAL)  # retail 1 min x 0.50, wholesale 0.10
    bar.talk("other", "2", 30, LOCAL)  # another booth's customer
    bill = bar.bars.checkout(BAR, "1", "owner")
    assert [line["call_id"] for line in bill["lines"]] == ["a", "b"]
    assert (bill["bill"], bill["retail_total"], bill["cost_total"]) == (1, 2_5000, 5000)
    assert [line["retail"] for line in bill["lines"]] == [2_0000, 5000]
    # Nothing new: a second checkout has nothing to bill and records nothing.
    with pytest.raises(NothingToBill):
        bar.bars.checkout(BAR, "1", "owner")
    bar.talk("c", "1", 10, LOCAL)
    again = bar.bars.checkout(BAR, "1", "owner")
    assert [line["call_id"] for line in again["lines"]] == ["c"] and again["bill"] == 2
    # A client that lost the answer repeats with its operation id and gets the same bill, not a new one.
    bar.talk("d", "1", 10, LOCAL)
    third = bar.bars.checkout(BAR, "1", "owner", op_id="till-7")
    assert bar.bars.checkout(BAR, "1", "owner", op_id="till-7") == third and third["bill"] == 3
    stored = bar.bars.bill(BAR, "1", 1)
    assert stored["retail_total"] == 2_5000 and [x["call_id"] for x in stored["lines"]] == ["a", "b"]
    assert [(b["booth"], b["bill"]) for b in bar.bars.bills(BAR)] == [("1", 3), ("1", 2), ("1", 1)]
    # The retail price is the bar's business: the deposit paid the wholesale cost only, and the books balance.
    assert container.ledger.account(BAR).balance == 5000_0000 - 5000 - 1000 - 1000 - 1000
    assert trial_balance(container) == 0


def test_a_booth_with_a_call_in_progress_is_not_checked_out(container: Container) -> None:
    bar = open_bar(container)
    bar.bars.add_booth(BAR, "1", "owner")
    bar.talk("done", "1", 30)
    bar.call("going", "1")
    with pytest.raises(BoothBusy):
        bar.bars.checkout(BAR, "1", "owner")
    bar.charging.end("going", 20)
    bill = bar.bars.checkout(BAR, "1", "owner")
    # Without a retail tariff a call is billed at its cost.
    assert [(x["call_id"], x["retail"], x["retail_priced"]) for x in bill["lines"]] == [
        ("done", 1000, False), ("going", 1000, False)]


def test_two_checkouts_racing_on_one_booth_never_bill_a_call_twice(container: Container) -> None:
    bar = open_bar(container)
    bar.bars.add_booth(BAR, "1", "owner")
    for i in range(5):
        bar.talk(f"r{i}", "1", 30)
    container.catch_up()
    barrier = threading.Barrier(4)
    results: list[object] = []

    def checkout() -> None:
        barrier.wait()
        try:
            results.append(bar.bars.checkout(BAR, "1", "owner"))
        except NothingToBill as err:
            results.append(err)

    threads = [threading.Thread(target=checkout) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bills = [r for r in results if isinstance(r, dict)]
    assert len(bills) == 1 and len(results) == 4
    assert sorted(x["call_id"] for x in bills[0]["lines"]) == [f"r{i}" for i in range(5)]
    container.catch_up()
    assert container.views.query("SELECT COUNT(*) FROM booth_bills") == [(1,)]


def test_the_owner_gets_one_sms_per_crossing_of_the_threshold(container: Container) -> None:
    bar = open_bar(container, deposit=10_0000)
    bar.bars.set_alert(BAR, 9_9000, "13900139000", "owner")
    bar.talk("a", None, 60)  # 10.00 -> 9.90: not under 9.90
    bar.talk("b", None, 60)  # -> 9.80: crosses
    bar.talk("c", None, 60)  # -> 9.70: still under, no second alert
    assert bar.sms.sent == []  # nothing is sent inside the charge
    sent = bar.bars.send_alerts()
    assert [s["alert"] for s in sent] == [1]
    (text,) = bar.sms.sent
    assert text.recipient == "+8613900139000" and "9.8000" in text.body and "9.9000" in text.body
    assert bar.bars.send_alerts() == [] and len(bar.sms.sent) == 1  # never twice
    # Topped up above the threshold, the next crossing alerts again.
    container.ledger.deposit(BAR, 1_0000, "owner")
    bar.talk("d", None, 60)  # 10.70 -> 10.60
    bar.talk("e", None, 600)  # -> 9.60: crosses again
    assert [s["alert"] for s in bar.bars.send_alerts()] == [2] and len(bar.sms.sent) == 2
    container.catch_up()
    rows = container.views.query("SELECT alert, balance, sent_at IS NOT NULL FROM bar_alerts ORDER BY alert")
    assert rows == [(1, 9_8000, True), (2, 9_6000, True)]
    assert trial_balance(container) == 0


def test_an_alert_recorded_before_a_crash_is_sent_after_it(container: Container) -> None:
    bar = open_bar(container, deposit=1_0000)
    bar.bars.set_alert(BAR, 5000, "13900139000", "owner")
    bar.talk("a", None, 360)  # 1.00 -> 0.40
    # The process stops before the sender runs; a new process on the same store sends it.
    from ringledger.container import build
    from services.fakes import RecordingSmsGateway
    from services.phonebar.service import PhoneBars

    other = build(container.settings)
    try:
        sms = RecordingSmsGateway()
        PhoneBars(other.ledger, other.views, bar.charging, other.fresh, sms).send_alerts()
        assert [t.recipient for t in sms.sent] == ["+8613900139000"]
    finally:
        other.close()
    assert bar.bars.send_alerts() == [] and bar.sms.sent == []


def test_booths_sharing_a_deposit_stop_when_it_runs_out(container: Container) -> None:
    bar = open_bar(container, deposit=3000)  # 0.30: one started minute to a mobile (0.20), not two
    bar.bars.add_booth(BAR, "1", "owner")
    bar.bars.add_booth(BAR, "2", "owner")
    first = bar.call("one", "1", MOBILE)
    assert first["authorized"] is True and first["max_seconds"] <= 60
    # What is left cannot pay booth 2's first minute.
    assert bar.call("two", "2", MOBILE)["reason"] == "insufficient_funds"
    bar.charging.answer("one")
    # The switch ran over its grant (600 s would cost 2.00): charged what the hold and the rest of the
    # deposit pay for, never below zero, and flagged.
    ended = bar.charging.end("one", 600)
    assert ended["charged"] == 3000 and {"capped", "over_max"} <= set(ended["flags"].split(","))
    assert container.ledger.account(BAR).balance == 0
    assert trial_balance(container) == 0


def test_an_alert_the_gateway_fails_to_take_is_sent_on_the_next_run(container: Container) -> None:
    bar = open_bar(container, deposit=1_0000)
    bar.bars.set_alert(BAR, 5000, "13900139000", "owner")
    bar.talk("a", None, 360)  # 1.00 -> 0.40: one alert
    real_send = bar.sms.send

    def down(recipient: str, body: str) -> str:
        raise ConnectionError("gateway unreachable")

    bar.sms.send = down  # type: ignore[method-assign]
    assert bar.bars.send_alerts() == [] and "gateway unreachable" in bar.bars.failures[0]
    bar.sms.send = real_send  # type: ignore[method-assign]
    assert [s["alert"] for s in bar.bars.send_alerts()] == [1] and len(bar.sms.sent) == 1
