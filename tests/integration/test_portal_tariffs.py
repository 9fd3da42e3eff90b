"""Tariffs through the GraphQL portal over HTTP: publish decks, read versions, look up rates, rerate.

Runs on SQLite and PostgreSQL. Prices are the demo deck's (rating/demo.py):
Monday 2024-05-06 10:00 Beijing is peak time, 22:00 is off-peak.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ledger.call_ids import tariff_id
from ledger.ids import account_id
from rating.deck import parse_deck
from rating.demo import DEMO_DECK
from services.charging import CallRequest, Charging, ChargingPolicy
from ringledger.container import Container
from tests.charging_support import trial_balance
from tests.integration.portal_support import BAR_A, BAR_B, Portal, open_portal

V1_FROM = "2024-01-01T00:00:00+08:00"
V2_FROM = "2024-05-01T00:00:00+08:00"
PEAK = "2024-05-06T10:00:00+08:00"
OFFPEAK = "2024-05-06T22:00:00+08:00"
CALLER = "+861065550000"  # a Beijing fixed line: 010 numbers are local to it

HEADER = ("prefix,category,name,price_per_minute,first_increment,next_increment,connect_fee,minimum_charge,"
          "peak_price,offpeak_price,offpeak_start,offpeak_end\n")
# Version 2: flat local and mobile prices, and no rate at all for Hong Kong, Macau, Taiwan.
V2_DECK = HEADER + ",local,Local flat,0.0500,60,60,,,,,,\n,mobile,Mobile flat,0.1000,60,60,,,,,,\n"

PUBLISH = """mutation($plan: String!, $from: DateTime!, $deck: String!) {
  publishTariff(plan: $plan, effectiveFrom: $from, deck: $deck) {
    name version effectiveFrom timeZone publishedBy rows { prefix category name pricePerMinute } } }"""
VERSIONS = "{ tariffs { name versions { version } current { version } } }"
LOOKUP = """query($dialled: String!, $at: DateTime, $plan: String, $account: String, $seconds: Int!) {
  rateLookup(dialled: $dialled, at: $at, plan: $plan, account: $account, caller: "+861065550000") {
    e164 category tariff version pricePerMinute band rate { prefix category name } costFor(seconds: $seconds) } }"""
RERATE = """mutation($filter: RerateFilter!, $version: Int) {
  rerate(filter: $filter, plan: "demo", version: $version) {
    selected rerated unchanged difference skipped { callId reason } } }"""


@pytest.fixture
def portal(container: Container) -> Portal:
    return open_portal(container, publish_demo=False)


def publish(portal: Portal, deck: str, effective: str, who: str = "operator", plan: str = "demo") -> dict[str, Any]:
    return portal.gql(who, PUBLISH, plan=plan, deck=deck, **{"from": effective})


def versions(portal: Portal) -> dict[str, list[int]]:
    tariffs = portal.gql("auditor", VERSIONS)["data"]["tariffs"]
    return {t["name"]: [v["version"] for v in t["versions"]] for t in tariffs}


def lookup(portal: Portal, dialled: str, seconds: int, who: str = "operator", **args: str) -> dict[str, Any]:
    answer = portal.gql(who, LOOKUP, dialled=dialled, seconds=seconds, **args)
    return answer["data"]["rateLookup"] if answer.get("data") else answer


def talk(c: Container, call: str, bar: str, callee: str, billsec: int) -> None:
    """One answered booth call, authorized and answered at PEAK, through the real charging engine."""
    charging = Charging(c.ledger, ChargingPolicy(refresh_seconds=0), lambda: datetime.fromisoformat(PEAK))
    charging.authorize(CallRequest(call_id=call, caller=CALLER, callee=callee, service="phonebar", account=bar,
                                   booth="1"))
    charging.answer(call)
    charging.end(call, billsec)


def test_an_operator_publishes_a_deck_and_every_reader_sees_it(portal: Portal) -> None:
    assert versions(portal) == {}
    published = publish(portal, DEMO_DECK, V1_FROM)["data"]["publishTariff"]
    assert {k: published[k] for k in ("name", "version", "effectiveFrom", "timeZone", "publishedBy")} == {
        "name": "demo", "version": 1, "effectiveFrom": "2023-12-31T16:00:00+00:00", "timeZone": "Asia/Shanghai",
        "publishedBy": f"key:{portal.key_ids['operator']}"}
    assert published["rows"][5] == {"prefix": "852", "category": None, "name": "Hong Kong", "pricePerMinute": "1.2000"}
    # The event records the key that published it.
    events = list(portal.container.ledger.repository.event_store.get(tariff_id("demo")))
    assert events[-1].actor == f"key:{portal.key_ids['operator']}"
    # A bar owner reads the price list too; its deck reads back as the rows that were published.
    read = portal.gql("bar_a", "{ tariffs { name versions { version fees { name } deck rows { name firstIncrement "
                               "nextIncrement connectFee minimumCharge bands { name start end pricePerMinute days } } } "
                               "current { version } } }")["data"]["tariffs"]
    assert [(t["name"], t["current"]) for t in read] == [("demo", {"version": 1})]
    v1 = read[0]["versions"][0]
    assert parse_deck(v1["deck"]) == parse_deck(DEMO_DECK) and v1["fees"] == []
    hong_kong = v1["rows"][5]
    assert hong_kong == {"name": "Hong Kong", "firstIncrement": 30, "nextIncrement": 6, "connectFee": "0.0000",
                         "minimumCharge": "0.0000", "bands": [
                             {"name": "offpeak", "start": "21:00", "end": "07:00", "pricePerMinute": "0.9000",
                              "days": [0, 1, 2, 3, 4, 5, 6]},
                             {"name": "peak", "start": "07:00", "end": "21:00", "pricePerMinute": "1.2000",
                              "days": [0, 1, 2, 3, 4, 5, 6]}]}


def test_the_version_in_force_is_the_one_for_the_instant_asked_about(portal: Portal) -> None:
    publish(portal, DEMO_DECK, V1_FROM)
    assert publish(portal, V2_DECK, V2_FROM)["data"]["publishTariff"]["version"] == 2
    query = "query($at: DateTime) { tariff(name: \"demo\", asOf: $at) { version effectiveFrom } }"
    assert portal.gql("auditor", query, at="2024-04-30T23:59:59+08:00")["data"]["tariff"]["version"] == 1
    assert portal.gql("auditor", query, at=V2_FROM)["data"]["tariff"] == {
        "version": 2, "effectiveFrom": "2024-04-30T16:00:00+00:00"}
    assert portal.gql("auditor", query, at="2023-12-31T23:59:59+08:00")["data"]["tariff"] is None
    assert portal.gql("auditor", query)["data"]["tariff"]["version"] == 2  # now
    assert portal.gql("auditor", '{ tariff(name: "demo", version: 1) { version } }')["data"]["tariff"] == {"version": 1}
    assert portal.gql("auditor", '{ tariff(name: "nope") { version } }')["data"]["tariff"] is None
    assert portal.gql("auditor", VERSIONS)["data"]["tariffs"] == [
        {"name": "demo", "versions": [{"version": 1}, {"version": 2}], "current": {"version": 2}}]
    # A lookup prices with the version in force at its instant.
    before = lookup(portal, "13800138000", 65, plan="demo", at="2024-04-29T10:00:00+08:00")
    after = lookup(portal, "13800138000", 65, plan="demo", at=PEAK)
    assert (before["version"], before["pricePerMinute"], before["band"], before["costFor"]) == (1, "0.2000", "peak",
                                                                                               "0.4000")
    assert (after["version"], after["pricePerMinute"], after["band"], after["costFor"]) == (2, "0.1000", None, "0.2000")


def test_a_rate_lookup_prices_local_mobile_hmt_and_international_numbers_exactly(portal: Portal) -> None:
    publish(portal, DEMO_DECK, V1_FROM)
    # A bar owner naming no plan gets its own bar's plan (demo).
    local = lookup(portal, "010 6234 5678", 125, who="bar_a", at=PEAK)
    assert local == {"e164": "+861062345678", "category": "local", "tariff": "demo", "version": 1,
                     "pricePerMinute": "0.1000", "band": "peak",
                     "rate": {"prefix": None, "category": "local", "name": "Local (same area)"},
                     "costFor": "0.3000"}  # 125 s in 60/60 blocks: 3 minutes at 0.10
    mobile = lookup(portal, "13800138000", 65, who="bar_a", at=PEAK)
    assert (mobile["e164"], mobile["category"], mobile["costFor"]) == ("+8613800138000", "mobile", "0.4000")
    hong_kong = lookup(portal, "00852 2123 4567", 40, account=BAR_A, at=PEAK)
    assert hong_kong["e164"] == "+85221234567" and hong_kong["category"] == "hmt"
    assert hong_kong["rate"] == {"prefix": "852", "category": None, "name": "Hong Kong"}
    assert (hong_kong["pricePerMinute"], hong_kong["costFor"]) == ("1.2000", "0.8400")  # 30/6: 42 s at 1.20
    london = lookup(portal, "+44 20 7946 0000", 61, plan="demo", at=PEAK)
    assert (london["e164"], london["category"], london["rate"]["name"], london["band"]) == (
        "+442079460000", "international", "United Kingdom", None)
    assert london["costFor"] == "3.4000"  # 66 s at 3.00 = 3.30, plus the 0.10 connect fee
    # Off-peak the band changes the price of the whole call.
    night = lookup(portal, "13800138000", 65, at=OFFPEAK, plan="demo")
    assert (night["band"], night["pricePerMinute"], night["costFor"]) == ("offpeak", "0.1200", "0.2400")
    # No rate for a destination: the lookup says so instead of inventing a price.
    publish(portal, HEADER + ",local,Local only,0.1000,60,60,,,,,,\n", V1_FROM, plan="local-only")
    none = lookup(portal, "13800138000", 65, plan="local-only", at=PEAK)
    assert (none["category"], none["rate"], none["pricePerMinute"], none["costFor"]) == ("mobile", None, None, None)
    assert lookup(portal, "12ab", 60, plan="demo")["errors"][0]["extensions"]["code"] == "invalid_request"
    assert lookup(portal, "13800138000", 60, plan="nope")["errors"][0]["extensions"]["code"] == "unknown_tariff"
    # A bar owner may not look up through another bar's account.
    assert lookup(portal, "13800138000", 60, who="bar_a", account=BAR_B)["errors"][0]["extensions"][
        "code"] == "forbidden"


def test_a_deck_with_bad_rows_is_refused_by_line_and_nothing_is_published(portal: Portal) -> None:
    lines = DEMO_DECK.splitlines()
    lines[2] = lines[2].replace("0.3000", "0.3.00", 1)  # file line 3
    lines[5] = lines[5].replace(",hmt,", ",galactic,")  # file line 6
    bad = "\n".join(lines) + "\n"
    refused = publish(portal, bad, V1_FROM)
    error = refused["errors"][0]
    assert refused["data"] is None and error["extensions"]["code"] == "invalid_deck"
    assert "line 3:" in error["message"] and "line 6:" in error["message"] and "line 4:" not in error["message"]
    assert [bad_line["line"] for bad_line in error["extensions"]["lines"]] == [3, 6]
    assert versions(portal) == {}
    assert list(portal.container.ledger.repository.event_store.get(tariff_id("demo"))) == []
    # With a version in force, a bad deck leaves it the only one.
    publish(portal, DEMO_DECK, V1_FROM)
    assert publish(portal, bad, V2_FROM)["errors"][0]["extensions"]["code"] == "invalid_deck"
    assert versions(portal) == {"demo": [1]}


def test_auditors_and_bar_owners_cannot_publish_or_rerate(portal: Portal) -> None:
    publish(portal, DEMO_DECK, V1_FROM)
    talk(portal.container, "a-1", BAR_A, "13800138000", 65)
    portal.container.catch_up()
    for who in ("auditor", "bar_a"):
        refused = publish(portal, V2_DECK, V2_FROM, who=who)
        assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "forbidden", who
        rerate = portal.gql(who, RERATE, filter={"account": BAR_A}, version=1)
        assert rerate["data"] is None and rerate["errors"][0]["extensions"]["code"] == "forbidden", who
    assert versions(portal) == {"demo": [1]}
    assert portal.container.ledger.account(BAR_A).balance == 100_0000 - 4000


def test_rerating_reprices_the_selected_calls_and_keeps_the_trial_balance_zero(portal: Portal) -> None:
    c = portal.container
    publish(portal, DEMO_DECK, V1_FROM)
    talk(c, "a-mobile", BAR_A, "13800138000", 65)  # 2 min at 0.20 = 0.40
    talk(c, "a-local", BAR_A, "01062345678", 125)  # 3 min at 0.10 = 0.30
    talk(c, "a-hk", BAR_A, "+85221234567", 40)  # 42 s at 1.20 = 0.84
    talk(c, "b-mobile", BAR_B, "13800138000", 65)  # 0.40
    publish(portal, V2_DECK, V2_FROM)  # in force from before the calls: mobile 0.10, local 0.05, no Hong Kong

    # Bar A's calls, each at the version in force when it was answered (v2): 0.35 back, Hong Kong skipped.
    result = portal.gql("operator", RERATE, filter={"account": BAR_A})["data"]["rerate"]
    assert result == {"selected": 3, "rerated": 2, "unchanged": 0, "difference": "-0.3500",
                      "skipped": [{"callId": "a-hk", "reason": "no_rate"}]}
    cdrs = portal.gql("auditor", "{ cdrs { edges { node { callId charged cost planVersion } } } }")["data"]["cdrs"]
    by_call = {e["node"]["callId"]: e["node"] for e in cdrs["edges"]}
    assert {k: (v["charged"], v["cost"], v["planVersion"]) for k, v in by_call.items()} == {
        "a-mobile": ("0.4000", "0.2000", 2), "a-local": ("0.3000", "0.1500", 2), "a-hk": ("0.8400", "0.8400", 1),
        "b-mobile": ("0.4000", "0.4000", 1)}
    balances = portal.gql("auditor", f'{{ a: account(number: "{BAR_A}") {{ balance }} '
                                     f'b: account(number: "{BAR_B}") {{ balance }} }}')["data"]
    assert balances == {"a": {"balance": "98.8100"}, "b": {"balance": "99.6000"}}
    assert trial_balance(c) == 0
    # The correction is a new event by the operator's key, not an edit.
    events = list(c.ledger.repository.event_store.get(account_id(BAR_A)))
    assert events[-1].actor == f"key:{portal.key_ids['operator']}"

    # By caller and time window: every call from that line at 10:00, now at v2 explicitly.
    window = {"caller": "010 6555 0000", "from": "2024-05-06T09:59:00+08:00", "to": "2024-05-06T10:01:00+08:00"}
    again = portal.gql("operator", RERATE, filter=window, version=2)["data"]["rerate"]
    assert again == {"selected": 4, "rerated": 1, "unchanged": 2, "difference": "-0.2000",
                     "skipped": [{"callId": "a-hk", "reason": "no_rate"}]}
    later = portal.gql("operator", RERATE, filter={"from": "2024-05-06T10:01:00+08:00"})["data"]["rerate"]
    assert later["selected"] == 0
    assert trial_balance(c) == 0
    assert c.ledger.account(BAR_B).balance == 100_0000 - 2000
    # Rerating needs a filter, so that nothing is rerated by accident.
    unfiltered = portal.gql("operator", RERATE, filter={})
    assert unfiltered["errors"][0]["extensions"]["code"] == "invalid_request"


def test_a_rate_lookup_without_plan_or_account_uses_the_configured_default_plan(settings) -> None:
    from ringledger.container import build

    publish_first = build(settings)
    try:
        unset = open_portal(publish_first)
        publish(unset, DEMO_DECK, V1_FROM)
        # No default plan configured: the schema's promise is an invalid_request error.
        refused = unset.gql("operator", LOOKUP, dialled="13800138000", seconds=60, at=PEAK)
        assert refused["errors"][0]["extensions"]["code"] == "invalid_request"
    finally:
        publish_first.close()
    configured = build(settings.model_copy(update={"default_plan": "demo"}))
    try:
        from fastapi.testclient import TestClient

        from ringledger.server import create_app

        portal = Portal(configured, TestClient(create_app(configured)), unset.tokens, unset.key_ids)
        found = lookup(portal, "13800138000", 60, at=PEAK)
        assert (found["tariff"], found["category"], found["pricePerMinute"]) == ("demo", "mobile", "0.2000")
    finally:
        configured.close()
