"""The business's own key, and bad input to forwarding, through the portal and the CLI, on each store.

A business key sees its own profile, calls, bill and agents and nothing else:
another business's data and any other account's are refused with the same
`forbidden`, whether or not what it named exists. Bad input is refused with
its code (GraphQL `extensions.code`, CLI exit 2) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rating.demo import demo_plan
from ringledger.container import Container
from ringledger.forwarding import build_forwarding
from services.api_keys import create_key
from services.charging import CallRequest, Charging
from tests.integration.portal_support import BAR_A, Portal, on_business_day, open_portal, peak_today

SHOP, MILL = "+861062340000", "+862150000000"  # two businesses: Beijing and Shanghai numbers
SHOP_ACCOUNT, MILL_ACCOUNT = "7100000001", "7100000002"
AGENT_1, AGENT_2 = "+861062345601", "+861062345602"
PROFILE = "{ business { number account agents greeting schedule { days start end } blockedPrefixes } }"


def code(answer: dict) -> str:
    return answer["errors"][0]["extensions"]["code"]


@pytest.fixture
def portal(container: Container) -> Iterator[Portal]:
    with on_business_day(container):
        p = open_portal(container)
        forwarding = build_forwarding(container)
        for number, account, agent in ((SHOP, SHOP_ACCOUNT, AGENT_1), (MILL, MILL_ACCOUNT, AGENT_2)):
            container.ledger.open_account("subscriber", "test", number=account, plan="demo")
            container.ledger.deposit(account, 50_0000, "test")
            forwarding.register(number, account, "test", agents=[agent])
        for who, number in (("shop", SHOP), ("mill", MILL)):
            p.tokens[who], principal = create_key(container.ledger, "business", "test", bar=number)
            p.key_ids[who] = principal.key_id
        charging = Charging(container.ledger, clock=peak_today)
        for call, number in (("s1", SHOP), ("m1", MILL)):
            charging.authorize(CallRequest(call_id=call, caller="+8613900139000", callee=number, service="forward",
                                           forwarded_from=number))
            charging.answer(call)
            charging.end(call, 60)
        container.catch_up()
        yield p


def test_a_business_key_reads_its_own_calls_bill_and_agents(portal: Portal) -> None:
    assert portal.gql("shop", "{ me { role business bar } }")["data"]["me"] == {
        "role": "business", "business": SHOP, "bar": None}
    calls = portal.gql("shop", "{ forwardedCalls { callId agent outcome charged } }")["data"]["forwardedCalls"]
    assert calls == [{"callId": "s1", "agent": AGENT_1, "outcome": "answered", "charged": "0.1000"}]
    bill = portal.gql("shop", "{ forwardingBill { account calls charged balance } }")["data"]["forwardingBill"]
    assert bill == {"account": SHOP_ACCOUNT, "calls": 1, "charged": "0.1000", "balance": "49.9000"}
    stats = portal.gql("shop", "{ agentStatistics { agent answered } }")["data"]["agentStatistics"]
    assert stats == [{"agent": AGENT_1, "answered": 1}]
    # The business changes its own schedule and greeting; the events name its key.
    changed = portal.gql("shop", 'mutation { setForwardingProfile(greeting: "新年好") { greeting } }')
    assert changed["data"]["setForwardingProfile"] == {"greeting": "新年好"}
    assert portal.gql("operator", f'{{ business(number: "{SHOP}") {{ greeting }} }}')["data"]["business"] == {
        "greeting": "新年好"}


@pytest.mark.parametrize("query", [
    f'{{ forwardedCalls(business: "{MILL}") {{ callId }} }}',
    '{ forwardedCalls(business: "+861099999999") { callId } }',  # no such business: the same answer
    f'{{ forwardingBill(business: "{MILL}") {{ charged }} }}',
    f'{{ agentStatistics(business: "{MILL}") {{ agent }} }}',
    f'{{ business(number: "{MILL}") {{ number }} }}',
    f'mutation {{ setForwardingProfile(business: "{MILL}", greeting: "x") {{ number }} }}',
    f'mutation {{ markAgent(business: "{MILL}", agent: "{AGENT_2}", busy: true) {{ number }} }}',
    f'{{ account(number: "{SHOP_ACCOUNT}") {{ balance }} }}',  # even its own paying account: only through the bill
    '{ account(number: "9999999999") { balance } }',
    f'{{ account(number: "{BAR_A}") {{ balance }} }}',
    '{ accounts(first: 5) { edges { node { number } } } }',
    '{ cdrs(first: 5) { edges { node { callId } } } }',
    f'{{ boothBoard(bar: "{BAR_A}") {{ booth }} }}',
    '{ apiKeys { keyId } }',
    f'mutation {{ registerBusiness(number: "+861088888888", account: "{SHOP_ACCOUNT}") {{ number }} }}',
])
def test_a_business_key_is_refused_everything_else_alike(portal: Portal, query: str) -> None:
    answer = portal.gql("shop", query)
    assert code(answer) == "forbidden", answer
    assert answer["errors"][0]["message"] in (
        "this key may read only its own business's data",
        "a business key may read only its own forwarding profile, calls, bill and agents")
    assert not any((answer.get("data") or {}).values())  # nothing read: null, or no data at all


def test_other_keys_and_the_bill_page(portal: Portal) -> None:
    # The other business sees only its own call; a bar owner sees no forwarding at all.
    assert [c["callId"] for c in portal.gql("mill", "{ forwardedCalls { callId } }")["data"]["forwardedCalls"]] == ["m1"]
    assert code(portal.gql("bar_a", f'{{ forwardedCalls(business: "{SHOP}") {{ callId }} }}')) == "forbidden"
    # An auditor reads any business, changes none.
    assert portal.gql("auditor", f'{{ forwardingBill(business: "{SHOP}") {{ charged }} }}')["data"] == {
        "forwardingBill": {"charged": "0.1000"}}
    assert code(portal.gql("auditor", f'mutation {{ setForwardingProfile(business: "{SHOP}", greeting: "x") {{ number }} }}')) == "forbidden"
    # An operator issues a business key through the portal; none for a number that is not registered.
    made = portal.gql("operator", f'mutation {{ createKey(role: "business", business: "{MILL}") {{ role business token }} }}')
    token = made["data"]["createKey"]["token"]
    assert made["data"]["createKey"]["business"] == MILL
    response = portal.client.post("/graphql", json={"query": "{ forwardingBill { business } }"},
                                  headers={"Authorization": f"Bearer {token}"})
    assert response.json()["data"] == {"forwardingBill": {"business": MILL}}
    assert code(portal.gql("operator", 'mutation { createKey(role: "business", business: "+861099999999") { token } }')) \
        == "unknown_business"
    assert code(portal.gql("operator", 'mutation { createKey(role: "business") { token } }')) == "invalid_request"
    # A business key cannot print a phone bar's bill.
    page = portal.client.get(f"/bars/{BAR_A}/booths/3/bills/1", headers={"Authorization": f"Bearer {portal.tokens['shop']}"})
    assert page.status_code == 403 and page.json()["error"] == "forbidden"


BAD = [
    ('mutation { registerBusiness(number: "not-a-number", account: "7100000001") { number } }', "invalid_request"),
    ('mutation { registerBusiness(number: "+861077777777", account: "7199999999") { number } }', "unknown_account"),
    (f'mutation {{ registerBusiness(number: "{SHOP}", account: "{SHOP_ACCOUNT}") {{ number }} }}', "business_exists"),
    ('mutation { registerBusiness(number: "+861077777777", account: "7100000001", distribution: "random") { number } }',
     "invalid_request"),
    (f'mutation {{ registerBusiness(number: "+861077777777", account: "7100000001", agents: ["+861077777777"]) {{ number }} }}',
     "invalid_request"),
    (f'mutation {{ setForwardingSchedule(business: "{SHOP}", rules: [{{days: [8], start: "09:00", end: "18:00"}}]) {{ number }} }}',
     "invalid_request"),
    (f'mutation {{ setForwardingSchedule(business: "{SHOP}", rules: [{{days: [1], start: "18:00", end: "09:00"}}]) {{ number }} }}',
     "invalid_request"),
    (f'mutation {{ setForwardingSchedule(business: "{SHOP}", rules: [{{days: [1], start: "25:00", end: "26:00"}}]) {{ number }} }}',
     "invalid_request"),
    (f'mutation {{ setCallerBlacklist(business: "{SHOP}", numbers: [], prefixes: ["86a"]) {{ number }} }}',
     "invalid_request"),
    (f'mutation {{ setForwardingProfile(business: "{SHOP}", greeting: "bad\\u0007bell") {{ number }} }}',
     "invalid_request"),
    (f'mutation {{ markAgent(business: "{SHOP}", agent: "+861000000000", busy: true) {{ number }} }}', "unknown_agent"),
    ('mutation { markAgent(business: "+861000000000", agent: "+861000000000", busy: true) { number } }',
     "unknown_business"),
    (f'{{ forwardedCalls(business: "{SHOP}", first: 0) {{ callId }} }}', "invalid_request"),
    (f'{{ agentStatistics(business: "{SHOP}", from: "2024-13-01") {{ agent }} }}', "invalid_request"),
    ("{ forwardedCalls { callId } }", "invalid_request"),  # an operator names the business
    # a range that ends before it starts is a typo, not an empty period
    (f'{{ agentStatistics(business: "{SHOP}", from: "2026-12-31", to: "2026-01-01") {{ agent }} }}',
     "invalid_request"),
    (f'{{ forwardingBill(business: "{SHOP}", from: "2026-12-31", to: "2026-01-01") {{ calls }} }}',
     "invalid_request"),
]


@pytest.mark.parametrize(("query", "expected"), BAD)
def test_bad_input_is_refused_with_its_code_and_changes_nothing(portal: Portal, query: str, expected: str) -> None:
    before = portal.gql("operator", PROFILE.replace("business {", f'business(number: "{SHOP}") {{'))["data"]
    head = portal.container.ledger.recorder.max_notification_id()
    answer = portal.gql("operator", query)
    assert code(answer) == expected, answer
    assert portal.container.ledger.recorder.max_notification_id() == head
    assert portal.gql("operator", PROFILE.replace("business {", f'business(number: "{SHOP}") {{'))["data"] == before


@pytest.mark.parametrize("args", [
    ["forward", "register", "+861077777777", "--account", "7199999999"],
    ["forward", "register", "abc", "--account", SHOP_ACCOUNT],
    ["forward", "schedule", SHOP, "--rule", "1-5 9-18"],
    ["forward", "schedule", SHOP, "--rule", "5-1 09:00-18:00"],
    ["forward", "schedule", SHOP, "--rule", "1 18:00-09:00"],
    ["forward", "schedule", SHOP],
    ["forward", "blacklist", SHOP, "--prefixes", "86x"],
    ["forward", "agent", SHOP, "+861000000000", "--busy"],
    ["forward", "profile", SHOP, "--distribution", "random"],
    ["forward", "calls", SHOP, "--day", "yesterday"],
    ["forward", "show", "+861099999999"],
    ["keys", "create", "--role", "business", "--business", "+861099999999"],
    ["keys", "create", "--role", "business"],
])
def test_the_cli_exits_2_on_bad_input_and_changes_nothing(portal: Portal, cli, args: list[str]) -> None:
    head = portal.container.ledger.recorder.max_notification_id()
    cli(*args, code=2)
    assert portal.container.ledger.recorder.max_notification_id() == head


def test_the_cli_runs_a_business(container: Container, cli) -> None:
    import json

    # Not under a frozen clock: the CLI builds its own container (the call is priced at peak_today).
    charging = Charging(container.ledger, clock=peak_today)
    plan = demo_plan()
    charging.publish_plan("demo", plan.rows, plan.effective_from, "test", tz=plan.tz)
    container.ledger.open_account("subscriber", "test", number=SHOP_ACCOUNT, plan="demo")
    container.ledger.deposit(SHOP_ACCOUNT, 50_0000, "test")
    cli("forward", "register", "01062340000", "--account", SHOP_ACCOUNT, "--agents", f"{AGENT_1},{AGENT_2}")
    charging.authorize(CallRequest(call_id="s1", caller="+8613900139000", callee=SHOP, service="forward",
                                   forwarded_from=SHOP))
    charging.answer("s1")
    charging.end("s1", 60)
    cli("forward", "schedule", SHOP, "--rule", "1-5 09:00-18:00", "--rule", "6 10:00-12:00")
    shown = json.loads(cli("forward", "show", SHOP, "--json"))
    assert shown["schedule"] == [{"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"},
                                 {"days": [6], "start": "10:00", "end": "12:00"}]
    cli("forward", "agent", SHOP, AGENT_1, "--busy")
    assert json.loads(cli("forward", "show", SHOP, "--json"))["busy"] == [AGENT_1]
    bill = json.loads(cli("forward", "bill", SHOP, "--json"))
    assert (bill["charged"], bill["calls"]) == ("0.1000", 1)
    log = json.loads(cli("forward", "calls", SHOP, "--agent", AGENT_1, "--json"))
    assert [row["call_id"] for row in log] == ["s1"]


def test_an_agent_listed_twice_is_named_in_the_refusal(portal: Portal) -> None:
    answer = portal.gql("operator", f'mutation {{ setForwardingProfile(business: "{SHOP}", '
                                    'agents: ["+861062345601", "+861062345601"]) { agents } }')
    assert code(answer) == "invalid_request", answer
    assert answer["errors"][0]["message"] == "an agent is listed twice: +861062345601"


def test_a_business_key_cannot_present_a_number_that_is_not_its_own(portal: Portal) -> None:
    """The presented number is what the called party sees: a shop's key presenting a bank's hotline
    would be caller-ID spoofing in the platform's name. Only the operator sets another number."""
    head = portal.container.ledger.recorder.max_notification_id()
    for number in ("+861095588", MILL, AGENT_1):
        answer = portal.gql("shop", f'mutation {{ setForwardingProfile(presentedNumber: "{number}") '
                                    '{ presentedNumber } }')
        assert code(answer) == "forbidden", answer
    assert portal.container.ledger.recorder.max_notification_id() == head
    own = portal.gql("shop", 'mutation { setForwardingProfile(presentedNumber: "01062340000") { presentedNumber } }')
    assert own["data"]["setForwardingProfile"] == {"presentedNumber": SHOP}
    by_operator = portal.gql("operator", f'mutation {{ setForwardingProfile(business: "{SHOP}", '
                                         'presentedNumber: "+861062349999") { presentedNumber } }')
    assert by_operator["data"]["setForwardingProfile"] == {"presentedNumber": "+861062349999"}
