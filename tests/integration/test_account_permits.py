"""Call permissions per account: the booths' rules on any account, refused as not_permitted.

Set by the operator (ledger, CLI, GraphQL), shown to the user; bad input changes nothing.
An account with no permissions dials anything it can pay for, as before.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient

from ledger.errors import AccountNotFound, InvalidRequest
from ringledger.container import Container
from ringledger.server import create_app
from services.charging import Charging
from tests.charging_support import ACCOUNT, HONG_KONG, LOCAL, call, set_up, trial_balance
from tests.integration.portal_support import BAR_A, BAR_B, open_portal
from tests.phonebar_support import BAR, MOBILE, NATIONAL, POLICE, USA, open_bar
from tests.support import TEST_CLOCK_START

EVERY_CATEGORY = ["local", "national", "mobile", "hmt", "international"]


def events(c: Container) -> int:
    return c.ledger.recorder.max_notification_id() or 0


def refused(answer: dict) -> tuple[bool, str | None]:
    return answer["authorized"], answer["reason"]


def test_an_account_dials_only_its_permitted_categories_and_clearing_restores_it(container: Container) -> None:
    charging = set_up(container, 100_0000)
    assert charging.authorize(call("before", HONG_KONG))["authorized"] is True  # no permissions: as before
    container.ledger.set_call_permissions(ACCOUNT, {"categories": ["local", "mobile"]}, "op")
    for call_id, callee, category in (("hk", HONG_KONG, "hmt"), ("usa", USA, "international"),
                                      ("nat", NATIONAL, "national")):
        answer = charging.authorize(call(call_id, callee))
        assert refused(answer) == (False, "not_permitted"), answer
        assert category in answer["message"] and ACCOUNT in answer["message"] and answer["hold"] == 0
    assert charging.authorize(call("local", LOCAL))["authorized"] is True
    assert charging.authorize(call("mobile", MOBILE))["authorized"] is True
    assert charging.authorize(call("police", POLICE))["authorized"] is True  # emergency numbers always go through
    # Refused calls hold nothing: only the authorized ones do (110 is free).
    assert sorted(container.ledger.account(ACCOUNT).holds) == ["before", "local", "mobile"]
    container.ledger.set_call_permissions(ACCOUNT, None, "op")
    assert container.ledger.account(ACCOUNT).permissions is None
    assert charging.authorize(call("after", HONG_KONG))["authorized"] is True
    container.catch_up()
    assert trial_balance(container) == 0


def test_a_blacklisted_prefix_wins_and_a_whitelisted_one_passes(container: Container) -> None:
    charging = set_up(container, 100_0000)
    container.ledger.set_call_permissions(
        ACCOUNT, {"categories": ["local", "mobile"], "allow": ["+852"], "deny": ["861380013", "8610"]}, "op")
    assert container.ledger.account(ACCOUNT).permissions == {
        "categories": ["local", "mobile"], "allow": ["852"], "deny": ["8610", "861380013"]}
    assert charging.authorize(call("hk", HONG_KONG))["authorized"] is True  # hmt, but 852 is whitelisted
    blocked = charging.authorize(call("mobile", MOBILE))  # a mobile, but its prefix is blacklisted
    assert refused(blocked) == (False, "not_permitted") and "861380013" in blocked["message"]
    assert refused(charging.authorize(call("local", LOCAL))) == (False, "not_permitted")  # 8610 wins over local
    # Only a blacklist: every category, minus the prefixes.
    container.ledger.set_call_permissions(ACCOUNT, {"deny": ["1"]}, "op")
    assert refused(charging.authorize(call("usa", USA))) == (False, "not_permitted")
    assert charging.authorize(call("local-2", LOCAL))["authorized"] is True


def test_a_phonebar_call_is_checked_against_the_bar_account_and_the_booth(container: Container) -> None:
    bar = open_bar(container)
    bar.bars.add_booth(BAR, "1", "owner", categories=["local", "mobile", "international"])
    container.ledger.set_call_permissions(BAR, {"categories": ["local", "national", "mobile"]}, "op")
    assert refused(bar.call("usa", "1", USA)) == (False, "not_permitted")  # the booth may, the bar may not
    assert refused(bar.call("nat", "1", NATIONAL)) == (False, "booth_not_permitted")  # the bar may, the booth not
    assert bar.call("local", "1", LOCAL)["authorized"] is True
    assert sorted(container.ledger.account(BAR).holds) == ["local"]


def test_bad_permissions_are_refused_and_change_nothing(container: Container) -> None:
    set_up(container, 100_0000)
    container.ledger.set_call_permissions(ACCOUNT, {"categories": ["local"]}, "op")
    before = events(container)
    for bad in ({"categories": ["satellite"]}, {"allow": ["86a"]}, {"deny": [""]}, {"deny": ["1" * 21]},
                {"allow": ["1"] * 101}, {"categories": "local"}):
        with pytest.raises(InvalidRequest):
            container.ledger.set_call_permissions(ACCOUNT, bad, "op")
    with pytest.raises(AccountNotFound):
        container.ledger.set_call_permissions("404404", {"categories": ["local"]}, "op")
    assert events(container) == before
    assert container.ledger.account(ACCOUNT).permissions == {"categories": ["local"], "allow": [], "deny": []}


def test_the_operator_sets_and_clears_permissions_from_the_cli(container: Container, cli) -> None:
    charging: Charging = set_up(container, 100_0000)
    out = json.loads(cli("accounts", "permissions", ACCOUNT, "--categories", "local,mobile", "--deny", "8613800"))
    assert out["permissions"] == {"categories": ["local", "mobile"], "allow": [], "deny": ["8613800"]}
    assert json.loads(cli("accounts", "show", ACCOUNT, "--json"))["permissions"] == out["permissions"]
    assert refused(charging.authorize(call("hk", HONG_KONG))) == (False, "not_permitted")
    before = events(container)
    for args in (("--categories", "local,satellite"), ("--allow", "+86x"), ("--clear", "--deny", "1"), (),
                 ("--categories", "local", "--deny", "1" * 21)):
        output = cli("accounts", "permissions", ACCOUNT, *args, code=2)
        assert [line for line in output.splitlines() if line.startswith("error:")], (args, output)
    assert cli("accounts", "permissions", "404404", "--clear", code=2).startswith("error:")
    assert events(container) == before
    cli("accounts", "permissions", ACCOUNT, "--clear")
    assert json.loads(cli("accounts", "show", ACCOUNT, "--json"))["permissions"] is None
    assert charging.authorize(call("hk-2", HONG_KONG))["authorized"] is True


ACCOUNT_PERMISSIONS = "query($n: String!) { account(number: $n) { number permissions { categories allow deny } } }"
SET = """mutation($n: String!, $p: CallPermissionsInput) {
  setCallPermissions(number: $n, permissions: $p) { number permissions { categories allow deny } } }"""


def test_the_operator_sets_permissions_in_the_portal_and_the_bar_owner_sees_its_own(container: Container) -> None:
    portal = open_portal(container)
    code = lambda answer: answer["errors"][0]["extensions"]["code"]  # noqa: E731
    answer = portal.gql("operator", SET, n=BAR_A, p={"categories": ["local"], "deny": ["+8610"]})
    rules = {"categories": ["local"], "allow": [], "deny": ["8610"]}
    assert answer["data"]["setCallPermissions"] == {"number": BAR_A, "permissions": rules}, answer
    assert portal.gql("bar_a", ACCOUNT_PERMISSIONS, n=BAR_A)["data"]["account"]["permissions"] == rules
    assert portal.gql("auditor", ACCOUNT_PERMISSIONS, n=BAR_A)["data"]["account"]["permissions"] == rules
    assert code(portal.gql("bar_b", ACCOUNT_PERMISSIONS, n=BAR_A)) == "forbidden"
    assert portal.gql("operator", ACCOUNT_PERMISSIONS, n=BAR_B)["data"]["account"]["permissions"] is None
    # Only the operator sets them; bad input is refused with a code; none of it changes anything.
    before = events(container)
    for who in ("bar_a", "auditor"):
        assert code(portal.gql(who, SET, n=BAR_A, p=None)) == "forbidden"
    for bad in ({"categories": ["satellite"]}, {"allow": ["86a"]}, {"deny": ["1" * 21]}):
        assert code(portal.gql("operator", SET, n=BAR_A, p=bad)) == "invalid_request", bad
    assert code(portal.gql("operator", SET, n="404404", p=None)) == "unknown_account"
    assert events(container) == before
    assert portal.gql("operator", ACCOUNT_PERMISSIONS, n=BAR_A)["data"]["account"]["permissions"] == rules
    cleared = portal.gql("operator", SET, n=BAR_A, p=None)
    assert cleared["data"]["setCallPermissions"]["permissions"] is None


def test_the_switch_hook_answers_not_permitted(container: Container) -> None:
    set_up(container, 10_0000)
    container.ledger.set_call_permissions(ACCOUNT, {"categories": ["local"]}, "op")
    container.settings.switch_tokens = "sw1=" + hashlib.sha256(b"token").hexdigest()
    container.settings.clock_start = TEST_CLOCK_START
    with TestClient(create_app(container)) as client:
        body = {"call_id": "hk", "caller": "+8613800138000", "callee": HONG_KONG, "service": "direct"}
        answer = client.post("/v1/calls/authorize", json=body, headers={"Authorization": "Bearer token"}).json()
    assert (answer["authorized"], answer["reason"], answer["hold"]) == (False, "not_permitted", "0.0000"), answer
    assert answer["destination"]["category"] == "hmt"
