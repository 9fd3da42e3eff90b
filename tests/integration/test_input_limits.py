"""What the ledger accepts, every view can store: strict input at every edge, on each store.

A NUL or control character, an amount past the declared maximum, a digit
that is not ASCII, a plan that does not exist or a malformed PIN is refused
at the edge (hook 4xx, GraphQL `extensions.code`, CLI exit 2 with one
`error:` line) and again in the domain, and changes nothing. Money in every
message a person reads is a decimal with its currency.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ledger.errors import AmountTooLarge, InvalidPin, InvalidRequest, PinLocked, WrongPin
from ledger.money import MAX_AMOUNT
from ringledger.config import Settings
from ringledger.container import Container, build
from ringledger.server import create_app
from tests.charging_support import ACCOUNT, LOCAL, PHONE, call, set_up
from tests.support import TEST_CLOCK_START
from tests.integration.portal_support import BAR_A, BAR_B, Portal, open_portal

TOKEN = "switch-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NUL_CALLEE = "0106\x002345678"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    container.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    container.settings.clock_start = TEST_CLOCK_START  # prices at the peak, whatever the hour of the run
    with TestClient(create_app(container)) as c:
        yield c


def events(c: Container) -> int:
    return c.ledger.recorder.max_notification_id() or 0


def error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    return lines[0]


# --- text: control characters --------------------------------------------------


@pytest.mark.parametrize("field", ["call_id", "caller", "callee"])
def test_a_nul_in_a_hook_request_gets_a_4xx_and_the_views_stay_current(
        container: Container, client: TestClient, settings: Settings, field: str) -> None:
    set_up(container, 10_0000)
    container.catch_up()
    before = events(container)
    body = {"call_id": "nul-1", "caller": PHONE, "callee": LOCAL, "service": "direct"}
    body[field] = body[field][:3] + "\x00" + body[field][3:]
    response = client.post("/v1/calls/authorize", json=body, headers=AUTH)
    assert response.status_code == 422 and response.json()["error"] == "invalid_request"
    assert field in response.json()["message"]
    assert events(container) == before  # not even a refused session is recorded
    # A good call afterwards projects, in this process and in a fresh one.
    ok = client.post("/v1/calls/authorize", json={"call_id": "ok-1", "caller": PHONE, "callee": LOCAL,
                                                  "service": "direct"}, headers=AUTH)
    assert ok.status_code == 200 and ok.json()["authorized"] is True
    assert container.catch_up() >= 0
    fresh = build(settings)
    try:
        fresh.catch_up()
        assert fresh.views.query("SELECT status FROM cdrs") == [("authorized",)]
        assert fresh.views.query("SELECT COUNT(*) FROM holds")[0][0] == 1
    finally:
        fresh.close()


def test_a_control_character_in_a_hangup_cause_gets_a_4xx(container: Container, client: TestClient) -> None:
    set_up(container, 10_0000)
    assert client.post("/v1/calls/authorize", json={"call_id": "c1", "caller": PHONE, "callee": LOCAL,
                                                    "service": "direct"}, headers=AUTH).status_code == 200
    before = events(container)
    bad = client.post("/v1/calls/c1/end", json={"billsec": 30, "cause": "normal\x00clearing"}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    assert events(container) == before
    good = client.post("/v1/calls/c1/end", json={"billsec": 30, "cause": "normal_clearing"}, headers=AUTH)
    assert good.status_code == 200 and good.json()["charged"] == "0.1000"


def test_a_number_given_as_a_string_is_not_a_number_in_a_hook_body(container: Container,
                                                                  client: TestClient) -> None:
    set_up(container, 10_0000)
    client.post("/v1/calls/authorize", json={"call_id": "c2", "caller": PHONE, "callee": LOCAL,
                                             "service": "direct"}, headers=AUTH)
    before = events(container)
    for hook, body in (("interim", {"used_seconds": "60"}), ("end", {"billsec": "60"}),
                       ("interim", {"used_seconds": 60.0})):
        response = client.post(f"/v1/calls/c2/{hook}", json=body, headers=AUTH)
        assert response.status_code == 422 and response.json()["error"] == "invalid_request", body
    assert events(container) == before


def test_text_the_edge_missed_is_refused_by_the_domain_and_nothing_is_stored(container: Container) -> None:
    charging = set_up(container, 10_0000)
    before = events(container)
    for request in (call("d1", callee=NUL_CALLEE), call("d\x002"), call("d3", caller="+86138\x1b00138000"),
                    call("d4", booth="b\x7f"), call("d5", callee="1" * 65)):
        with pytest.raises(InvalidRequest):
            charging.authorize(request)
    with pytest.raises(InvalidRequest):
        container.ledger.adjust(ACCOUNT, 10_000, "test", "bonus\x00")
    with pytest.raises(InvalidRequest):
        container.ledger.deposit(ACCOUNT, 10_000, "test", memo="cash\u0085")
    assert events(container) == before
    # Numbers of the lengths switches send stay accepted: callers up to 20 digits, callees up to 28.
    long_caller = charging.authorize(call("d6", caller="8" * 20, account=ACCOUNT))
    long_callee = charging.authorize(call("d7", callee="00" + "4" * 26))
    assert long_caller["call_id"] == "d6" and long_callee["call_id"] == "d7"
    container.catch_up()


# --- amounts: one declared maximum ---------------------------------------------


def test_the_largest_amount_projects_and_one_more_ten_thousandth_is_refused(cli, settings: Settings) -> None:
    cli("accounts", "open", "--number", "8613001")
    cli("accounts", "deposit", "8613001", "99999999999.9999")
    shown = json.loads(cli("accounts", "show", "8613001", "--json"))
    assert shown["balance"] == "99999999999.9999"
    # A balance past the maximum is refused, not only a single amount.
    line = error_line(cli("accounts", "deposit", "8613001", "0.0001", code=2))
    assert line.startswith("error: amount_too_large: account 8613001 would hold 100000000000.0000 CNY")
    # So is a house account's sum: house:deposits already holds the maximum.
    cli("accounts", "open", "--number", "8613002")
    line = error_line(cli("accounts", "deposit", "8613002", "1.00", code=2))
    assert "house:deposits" in line and "amount_too_large" in line
    trial = json.loads(cli("ledger", "trial-balance", "--json"))
    assert trial["total"] == "0.0000" and trial["house"]["house:deposits"] == "-99999999999.9999"
    assert json.loads(cli("accounts", "show", "8613002", "--json"))["balance"] == "0.0000"
    c = build(settings)
    try:
        c.catch_up()
        assert c.views.query("SELECT balance FROM accounts WHERE number = ?", ("8613001",)) == [(MAX_AMOUNT,)]
    finally:
        c.close()


@pytest.mark.parametrize("amount", ["999999999999999.9999", "600000000000000", "100000000000"])
def test_an_amount_past_the_maximum_exits_2_and_changes_nothing(cli, amount: str) -> None:
    cli("accounts", "open", "--number", "8613001")
    assert "at most" in error_line(cli("accounts", "adjust", "8613001", amount, "--reason", "x", code=2))
    assert "at most" in error_line(cli("accounts", "deposit", "8613001", amount, code=2))
    assert json.loads(cli("accounts", "show", "8613001", "--json"))["balance"] == "0.0000"
    assert json.loads(cli("ledger", "trial-balance", "--json"))["total"] == "0.0000"


@pytest.mark.parametrize("amount", ["\u0661\u0660.\u0665", "\uff11\uff10.50", "1\u00b2"])
def test_digits_other_than_ascii_are_refused_in_the_cli(cli, amount: str) -> None:
    cli("accounts", "open", "--number", "8613001")
    error_line(cli("accounts", "deposit", "8613001", amount, code=2))
    assert json.loads(cli("accounts", "show", "8613001", "--json"))["balance"] == "0.0000"


def test_the_domain_refuses_a_balance_past_the_maximum(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "test", number="8613001")
    ledger.open_account("subscriber", "test", number="8613002")
    ledger.deposit("8613001", MAX_AMOUNT // 2 + 1, "test")
    ledger.adjust("8613002", MAX_AMOUNT // 2 + 1, "test", "x")
    with pytest.raises(AmountTooLarge):  # a transfer would take the receiving balance past it
        ledger.transfer("8613001", "8613002", MAX_AMOUNT // 2 + 1, "test")
    with pytest.raises(AmountTooLarge):
        ledger.deposit("8613001", MAX_AMOUNT + 1, "test")
    assert ledger.account("8613001").balance == MAX_AMOUNT // 2 + 1
    assert ledger.account("8613002").balance == MAX_AMOUNT // 2 + 1


# --- GraphQL ---------------------------------------------------------------------


@pytest.fixture
def portal(container: Container) -> Portal:
    return open_portal(container)


def code(answer: dict) -> str:
    return answer["errors"][0]["extensions"]["code"]


def test_graphql_refuses_big_and_non_ascii_amounts_with_codes(portal: Portal) -> None:
    deposit = 'mutation($a: Money!) { deposit(number: "%s", amount: $a) { balance } }' % BAR_A
    before = portal.container.ledger.account(BAR_A).balance
    assert code(portal.gql("operator", deposit, a="100000000000")) == "invalid_money"
    assert code(portal.gql("operator", deposit, a="\uff11\uff10.50")) == "invalid_money"
    assert code(portal.gql("operator", deposit, a="99999999999.9999")) == "amount_too_large"  # balance + 100.00
    assert code(portal.gql("operator", 'mutation { deposit(number: "%s", amount: "\u0661\u0660.\u0665") '
                                       '{ balance } }' % BAR_A)) == "invalid_money"
    assert portal.container.ledger.account(BAR_A).balance == before


def test_graphql_refuses_an_unknown_plan_and_a_control_character(portal: Portal) -> None:
    retail = portal.gql("operator", 'mutation { setRetailPlan(number: "%s", plan: "nope") { number } }' % BAR_A)
    assert code(retail) == "unknown_tariff"
    assert portal.container.ledger.account(BAR_A).retail_plan is None
    opened = portal.gql("operator", 'mutation { openAccount(input: {kind: "subscriber", number: "7300001", '
                                    'plan: "nope"}) { number } }')
    assert code(opened) == "unknown_tariff"
    adjust = portal.gql("operator", 'mutation($r: String!) { adjust(number: "%s", amount: "1.00", reason: $r) '
                                    '{ balance } }' % BAR_A, r="bonus\x00")
    assert code(adjust) == "invalid_request"
    # A published plan is accepted.
    ok = portal.gql("operator", 'mutation { openAccount(input: {kind: "subscriber", number: "7300002", '
                                'plan: "demo"}) { number } }')
    assert ok["data"]["openAccount"]["number"] == "7300002"


def test_graphql_messages_show_money_as_decimals_with_the_currency(portal: Portal) -> None:
    answer = portal.gql("operator", 'mutation { transfer(from: "%s", to: "%s", amount: "1000.00") { amount } }'
                        % (BAR_A, BAR_B))
    assert code(answer) == "insufficient_funds"
    assert answer["errors"][0]["message"] == (
        f"account {BAR_A} has 100.0000 CNY available, needs 1000.0000 CNY")


@pytest.mark.parametrize("key", [[None, "y"], ["x\x00", 1], [1.5, 2], [True, 1], [2**70, 1], ["a"]])
def test_a_badly_typed_cursor_is_a_4xx_not_an_internal_error(portal: Portal, key: list) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode()
    for query in ('query($c: String) { statement(account: "%s", after: $c) { edges { cursor } } }' % BAR_A,
                  'query($c: String) { cdrs(after: $c) { edges { cursor } } }',
                  'query($c: String) { cards(after: $c) { edges { cursor } } }'):
        answer = portal.gql("operator", query, c=cursor)
        assert code(answer) == "invalid_request", (query, answer)


# --- plans, PINs, messages in the CLI ------------------------------------------------


def test_an_unknown_plan_is_refused_in_the_cli(cli) -> None:
    assert "unknown_tariff" in error_line(cli("accounts", "open", "--number", "8613001", "--plan", "nope", code=2))
    error_line(cli("accounts", "show", "8613001", code=2))  # nothing was opened
    cli("accounts", "open", "--number", "5550001", "--kind", "phonebar")
    assert "unknown_tariff" in error_line(cli("accounts", "retail-plan", "5550001", "nope2", code=2))


def test_cli_messages_show_money_as_decimals_with_the_currency(cli) -> None:
    cli("accounts", "open", "--number", "8613001")
    cli("accounts", "open", "--number", "8613002")
    cli("accounts", "deposit", "8613001", "2.50")
    line = error_line(cli("accounts", "transfer", "8613001", "8613002", "1000", code=2))
    assert line == "error: insufficient_funds: account 8613001 has 2.5000 CNY available, needs 1000.0000 CNY"


def test_a_malformed_pin_uses_up_no_try(container: Container) -> None:
    ledger = container.ledger
    ledger.open_account("subscriber", "test", number="8613001", pin="123456")
    before = events(container)
    for bad in ("abc", "", "12", "\u0661\u0662\u0663\u0664\u0665\u0666", "1234567890123"):
        for _ in range(6):
            with pytest.raises(InvalidPin):
                ledger.verify_pin("8613001", bad, "test")
    assert events(container) == before
    assert ledger.account("8613001").pin_failures == 0
    assert ledger.verify_pin("8613001", "123456", "test")["verified"] is True
    # A well-formed wrong PIN still counts, and five lock the account.
    for _ in range(4):
        with pytest.raises(WrongPin):
            ledger.verify_pin("8613001", "654321", "test")
    with pytest.raises(PinLocked):
        ledger.verify_pin("8613001", "654321", "test")


def test_a_malformed_voucher_pin_uses_up_no_try(container: Container) -> None:
    ledger = container.ledger
    set_up(container, 0)
    (_, number, pin), = ledger.issue_batch("voucher", 1, 50_0000, "test", name="V1")
    ledger.sell_cards([number], "voucher", 50_0000, "test")
    for _ in range(6):
        with pytest.raises(InvalidPin):
            ledger.redeem_voucher(number, "abc", PHONE, "test")
    redeemed = ledger.redeem_voucher(number, pin, PHONE, "test")
    assert redeemed["amount"] == 50_0000


def test_a_nul_recorded_before_this_rule_does_not_stop_the_views(container: Container, settings: Settings) -> None:
    # A log written by an older version may hold a NUL: the views store it as U+FFFD and stay current.
    from datetime import UTC, datetime

    from ledger.call_ids import call_id as session_id
    from ledger.charging import CallSession

    old = CallSession._create(
        CallSession.Refused, id=session_id("old\x00call"), call_id="old\x00call", request="{}", account=None,
        caller="+8613800138000", callee=NUL_CALLEE, service="direct", booth=None, switch=None,
        reason="unknown_account", message="x", refused_at=datetime(2024, 5, 6, tzinfo=UTC), actor="switch",
        answer={"call_id": "old\x00call", "authorized": False})
    container.ledger.save(old)  # straight to the store, as the older version did
    set_up(container, 10_0000)
    container.catch_up()
    fresh = build(settings)
    try:
        fresh.catch_up()
        assert fresh.views.query("SELECT call_id, callee FROM cdrs") == [("old\ufffdcall", "0106\ufffd2345678")]
        assert fresh.views.query("SELECT balance FROM accounts WHERE number = ?", (ACCOUNT,)) == [(10_0000,)]
    finally:
        fresh.close()
