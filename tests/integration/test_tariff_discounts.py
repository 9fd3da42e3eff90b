"""Tariff discounts: rated as their own line, the hold sized on the discounted price, CDRs show all three."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ledger.call_ids import tariff_id
from ledger.errors import InvalidRequest
from ledger.tariff_book import TariffBook, TariffNotFound
from ledger.unit_of_work import UnitOfWork
from rating.discounts import PercentOff
from rating.tariffs import RateRow, TimeBand
from ringledger.container import Container
from services.charging import Charging, ChargingPolicy
from services.fakes import FixedClock
from tests.charging_support import ACCOUNT, LOCAL, PEAK, call, trial_balance
from tests.integration.portal_support import open_portal
from tests.integration.test_grants import assert_views_rebuild_alike

#: Local calls 1.00 a minute, 0.50 at night (Beijing 21:00-07:00); 60/60.
ROWS = [RateRow(name="Local", category="local", price_per_minute=1_0000,
                bands=(TimeBand("night", "21:00", "07:00", 5000),))]


def engine(c: Container, balance: int = 10_0000) -> tuple[Charging, FixedClock]:
    clock = FixedClock(PEAK)
    charging = Charging(c.ledger, ChargingPolicy(refresh_seconds=0, grant_seconds=3600), clock)
    charging.publish_plan("disc", ROWS, PEAK - timedelta(days=1), "test")
    c.ledger.open_account("subscriber", "test", number=ACCOUNT, plan="disc")
    c.ledger.deposit(ACCOUNT, balance, "test")
    c.ledger.bind(ACCOUNT, "+8613800138000", "test")
    return charging, clock


def cdr(c: Container, call_id: str) -> tuple[int, int, int]:
    c.catch_up()
    (row,) = c.views.query("SELECT list_price, discount, charged FROM cdrs WHERE call_id = ?", (call_id,))
    return int(row[0]), int(row[1]), int(row[2])


def test_a_twenty_percent_discount_shows_on_the_cdr_and_sizes_the_hold(container: Container) -> None:
    charging, _ = engine(container)
    charging.set_discounts("disc", [PercentOff(2000)], "op")
    answer = charging.authorize(call("d1"))
    # 10.00 pays 12 whole minutes at 0.80 (not 10 at the list 1.00): the hold is 9.60, never less than the charge.
    assert (answer["max_seconds"], answer["hold"]) == (720, 9_6000)
    charging.answer("d1", PEAK)
    end = charging.end("d1", 125)  # 3 minutes billed
    assert (end["cost"], end["charged"]) == (2_4000, 2_4000)
    assert cdr(container, "d1") == (3_0000, 6000, 2_4000)
    assert container.ledger.account(ACCOUNT).balance == 7_6000
    assert trial_balance(container) == 0
    assert_views_rebuild_alike(container)


def test_a_band_and_category_rule_applies_only_where_it_matches(container: Container) -> None:
    charging, clock = engine(container)
    charging.set_discounts("disc", [PercentOff(5000, category="local", band="night"),
                                    PercentOff(1000, category="mobile")], "op")
    charging.authorize(call("day"))
    charging.answer("day", PEAK)
    charging.end("day", 60)
    assert cdr(container, "day") == (1_0000, 0, 1_0000)  # 10:00 Beijing: no rule for local by day
    night = PEAK + timedelta(hours=13)  # 23:00 Beijing
    clock.now = night
    charging.authorize(call("night"))
    charging.answer("night", night)
    charging.end("night", 60)
    assert cdr(container, "night") == (5000, 2500, 2500)
    assert trial_balance(container) == 0


def test_calls_without_a_discount_show_list_price_equal_to_the_charge(container: Container) -> None:
    charging, _ = engine(container)
    charging.authorize(call("plain"))
    charging.answer("plain", PEAK)
    charging.end("plain", 61)
    assert cdr(container, "plain") == (2_0000, 0, 2_0000)


@pytest.mark.parametrize("rules", [
    [{"basis_points": 0}], [{"basis_points": 10_001}], [{"basis_points": 100, "category": "moon"}],
    [{"basis_points": 100, "band": "night\x00"}], [{"percent": 5}],
])
def test_a_bad_rule_is_refused_and_changes_nothing(container: Container, rules: list) -> None:
    charging, _ = engine(container)
    charging.set_discounts("disc", [PercentOff(1500)], "op")

    def command(uow: UnitOfWork) -> None:
        uow.get(tariff_id("disc"), TariffBook, lambda: AssertionError()).set_discounts(rules, "op")

    with pytest.raises(InvalidRequest):
        container.ledger.execute(command)
    assert [d.basis_points for d in charging.tariff("disc").discounts] == [1500]


def test_a_discount_on_an_unknown_tariff_is_refused(container: Container) -> None:
    charging, _ = engine(container)
    with pytest.raises(TariffNotFound):
        charging.set_discounts("nope", [PercentOff(1000)], "op")


SET = ("mutation($d: [TariffDiscountInput!]!) { setTariffDiscounts(plan: \"disc\", discounts: $d) "
       "{ percent basisPoints category band } }")


def test_the_portal_sets_discounts_and_shows_them_on_the_cdr(container: Container) -> None:
    portal = open_portal(container)
    charging, _ = engine(container)
    done = portal.gql("operator", SET, d=[{"percent": "12.5", "category": "local"}])["data"]["setTariffDiscounts"]
    assert done == [{"percent": "12.50", "basisPoints": 1250, "category": "local", "band": None}]
    charging.authorize(call("p1"))
    charging.answer("p1", PEAK)
    charging.end("p1", 60)
    container.catch_up()
    shown = portal.gql("auditor", '{ cdr(callId: "p1") { listPrice discount charged } }')["data"]["cdr"]
    assert shown == {"listPrice": "1.0000", "discount": "0.1250", "charged": "0.8750"}
    listed = portal.gql("auditor", '{ tariffDiscounts(plan: "disc") { basisPoints } }')["data"]["tariffDiscounts"]
    assert listed == [{"basisPoints": 1250}]
    free = 'mutation($m: Int!) { setTariffFreeMinutes(plan: "disc", minutes: $m) }'
    assert portal.gql("operator", free, m=100)["data"]["setTariffFreeMinutes"] == 100
    assert portal.gql("operator", free, m=-3)["errors"][0]["extensions"]["code"] == "invalid_request"
    assert charging.tariff("disc").free_minutes == 100


@pytest.mark.parametrize("bad", [{"percent": "0"}, {"percent": "100.01"}, {"percent": "1e2"}, {"percent": "-5"},
                                 {"percent": "10", "category": "moon"}])
def test_the_portal_refuses_a_bad_rule_and_keeps_the_old_ones(container: Container, bad: dict) -> None:
    portal = open_portal(container)
    engine(container)
    portal.gql("operator", SET, d=[{"percent": "5"}])
    refused = portal.gql("operator", SET, d=[{"percent": "20"}, bad])
    assert refused["errors"][0]["extensions"]["code"] == "invalid_request"
    listed = portal.gql("auditor", '{ tariffDiscounts(plan: "disc") { basisPoints } }')["data"]["tariffDiscounts"]
    assert listed == [{"basisPoints": 500}]
    assert portal.gql("bar_a", SET, d=[])["errors"][0]["extensions"]["code"] == "forbidden"


def test_the_cli_adds_lists_and_clears_discounts_and_refuses_bad_ones(cli, container: Container) -> None:
    engine(container)
    cli("tariffs", "discount", "disc", "--percent", "20")
    out = json.loads(cli("tariffs", "discount", "disc", "--percent", "50", "--category", "local", "--band", "night"))
    assert [(d["percent"], d["category"], d["band"]) for d in out["discounts"]] == [
        ("20.00", None, None), ("50.00", "local", "night")]
    for bad in (["--percent", "101"], ["--percent", "ten"], ["--percent", "5", "--category", "moon"],
                ["--percent", "5", "--clear"]):
        err = cli("tariffs", "discount", "disc", *bad, code=2)
        assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1, err
    cli("tariffs", "discount", "nope", "--percent", "5", code=2)
    assert len(json.loads(cli("tariffs", "discount", "disc"))["discounts"]) == 2
    assert json.loads(cli("tariffs", "discount", "disc", "--clear"))["discounts"] == []
    assert json.loads(cli("tariffs", "discount", "disc", "--free-minutes", "30"))["free_minutes"] == 30
    cli("tariffs", "discount", "disc", "--free-minutes", "-1", code=2)
    cli("tariffs", "discount", "disc", "--free-minutes", "5", "--percent", "5", code=2)
    assert json.loads(cli("tariffs", "discount", "disc"))["free_minutes"] == 30


def test_free_minutes_are_used_first_then_charged_and_come_back_next_month(container: Container) -> None:
    charging, clock = engine(container)
    charging.set_free_minutes("disc", 2, "op")
    for n, billsec in enumerate((90, 90), 1):  # each bills 120 s; the month gives 120 free seconds
        answer = charging.authorize(call(f"f{n}"))
        # The hold never counts on free minutes: 10.00 holds 10 minutes at the full price.
        assert (answer["max_seconds"], answer["hold"]) == (600, 10_0000)
        charging.answer(f"f{n}", PEAK)
        charging.end(f"f{n}", billsec)
    assert cdr(container, "f1") == (2_0000, 2_0000, 0)  # all free: the discount line is the whole list price
    assert cdr(container, "f2") == (2_0000, 0, 2_0000)  # none left this month
    next_month = PEAK.replace(month=6, day=3)  # 3 June 2024, 10:00 Beijing
    clock.now = next_month
    charging.authorize(call("f3"))
    charging.answer("f3", next_month)
    charging.end("f3", 150)  # 180 s billed, 120 free
    assert cdr(container, "f3") == (3_0000, 2_0000, 1_0000)
    assert container.ledger.account(ACCOUNT).balance == 10_0000 - 3_0000
    assert trial_balance(container) == 0
    # A rerate keeps the free seconds a call used: pricing f1 again at the same tariff changes nothing.
    assert charging.rerate(["f1", "f3"], "disc", None, "op")["difference"] == 0
    assert_views_rebuild_alike(container)


@pytest.mark.parametrize("minutes", [-1, 44_641, True])
def test_a_bad_free_minutes_allowance_is_refused_and_changes_nothing(container: Container, minutes: int) -> None:
    charging, _ = engine(container)
    charging.set_free_minutes("disc", 5, "op")
    with pytest.raises(InvalidRequest):
        charging.set_free_minutes("disc", minutes, "op")
    assert charging.tariff("disc").free_minutes == 5
