"""Hostile input at the GraphQL portal: bodies that are no GraphQL request, deeply nested
variables, padded money, forged cursors, and a bar owner probing for other people's accounts.
Each gets a JSON answer with an `extensions.code`, changes nothing and tells nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from ringledger.container import Container
from tests.integration.portal_support import BAR_A, BAR_B, Portal, make_calls, on_business_day, open_portal

DEPOSIT = 'mutation($a: Money!) { deposit(number: "5550001", amount: $a) { balance } }'


@pytest.fixture
def portal(container: Container) -> Iterator[Portal]:
    with on_business_day(container):
        yield open_portal(container)


def events(c: Container) -> int:
    return c.ledger.recorder.max_notification_id() or 0


def post_raw(portal: Portal, body: bytes | str, content_type: str = "application/json") -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {portal.tokens['operator']}", "Content-Type": content_type}
    response = portal.client.post("/graphql", content=body, headers=headers)
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.status_code, response.json()


@pytest.mark.parametrize("body", [
    b"not json",
    b"[1, 2]",
    b'"a string"',
    json.dumps({"query": 5}),
    json.dumps({"variables": {}}),
    json.dumps({"query": "{ __typename }", "variables": [1]}),
    json.dumps({"query": "{ __typename }", "variables": "x"}),
    json.dumps({"query": "{ __typename }", "operationName": 5}),
    # 2,000 levels of nesting: more than any parser in Python could recurse through
    '{"query": "{ __typename }", "variables": {"a": ' + "[" * 2000 + "]" * 2000 + "}}",
    '{"query": "{ __typename }", "variables": {"a": ' + '{"b": ' * 2000 + "1" + "}" * 2000 + "}}",
    # deeper than the limit of 32, shallow enough for any parser
    '{"query": "{ __typename }", "variables": {"a": ' + "[" * 40 + "]" * 40 + "}}",
])
def test_a_body_that_is_no_graphql_request_is_a_json_400(portal: Portal, body: bytes | str) -> None:
    status, answer = post_raw(portal, body)
    assert status == 400
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "invalid_request" and error["message"]


def test_nested_variables_are_refused_with_a_message_naming_the_limit(portal: Portal) -> None:
    deep = '{"query": "{ __typename }", "variables": {"a": ' + "[" * 40 + "]" * 40 + "}}"
    _, answer = post_raw(portal, deep)
    assert "nested too deep" in answer["errors"][0]["message"] and "32" in answer["errors"][0]["message"]
    # A request within the limit runs.
    shallow = '{"query": "{ __typename }", "variables": {"a": ' + "[" * 30 + "]" * 30 + "}}"
    assert post_raw(portal, shallow) == (200, {"data": {"__typename": "Query"}})


def test_a_body_that_is_not_json_by_its_content_type_is_a_json_400(portal: Portal) -> None:
    status, answer = post_raw(portal, "{ __typename }", "text/plain")
    assert status == 400 and answer["errors"][0]["extensions"]["code"] == "invalid_request"


def test_a_wrong_method_on_the_portal_is_a_json_405(portal: Portal) -> None:
    response = portal.client.put("/graphql", headers={"Authorization": f"Bearer {portal.tokens['operator']}"})
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("amount", [" 1.00", "1.00 ", "+1.00", "1.00\n", "\t1.00"])
def test_padded_or_signed_money_is_refused_by_the_money_scalar(portal: Portal, amount: str) -> None:
    before = events(portal.container)
    answer = portal.gql("operator", DEPOSIT, a=amount)
    assert answer["errors"][0]["extensions"]["code"] in ("invalid_money", "invalid_request", "invalid_query")
    assert events(portal.container) == before
    assert portal.gql("operator", DEPOSIT, a="1.00")["data"]["deposit"]["balance"] == "101.0000"


def test_a_bar_owner_cannot_tell_another_bars_number_from_no_number(portal: Portal) -> None:
    ledger = portal.container.ledger
    ledger.bind(BAR_B, "+8613911112222", "test")  # bound to the other bar
    portal.container.catch_up()
    query = "query($p: String!) { account(phone: $p) { number } }"
    bound_elsewhere = portal.gql("bar_a", query, p="13911112222")
    unbound = portal.gql("bar_a", query, p="13911113333")
    assert bound_elsewhere == unbound == {"data": {"account": None}, "status": 200}
    # By id too: an id derived from another bar's number reads as no account.
    other_id = portal.gql("operator", f'{{ account(number: "{BAR_B}") {{ id }} }}')["data"]["account"]["id"]
    assert portal.gql("bar_a", "query($i: ID!) { account(id: $i) { number } }", i=other_id) == unbound
    # The operator still finds it, and a bar owner still finds their own bar by its phone.
    assert portal.gql("operator", query, p="13911112222")["data"]["account"]["number"] == BAR_B
    ledger.bind(BAR_A, "+8613911114444", "test")
    portal.container.catch_up()
    assert portal.gql("bar_a", query, p="13911114444")["data"]["account"]["number"] == BAR_A


@pytest.mark.parametrize(("who", "query"), [
    ("bar_a", f'{{ account(number: "{BAR_B}") {{ number }} }}'),  # a nullable field
    ("bar_a", 'mutation { deposit(number: "5550001", amount: "1.00") { balance } }'),  # a non-null field
    ("auditor", 'mutation { deposit(number: "5550001", amount: "1.00") { balance } }'),
])
def test_forbidden_is_a_field_error_with_status_200_wherever_it_comes_from(portal: Portal, who: str,
                                                                          query: str) -> None:
    answer = portal.gql(who, query)
    assert answer["status"] == 200
    assert answer["errors"][0]["extensions"]["code"] == "forbidden"


def test_the_refusal_names_the_role_in_plain_english(portal: Portal) -> None:
    mutation = 'mutation { deposit(number: "5550001", amount: "1.00") { balance } }'
    assert portal.gql("auditor", mutation)["errors"][0]["message"] == "an auditor key cannot change anything"
    assert portal.gql("bar_a", mutation)["errors"][0]["message"] == "a bar owner key cannot change anything"


def cursor(*key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


@pytest.mark.parametrize("stamp", ["not a date", "2024-13-45T00:00:00+00:00", "2024-05-06T02:00:00",
                                   "2024-05-06", "0001-01-01T00:00:00+14:00"])
def test_a_cdr_cursor_whose_time_is_not_an_instant_is_refused(portal: Portal, stamp: str) -> None:
    make_calls(portal.container, BAR_A, 3)
    query = "query($c: String) { cdrs(first: 2, after: $c) { edges { node { callId } } pageInfo { endCursor } } }"
    answer = portal.gql("operator", query, c=cursor(stamp, "x"))
    assert answer["errors"][0]["extensions"]["code"] == "invalid_request"
    assert "cursor" in answer["errors"][0]["message"]
    # A cursor the API gave out still pages on.
    page = portal.gql("operator", query, c=None)["data"]["cdrs"]
    rest = portal.gql("operator", query, c=page["pageInfo"]["endCursor"])
    assert "errors" not in rest and len(rest["data"]["cdrs"]["edges"]) == 1
