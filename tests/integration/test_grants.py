"""Grants in slices, on each store: a call holds one slice at a time, extended while money lasts, then cut.

Every test prices calls on a fixed clock (`FixedClock`), moved by hand.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from ledger.accounts import Account
from ledger.ids import account_id
from projections.runner import Projector
from rating.tariffs import RateRow
from ringledger.container import Container
from ringledger.phonebar import build_phonebars
from ringledger.scheduler import grant_job
from services.charging import CallRequest, Charging, ChargingPolicy
from services.fakes import FixedClock, RecordingCallControl
from tests.charging_support import (
    ACCOUNT,
    LOCAL,
    PEAK,
    PHONE,
    call,
    set_up,
    trial_balance,
)

USA = "+12125550100"
#: A flat tariff for the tests: every number under +1 at 3.00 a minute, billed in whole minutes.
FLAT = [RateRow(name="USA", prefix="1", price_per_minute=3_0000)]
BAR = "9100000001"


def slices(container: Container, balance: int, *, grant: int = 60, lead: int = 30, kind: str = "subscriber",
           number: str = ACCOUNT, max_call: int = 14_400) -> tuple[Charging, FixedClock, RecordingCallControl]:
    """Charging with a `grant`-second slice, the flat tariff in force, and an account of `balance` on it."""
    clock, cuts = FixedClock(PEAK), RecordingCallControl()
    policy = ChargingPolicy(refresh_seconds=0, grant_seconds=grant, grant_lead=lead, max_call_seconds=max_call)
    charging = Charging(container.ledger, policy, clock, call_control=cuts)
    charging.publish_plan("flat", FLAT, PEAK - timedelta(days=1), "test")
    container.ledger.open_account(kind, "test", number=number, plan="flat")
    container.ledger.deposit(number, balance, "test")
    if kind == "subscriber":
        container.ledger.bind(number, PHONE, "test")
    return charging, clock, cuts


def booth_call(n: int) -> CallRequest:
    return CallRequest(call_id=f"booth-{n}", caller="+862150001234", callee=USA, service="phonebar",
                       account=BAR, booth=str(n))


def account(container: Container, number: str = ACCOUNT) -> Account:
    return container.ledger.account(number)


def test_authorize_grants_one_slice_not_the_whole_call(container: Container) -> None:
    charging, _, _ = slices(container, 100_0000, grant=300)
    # 100.00 at 3.00 a minute would pay 33 minutes; five are granted and held.
    first = charging.authorize(call("c1", USA))
    assert (first["max_seconds"], first["granted_seconds"], first["hold"]) == (300, 300, 15_0000)
    assert account(container).available == 85_0000
    # So the next calls still connect: the first one does not hold the deposit.
    assert all(charging.authorize(call(f"c{i}", USA))["authorized"] for i in range(2, 7))
    last = charging.authorize(call("c7", USA))  # 10.00 left: a part of a slice, whole minutes only
    assert (last["authorized"], last["max_seconds"], last["hold"]) == (True, 180, 9_0000)
    assert account(container).available == 1_0000
    assert charging.authorize(call("c8", USA))["reason"] == "insufficient_funds"


def test_an_interim_near_the_end_of_the_grant_extends_it_by_the_next_slice(container: Container) -> None:
    charging, _, _ = slices(container, 20_0000)
    charging.authorize(call("c1", USA))
    charging.answer("c1", PEAK)
    early = charging.interim("c1", 20)  # 40 s left, more than the 30 s lead: nothing more held
    assert (early["continue"], early["max_seconds"], early["granted_seconds"], early["hold"]) == (True, 40, 60, 3_0000)
    later = charging.interim("c1", 45)  # 15 s left: the next slice is held
    assert (later["continue"], later["max_seconds"], later["granted_seconds"], later["hold"]) == (
        True, 75, 120, 6_0000)
    assert (account(container).held, account(container).available) == (6_0000, 14_0000)
    # The end charges the rated cost of what was talked and releases the rest of the hold.
    end = charging.end("c1", 70)
    assert (end["charged"], end["flags"]) == (6_0000, "")
    assert (account(container).balance, account(container).held) == (14_0000, 0)
    assert trial_balance(container) == 0


def test_a_repeated_interim_extends_once_and_answers_alike(container: Container) -> None:
    charging, _, _ = slices(container, 20_0000)
    charging.authorize(call("c1", USA))
    charging.answer("c1", PEAK)
    first = charging.interim("c1", 45)
    assert charging.interim("c1", 45) == first  # the switch retried
    assert charging.interim("c1", 40) == {**first, "max_seconds": 75}  # an older report changes nothing
    assert account(container).held == 6_0000
    container.catch_up()
    assert container.views.query("SELECT hold, max_seconds FROM cdrs WHERE call_id = 'c1'") == [(6_0000, 120)]
    assert container.views.query("SELECT amount FROM holds WHERE hold = 'c1'") == [(6_0000,)]


def test_an_extension_that_cannot_be_held_lets_the_grant_run_out_then_cuts_the_call(container: Container) -> None:
    charging, _, cuts = slices(container, 5_0000)  # one slice (3.00) and 2.00: not another whole minute
    charging.authorize(call("c1", USA))
    charging.answer("c1", PEAK)
    going = charging.interim("c1", 45)  # no next slice: the switch may still talk the 15 s held
    assert (going["continue"], going["max_seconds"], going["granted_seconds"]) == (True, 15, 60)
    assert going["low_balance"] is False and cuts.cuts == []
    stop = charging.interim("c1", 60)
    assert (stop["continue"], stop["max_seconds"], stop["reason"]) == (False, 0, "insufficient_funds")
    assert cuts.cuts == [("c1", "insufficient_funds")]
    assert charging.interim("c1", 60) == stop and len(cuts.cuts) == 1  # cut once
    assert charging.interim("c1", 65)["continue"] is False and len(cuts.cuts) == 1  # slow to stop: still once
    end = charging.end("c1", 60)
    assert (end["charged"], end["flags"]) == (3_0000, "cut")
    assert account(container).balance == 2_0000 and account(container).available == 2_0000
    container.catch_up()
    assert container.views.query("SELECT flags FROM cdrs WHERE call_id = 'c1'") == [("cut",)]


def test_the_low_balance_warning_follows_what_is_available_after_each_grant(container: Container) -> None:
    charging, _, _ = slices(container, 11_0000)
    assert charging.authorize(call("c1", USA))["low_balance"] is False  # 8.00 left
    charging.answer("c1", PEAK)
    assert charging.interim("c1", 45)["low_balance"] is False  # 5.00 left
    assert charging.interim("c1", 105)["low_balance"] is False  # 2.00 left: not under 2.00
    assert charging.interim("c1", 110)["low_balance"] is False
    charging.authorize(call("c2", USA))  # 2.00 is not a minute: refused, nothing held
    assert charging.interim("c1", 165)["low_balance"] is False  # no slice could be held: still 2.00
    charging.ledger.adjust(ACCOUNT, -1, "test", "a ten-thousandth less")
    assert charging.interim("c1", 170)["low_balance"] is True


def test_ten_booths_on_one_deposit_all_connect_and_are_cut_in_the_order_the_money_runs_out(
        container: Container) -> None:
    charging, clock, cuts = slices(container, 100_0000, kind="phonebar", number=BAR)
    bars = build_phonebars(container, charging)
    for n in range(1, 11):  # the bar's ten booths, each allowed international calls
        bars.add_booth(BAR, str(n), "owner")
    # Ten booths dial the USA at 3.00 a minute at once: each is granted one minute (3.00).
    answers = [charging.authorize(booth_call(n)) for n in range(1, 11)]
    assert all(a["authorized"] and a["granted_seconds"] == 60 for a in answers)
    assert account(container, BAR).available == 70_0000
    for n in range(1, 11):
        charging.answer(f"booth-{n}", PEAK)
    talking = list(range(1, 11))
    ended: dict[str, int] = {}
    for used in range(30, 600, 30):  # each booth's switch reports every 30 s, booth 1 first
        clock.advance(30)
        for n in list(talking):
            answer = charging.interim(f"booth-{n}", used)
            if not answer["continue"]:  # the booth is cut: its switch hangs up and reports the end
                ended[f"booth-{n}"] = charging.end(f"booth-{n}", used)["charged"]
                talking.remove(n)
            bar = account(container, BAR)
            assert bar.available >= 0 and bar.balance >= 0  # never negative, at any report
    assert talking == []
    # Each extension takes the next minute while 3.00 is available; booths 1-3 took the last ones.
    assert cuts.cuts == [(f"booth-{n}", "insufficient_funds") for n in (*range(4, 11), 1, 2, 3)]
    assert ended == {**{f"booth-{n}": 9_0000 for n in range(4, 11)}, **{f"booth-{n}": 12_0000 for n in (1, 2, 3)}}
    bar = account(container, BAR)
    spent = 100_0000 - bar.balance
    assert sum(ended.values()) == spent == 99_0000 and bar.held == 0
    container.catch_up()
    assert container.views.query("SELECT CAST(SUM(charged) AS BIGINT) FROM cdrs WHERE bar = ?", (BAR,)) == [
        (spent,)]
    assert trial_balance(container) == 0
    assert_views_rebuild_alike(container)


def assert_views_rebuild_alike(container: Container) -> None:
    """Every view rebuilt from the log (extensions and cuts included) equals the live one."""
    container.catch_up()
    scratch = Projector(container.ledger, container.views, prefix="scratch_")
    try:
        scratch.run()
        assert scratch.dump() == container.projector.dump()
    finally:
        scratch.drop()
        scratch.close()


def test_concurrent_interims_on_one_deposit_never_take_available_below_zero(container: Container) -> None:
    charging, _, _ = slices(container, 50_0000, kind="phonebar", number=BAR)
    for n in range(1, 11):  # ten booths hold 30.00; 20.00 is left for extensions
        assert charging.authorize(booth_call(n))["authorized"]
        charging.answer(f"booth-{n}", PEAK)

    def talk(n: int) -> list[dict]:
        return [charging.interim(f"booth-{n}", used) for used in (45, 105, 165)]

    with ThreadPoolExecutor(max_workers=10) as pool:
        reports = [r for rs in pool.map(talk, range(1, 11)) for r in rs]
    bar = account(container, BAR)
    assert bar.available >= 0
    # What every answer granted is held: the holds add up to the account's, within its balance.
    granted = {f"booth-{n}": 0 for n in range(1, 11)}
    for n in range(1, 11):
        granted[f"booth-{n}"] = charging.interim(f"booth-{n}", 165)["hold"]
    assert sum(granted.values()) == bar.held <= bar.balance
    assert bar.held == 30_0000 + 18_0000  # six more minutes fitted in 20.00, and no more
    assert all(r["granted_seconds"] * 3_0000 // 60 <= r["hold"] for r in reports)
    # Replayed event by event, the deposit was never below zero.
    versions = bar.version
    for version in range(1, versions + 1):
        past = container.ledger.repository.get(account_id(BAR), version=version)
        assert past.available >= 0


def test_the_ledger_s_timer_extends_a_silent_switch_s_call_and_cuts_it_when_the_money_runs_out(
        container: Container) -> None:
    charging, clock, cuts = slices(container, 10_0000)
    charging.authorize(call("quiet", USA))
    charging.answer("quiet", PEAK)  # the switch reports nothing more until the hangup
    clock.advance(20)
    assert grant_job(container, charging, clock) == []  # 40 s left: not yet
    clock.advance(10)
    assert [d["granted_seconds"] for d in grant_job(container, charging, clock)] == [120]
    assert grant_job(container, charging, clock) == []  # run twice at one instant: extended once
    clock.advance(60)
    assert [d["granted_seconds"] for d in grant_job(container, charging, clock)] == [180]
    assert account(container).available == 1_0000
    clock.advance(60)  # 150 s: 30 s left and no minute to hold; the call talks on to its end
    assert grant_job(container, charging, clock) == [] and cuts.cuts == []
    clock.advance(30)
    assert [d["cut"] for d in grant_job(container, charging, clock)] == ["insufficient_funds"]
    assert cuts.cuts == [("quiet", "insufficient_funds")]
    clock.advance(10)
    assert grant_job(container, charging, clock) == [] and len(cuts.cuts) == 1
    # The switch hung up 5 s late: what was held, and what was still available, pays for it.
    end = charging.end("quiet", 185)
    assert (end["charged"], end["cost"], end["flags"]) == (10_0000, 12_0000, "capped,over_max,cut")
    assert account(container).balance == 0 and account(container).held == 0
    assert trial_balance(container) == 0


def test_an_extended_hold_expires_ttl_after_the_end_of_its_new_grant(container: Container) -> None:
    charging, clock, _ = slices(container, 20_0000)
    charging.authorize(call("lost", USA))
    charging.answer("lost", PEAK)
    clock.advance(40)
    assert charging.interim("lost", 40)["granted_seconds"] == 120  # then the switch goes quiet
    ttl = charging.policy.hold_ttl
    due = PEAK + timedelta(seconds=120 + ttl)  # not 40 s + TTL after the report: the grant runs to 120 s
    assert charging.expire_stale_holds(due - timedelta(seconds=1), ["lost"]) == []
    assert charging.expire_stale_holds(due, ["lost"]) == [{"call_id": "lost", "expired": True, "charged": 3_0000}]
    assert (account(container).balance, account(container).held) == (17_0000, 0)
    assert trial_balance(container) == 0


def test_a_call_is_cut_at_the_longest_call_even_with_money_left(container: Container) -> None:
    charging, _, cuts = slices(container, 50_0000, max_call=150)
    charging.authorize(call("long", USA))
    charging.answer("long", PEAK)
    assert charging.interim("long", 40)["granted_seconds"] == 120
    assert charging.interim("long", 100)["granted_seconds"] == 150  # the last part-slice: up to the cap
    stop = charging.interim("long", 150)
    assert (stop["continue"], stop["reason"]) == (False, "max_call_seconds")
    assert cuts.cuts == [("long", "max_call_seconds")]
    charging.end("long", 150)
    assert_views_rebuild_alike(container)


def test_an_answer_in_a_dearer_time_band_holds_the_grant_s_new_price_or_grants_less(container: Container) -> None:
    clock = FixedClock(datetime(2024, 5, 5, 22, 59, tzinfo=UTC))  # 06:59 Beijing: off-peak, 0.06 a minute
    charging = set_up(container, 4000, clock=clock)  # the demo tariff; 0.40 on the account
    assert charging.authorize(call("c1", LOCAL))["hold"] == 3000  # 5 minutes off-peak: 0.30
    # Answered at 07:00:30, peak: 0.10 a minute. 0.40 pays 4 minutes, not 5: the grant shrinks to what is held.
    answered = charging.answer("c1", datetime(2024, 5, 5, 23, 0, 30, tzinfo=UTC))
    assert (answered["max_seconds"], answered["granted_seconds"]) == (240, 240)
    assert (account(container).held, account(container).available) == (4000, 0)
    assert charging.end("c1", 240)["charged"] == 4000
    container.catch_up()
    assert container.views.query("SELECT hold, max_seconds FROM cdrs WHERE call_id = 'c1'") == [(4000, 240)]
    assert trial_balance(container) == 0


def test_an_answer_in_a_dearer_band_with_nothing_to_pay_the_first_minute_cuts_the_call(
        container: Container) -> None:
    clock = FixedClock(datetime(2024, 5, 5, 22, 59, tzinfo=UTC))
    cuts = RecordingCallControl()
    charging = set_up(container, 600, clock=clock)  # 0.06: one off-peak minute
    charging.call_control = cuts
    assert charging.authorize(call("c1", LOCAL))["max_seconds"] == 60
    answered = charging.answer("c1", datetime(2024, 5, 5, 23, 0, 30, tzinfo=UTC))  # peak: 0.10 a minute
    assert (answered["max_seconds"], answered["granted_seconds"]) == (0, 0)
    assert cuts.cuts == [("c1", "insufficient_funds")]
    assert account(container).available == 0
