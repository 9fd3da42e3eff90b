"""The GraphQL portal over HTTP: every query and mutation family, every role, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import house
from ledger.ids import account_id
from ringledger.container import Container
from tests.integration.portal_support import (
    BAR_A,
    BAR_B,
    Portal,
    TODAY,
    make_calls,
    on_business_day,
    open_portal,
)

ACCOUNT = "query($n: String!) { account(number: $n) { number kind balance held available phones } }"


@pytest.fixture
def portal(container: Container) -> Iterator[Portal]:
    with on_business_day(container):
        yield open_portal(container)


def test_a_request_without_a_valid_key_is_refused_before_any_query_runs(portal: Portal) -> None:
    assert portal.gql(None, "{ me { role } }")["status"] == 401
    anonymous = portal.client.post("/graphql", json={"query": "{ me { role } }"},
                                   headers={"Authorization": "Bearer rlk_not-a-key"})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthenticated"
    switch = portal.gql("switch", "{ me { role } }")
    assert switch["status"] == 403 and switch["error"] == "forbidden"
    # The explorer page itself holds no data and opens without a key.
    assert "GraphiQL" in portal.client.get("/graphql", headers={"Accept": "text/html"}).text


def test_a_revoked_key_stops_working_at_once(portal: Portal) -> None:
    assert portal.gql("auditor", "{ me { role } }")["data"]["me"]["role"] == "auditor"
    revoked = portal.gql("operator", "mutation($k: String!) { revokeKey(keyId: $k, reason: \"left\") }",
                         k=portal.key_ids["auditor"])
    assert revoked["data"]["revokeKey"] is True
    assert portal.gql("auditor", "{ me { role } }")["status"] == 401
    keys = portal.gql("operator", "{ apiKeys { keyId role revokedAt } }")["data"]["apiKeys"]
    assert {k["keyId"]: k["revokedAt"] is not None for k in keys}[portal.key_ids["auditor"]]


def test_an_operator_opens_funds_binds_and_reads_an_account(portal: Portal) -> None:
    opened = portal.gql("operator", 'mutation { openAccount(input: {kind: "subscriber", number: "8000000001", '
                                    'pin: "123456"}) { number kind status balance } }')
    assert opened["data"]["openAccount"] == {"number": "8000000001", "kind": "subscriber", "status": "active",
                                             "balance": "0.0000"}
    portal.gql("operator", 'mutation { deposit(number: "8000000001", amount: "50.00") { balance } }')
    adjusted = portal.gql("operator", 'mutation { adjust(number: "8000000001", amount: "-2.5", reason: "refund") '
                                      '{ balance available } }')
    assert adjusted["data"]["adjust"] == {"balance": "47.5000", "available": "47.5000"}
    bound = portal.gql("operator", 'mutation { bindNumber(number: "8000000001", phone: "138 0013 8000") { phones } }')
    assert bound["data"]["bindNumber"]["phones"] == ["+8613800138000"]
    by_phone = portal.gql("operator", '{ account(phone: "13800138000") { number } }')
    assert by_phone["data"]["account"]["number"] == "8000000001"
    by_id = portal.gql("operator", "query($id: ID!) { account(id: $id) { number } }", id=str(account_id("8000000001")))
    assert by_id["data"]["account"]["number"] == "8000000001"
    moved = portal.gql("operator", 'mutation { transfer(from: "8000000001", to: "5550001", amount: "7.50") '
                                   '{ from { balance } to { balance } amount } }')
    assert moved["data"]["transfer"] == {"from": {"balance": "40.0000"}, "to": {"balance": "107.5000"},
                                         "amount": "7.5000"}
    # The statement is every posting with its running balance, oldest first.
    statement = portal.gql("operator", '{ statement(account: "8000000001") { edges { node { amount balanceAfter '
                                       'event memo } } } }')
    lines = [e["node"] for e in statement["data"]["statement"]["edges"]]
    assert [(x["amount"], x["balanceAfter"]) for x in lines] == [
        ("50.0000", "50.0000"), ("-2.5000", "47.5000"), ("-7.5000", "40.0000")]
    assert lines[1]["memo"] == "refund"
    portal.gql("operator", 'mutation { unbindNumber(phone: "+8613800138000") { phones } }')
    portal.gql("operator", 'mutation { changePin(number: "8000000001", newPin: "654321") }')
    portal.gql("operator", 'mutation { adjust(number: "8000000001", amount: "-40", reason: "closing") { balance } }')
    closed = portal.gql("operator", 'mutation { closeAccount(number: "8000000001", reason: "moved") { status } }')
    assert closed["data"]["closeAccount"]["status"] == "closed"


def test_every_change_records_the_acting_key(portal: Portal) -> None:
    portal.gql("operator", 'mutation { deposit(number: "5550001", amount: "1.00") { balance } }')
    events = list(portal.container.ledger.repository.event_store.get(account_id("5550001")))
    assert events[-1].actor == f"key:{portal.key_ids['operator']}"


def test_an_auditor_reads_everything_but_cannot_change_anything(portal: Portal) -> None:
    read = portal.gql("auditor", '{ accounts(kind: "phonebar") { edges { node { number balance } } } '
                                 "auditDigest { position digest } }")
    assert [e["node"]["number"] for e in read["data"]["accounts"]["edges"]] == [BAR_A, BAR_B]
    assert len(read["data"]["auditDigest"]["digest"]) == 64
    refused = portal.gql("auditor", 'mutation { deposit(number: "5550001", amount: "1.00") { balance } }')
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"
    assert portal.container.ledger.account(BAR_A).balance == 100_0000


def test_a_bar_owner_sees_only_their_own_bar(portal: Portal) -> None:
    make_calls(portal.container, BAR_A, 2)
    make_calls(portal.container, BAR_B, 3)
    own = portal.gql("bar_a", "{ cdrs { edges { node { bar booth cost } } } holds { account } }")
    assert [e["node"]["bar"] for e in own["data"]["cdrs"]["edges"]] == [BAR_A, BAR_A]
    assert own["data"]["cdrs"]["edges"][0]["node"] == {"bar": BAR_A, "booth": "3", "cost": "0.4000"}
    # Asking for the other bar answers nothing of it.
    other = portal.gql("bar_a", "query($b: String) { cdrs(filter: {bar: $b}) { edges { node { callId } } } }", b=BAR_B)
    assert other["data"] is None and other["errors"][0]["extensions"]["code"] == "forbidden"
    for query in (f'{{ account(number: "{BAR_B}") {{ balance }} }}',
                  f'{{ statement(account: "{BAR_B}") {{ edges {{ node {{ amount }} }} }} }}',
                  f'{{ barStatement(bar: "{BAR_B}", from: "2020-01-01", to: "2020-01-02") {{ csv }} }}',
                  "{ cards { edges { node { number } } } }",
                  '{ dailyRevenue(from: "2020-01-01", to: "2020-01-02") { total } }'):
        answer = portal.gql("bar_a", query)
        assert answer.get("data") is None or all(v is None for v in answer["data"].values()), query
        assert answer["errors"][0]["extensions"]["code"] == "forbidden", query
    mine = portal.gql("bar_a", f'{{ account(number: "{BAR_A}") {{ balance }} }}')
    assert mine["data"]["account"]["balance"] == "99.2000"
    # The owner cannot change anything either.
    assert portal.gql("bar_a", 'mutation { deposit(number: "5550001", amount: "1.00") { balance } }')[
        "errors"][0]["extensions"]["code"] == "forbidden"


def test_cdrs_page_through_without_gaps_or_duplicates(portal: Portal) -> None:
    expected = set(make_calls(portal.container, BAR_A, 12))
    make_calls(portal.container, BAR_A, 2, booth="4")
    query = ("query($after: String) { cdrs(filter: {booth: \"3\"}, first: 5, after: $after) "
             "{ edges { node { callId authorizedAt } } pageInfo { hasNextPage endCursor } } }")
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = portal.gql("bar_a", query, after=after)["data"]["cdrs"]
        seen += [e["node"]["callId"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3 and len(seen) == 12 and set(seen) == expected


def test_domain_errors_come_back_with_codes_and_change_nothing(portal: Portal) -> None:
    too_much = portal.gql("operator", 'mutation { transfer(from: "5550001", to: "5550002", amount: "500.00") '
                                      "{ amount } }")
    assert too_much["errors"][0]["extensions"]["code"] == "insufficient_funds"
    assert portal.gql("operator", 'mutation { deposit(number: "5550001", amount: "1.23456") { balance } }')[
        "errors"][0]["extensions"]["code"] in ("invalid_money", "invalid_query")
    assert portal.gql("operator", 'mutation { deposit(number: "999999", amount: "1.00") { balance } }')[
        "errors"][0]["extensions"]["code"] == "unknown_account"
    assert portal.gql("operator", '{ cdrs(after: "garbage") { edges { cursor } } }')[
        "errors"][0]["extensions"]["code"] == "invalid_request"
    balances = portal.gql("operator", '{ a: account(number: "5550001") { balance } b: account(number: "5550002") '
                                      "{ balance } }")["data"]
    assert balances == {"a": {"balance": "100.0000"}, "b": {"balance": "100.0000"}}


def test_cards_are_issued_sold_redeemed_and_counted(portal: Portal) -> None:
    issued = portal.gql("operator", 'mutation { issueCards(kind: "voucher", count: 3, face: "50.00", batch: "V1") '
                                    "{ batch { name count } cards { serial number pin } } }")["data"]["issueCards"]
    assert issued["batch"] == {"name": "V1", "count": 3} and len(issued["cards"]) == 3
    sold = portal.gql("operator", 'mutation { activateCards(batch: "V1", fromSerial: 1, toSerial: 2) { sold value } }')
    assert sold["data"]["activateCards"] == {"sold": 2, "value": "100.0000"}
    portal.gql("operator", 'mutation { openAccount(input: {kind: "subscriber", number: "8000000002"}) { number } }')
    portal.gql("operator", 'mutation { bindNumber(number: "8000000002", phone: "13900139000") { number } }')
    first = issued["cards"][0]
    redeem = "mutation($n: String!, $p: String!) { redeemVoucher(number: $n, pin: $p, phone: \"13900139000\") " \
             "{ account amount balance } }"
    assert portal.gql("operator", redeem, n=first["number"], p=first["pin"])["data"]["redeemVoucher"] == {
        "account": "8000000002", "amount": "50.0000", "balance": "50.0000"}
    again = portal.gql("operator", redeem, n=first["number"], p=first["pin"])
    assert again["errors"][0]["extensions"]["code"] == "voucher_already_redeemed"
    portal.gql("operator", f'mutation {{ cancelCard(number: "{issued["cards"][2]["number"]}", reason: "lost") '
                           "{ status } }")
    report = portal.gql("auditor", '{ cardInventory(batch: "V1") { rows { issued sold redeemed cancelled outstanding } '
                                   "csv } cards(batch: \"V1\", status: \"sold\") { edges { node { serial } } } }")["data"]
    assert report["cardInventory"]["rows"] == [
        {"issued": 0, "sold": 1, "redeemed": 1, "cancelled": 1, "outstanding": "50.0000"}]
    assert report["cardInventory"]["csv"].splitlines()[1] == "V1,voucher,50.0000,3,0,1,1,1,50.0000,100.0000,0.0000"
    assert [e["node"]["serial"] for e in report["cards"]["edges"]] == [2]


def test_reports_count_revenue_and_calls_by_the_operators_day(portal: Portal) -> None:
    c = portal.container
    make_calls(c, BAR_A, 3)
    c.ledger.debit(BAR_B, 10_000, house.revenue("direct", "local"), "test")
    c.catch_up()
    today = TODAY
    answer = portal.gql("operator", f'{{ dailyRevenue(from: "{today}", to: "{today}") {{ rows {{ day service '
                                    f'category amount postings }} total csv }} '
                                    f'callStatistics(from: "{today}", to: "{today}") {{ rows {{ attempts answered asr '
                                    f'acd minutes cost }} }} }}')["data"]
    assert answer["dailyRevenue"]["rows"] == [
        {"day": today, "service": "direct", "category": "local", "amount": "1.0000", "postings": 1},
        {"day": today, "service": "phonebar", "category": "mobile", "amount": "1.2000", "postings": 3}]
    assert answer["dailyRevenue"]["total"] == "2.2000"
    assert answer["callStatistics"]["rows"] == [
        {"attempts": 3, "answered": 3, "asr": 1.0, "acd": 65.0, "minutes": 3.25, "cost": "1.2000"}]
    own = portal.gql("bar_b", f'{{ barStatement(from: "{today}", to: "{today}") {{ rows {{ attempts }} }} }}')
    assert own["data"]["barStatement"]["rows"] == []
    low = portal.gql("auditor", '{ lowBalanceAccounts(below: "99.00") { rows { number available } } }')
    assert low["data"]["lowBalanceAccounts"]["rows"] == [{"number": BAR_A, "available": "98.8000"}]


def test_deep_or_costly_queries_are_refused_before_they_run(portal: Portal) -> None:
    costly = portal.gql("auditor", "{ accounts(first: 500) { edges { node { statement(first: 500) "
                                   "{ edges { node { amount } } } } } } }")
    assert costly["errors"][0]["extensions"]["code"] == "invalid_query" and "cost" in costly["errors"][0]["message"]
    nested = "{ accounts { edges { node { statement { edges { node { amount } } } } } } }"
    assert "errors" not in portal.gql("auditor", nested)


def test_the_depth_rule_refuses_a_query_nested_past_its_limit() -> None:
    from graphql import parse, validate
    from ringledger.portal.rules import depth_limit
    from ringledger.portal.schema import build_schema

    schema = build_schema()
    query = parse("{ accounts { edges { node { statement { edges { node { amount } } } } } } }")  # 7 deep
    assert validate(schema, query, [depth_limit(7)]) == []
    assert "7 levels deep" in validate(schema, query, [depth_limit(6)])[0].message
