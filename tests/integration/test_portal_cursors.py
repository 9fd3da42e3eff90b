"""A cursor is client input: a badly typed one is a bad request (4xx-style code), never an internal error."""

from __future__ import annotations

import base64
import json

import pytest

from ringledger.container import Container
from tests.integration.portal_support import BAR_A, Portal, make_calls, open_portal

PAGES = {
    "cdrs": "query($a: String) { cdrs(first: 1, after: $a) { edges { node { callId } } } }",
    "cards": "query($a: String) { cards(first: 1, after: $a) { edges { node { number } } } }",
    "accounts": "query($a: String) { accounts(first: 1, after: $a) { edges { node { number } } } }",
    "statement": f'query($a: String) {{ statement(account: "{BAR_A}", first: 1, after: $a) '
                 "{ edges { node { amount } } } }",
}
BAD_KEYS = [
    ["2026-01-01", {"x": 1}],  # an object where a value belongs
    [[1], "x"],
    [1.5, 2],
    ["x", 2**70],  # out of every integer column's range
    ["a\x00b", "c"],  # NUL: PostgreSQL cannot even take it as a parameter
    [None, None],
    ["x"] * 3,
]


def cursor(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


@pytest.fixture
def portal(container: Container) -> Portal:
    p = open_portal(container)
    make_calls(container, BAR_A, 2)
    p.gql("operator", 'mutation { issueCards(kind: "voucher", count: 2, face: "1.00", batch: "C1") { batch { name } } }')
    return p


def test_a_badly_typed_cursor_is_refused_as_invalid_input(portal: Portal) -> None:
    for name, query in PAGES.items():
        good = portal.gql("operator", query)["data"]
        assert good is not None, name
        for key in BAD_KEYS:
            answer = portal.gql("operator", query, a=cursor(key))
            assert answer["errors"][0]["extensions"]["code"] == "invalid_request", (name, key, answer)
    # A real cursor still pages on.
    first = portal.gql("operator", "{ cdrs(first: 1) { edges { node { callId } } pageInfo { endCursor } } }")
    after = first["data"]["cdrs"]["pageInfo"]["endCursor"]
    second = portal.gql("operator", PAGES["cdrs"], a=after)["data"]["cdrs"]["edges"]
    assert len(second) == 1 and second[0]["node"]["callId"] != first["data"]["cdrs"]["edges"][0]["node"]["callId"]
