"""A business's day of forwarded calls, end to end over HTTP on each store, with time frozen.

The switch drives the calls as it would (authorize with service `forward` and
`forwarded_from`, answer, end, with the switch token); the operator and the
business itself use the portal. The money reconciles: what the calls cost is
what the business's account lost and what forwarding revenue gained, and the
trial balance is zero.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from freezegun import freeze_time

from rating.demo import demo_plan
from ringledger.container import Container
from ringledger.server import create_app
from services.api_keys import create_key
from services.charging import Charging
from tests.charging_support import allow_frozen_time, trial_balance
from tests.fault_support import Store, store  # noqa: F401  (fixture)

TOKEN = "switch-secret-token"
SWITCH = {"Authorization": f"Bearer {TOKEN}"}
ACCOUNT, NUMBER = "7100000001", "+861062340000"
SHANGHAI, BEIJING = "+862161234567", "+861062345601"  # agents: long distance and local from Beijing
CUSTOMER, PEST = "+8613900139000", "+8617012345678"
REGISTER = """mutation($n: String!, $a: String!, $agents: [String!]) {
  registerBusiness(number: $n, account: $a, agents: $agents, greeting: "欢迎致电示范公司", presentedNumber: "01062340000") {
    number account presentedNumber greeting agents distribution } }"""
SCHEDULE = """mutation($b: String, $rules: [ScheduleRuleInput!]!) {
  setForwardingSchedule(business: $b, rules: $rules) { schedule { days start end } } }"""
BLACKLIST = """mutation($b: String, $n: [String!]!, $p: [String!]!) {
  setCallerBlacklist(business: $b, numbers: $n, prefixes: $p) { blockedNumbers blockedPrefixes } }"""
CALLS = "{ forwardedCalls { callId caller agent outcome reason waited billsec charged } }"
STATS = "{ agentStatistics { agent offered answered abandoned abandonedWait averageAbandonedWait talkSeconds } }"
BILL = "{ forwardingBill { business account calls refused answered billsec charged balance } }"


class Switch:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def authorize(self, call_id: str, caller: str = CUSTOMER) -> dict[str, Any]:
        body = {"call_id": call_id, "caller": caller, "callee": "01062340000", "service": "forward",
                "forwarded_from": "01062340000"}
        response = self.client.post("/v1/calls/authorize", json=body, headers=SWITCH)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, call_id: str, hook: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(f"/v1/calls/{call_id}/{hook}", json=body, headers=SWITCH)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def day(container: Container) -> Iterator[tuple[Any, TestClient]]:
    import pydantic.v1  # noqa: F401  FastAPI imports it lazily; its classes cannot be built on frozen dates

    container.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    container.settings.clock_start = ""  # the system clock, frozen below
    with freeze_time("2024-05-06 02:00:00", tick=True) as frozen:  # Monday 10:00 in Beijing (peak)
        allow_frozen_time(container)
        charging = Charging(container.ledger)
        plan = demo_plan()
        charging.publish_plan("demo", plan.rows, plan.effective_from, "test", tz=plan.tz)
        container.ledger.open_account("subscriber", "test", number=ACCOUNT, plan="demo")
        container.ledger.deposit(ACCOUNT, 100_0000, "test")
        with TestClient(create_app(container)) as client:
            yield frozen, client


def advance(frozen: Any, seconds: int) -> None:
    """Move the ticking frozen clock on from now (freezegun's own `tick` moves from where it was last set)."""
    frozen.move_to(frozen() + timedelta(seconds=seconds))


def gql(client: TestClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables},
                           headers={"Authorization": f"Bearer {token}"})
    return response.json()


def test_a_business_day_of_forwarded_calls_reconciles(container: Container, day: tuple[Any, TestClient]) -> None:
    frozen, client = day
    operator, _ = create_key(container.ledger, "operator", "test")
    # The operator registers the business: its number, paying account, agents, greeting, presented number.
    profile = gql(client, operator, REGISTER, n="01062340000", a=ACCOUNT, agents=[SHANGHAI, BEIJING])
    assert profile["data"]["registerBusiness"] == {
        "number": NUMBER, "account": ACCOUNT, "presentedNumber": NUMBER, "greeting": "欢迎致电示范公司",
        "agents": [SHANGHAI, BEIJING], "distribution": "even"}
    business, _ = create_key(container.ledger, "business", "test", bar=NUMBER)
    # The business sets its own hours (weekdays 09:00-18:00) and refuses a nuisance prefix.
    rules = [{"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"}]
    assert gql(client, business, SCHEDULE, rules=rules)["data"]["setForwardingSchedule"]["schedule"] == rules
    assert gql(client, business, BLACKLIST, n=[], p=["86170"])["data"]["setCallerBlacklist"] == {
        "blockedNumbers": [], "blockedPrefixes": ["86170"]}
    switch = Switch(client)

    # 1. A customer calls the business: served in its name by the first agent (Shanghai, long distance).
    first = switch.authorize("f1")
    assert first["authorized"] is True and first["account"] == ACCOUNT
    assert first["forward"] == {"business": NUMBER, "agent": SHANGHAI, "destination": SHANGHAI,
                                "presented_number": NUMBER, "greeting": "欢迎致电示范公司"}
    assert first["destination"]["category"] == "national" and first["rate"]["price_per_minute"] == "0.3000"
    advance(frozen, 5)
    switch.post("f1", "answer", {})
    advance(frozen, 90)
    assert switch.post("f1", "end", {"billsec": 90})["charged"] == "0.4500"  # 90 s at 0.30/min, 6/6

    # 2. The next caller goes to the other agent (Beijing, local) and hangs up after 20 s of ringing.
    second = switch.authorize("f2")
    assert second["forward"]["agent"] == BEIJING and second["destination"]["category"] == "local"
    advance(frozen, 20)
    assert switch.post("f2", "end", {"billsec": 0})["charged"] == "0.0000"

    # 3. A caller of the blacklisted prefix is refused, holding nothing.
    pest = switch.authorize("f3", caller=PEST)
    assert (pest["authorized"], pest["reason"], pest["hold"]) == (False, "blacklisted", "0.0000")

    # 4. Both agents have one call: the tie goes to the first in the profile.
    fourth = switch.authorize("f4")
    assert fourth["forward"]["agent"] == SHANGHAI
    switch.post("f4", "answer", {})
    advance(frozen, 30)
    assert switch.post("f4", "end", {"billsec": 30})["charged"] == "0.1500"

    # 5. On Saturday the number is not forwarded.
    frozen.move_to("2024-05-11 02:00:00")
    assert switch.authorize("f5")["reason"] == "outside_schedule"

    # The business sees its calls, its agents' statistics and its bill.
    calls = {c["callId"]: c for c in gql(client, business, CALLS)["data"]["forwardedCalls"]}
    assert {k: (c["agent"], c["outcome"], c["reason"]) for k, c in calls.items()} == {
        "f1": (SHANGHAI, "answered", None), "f2": (BEIJING, "abandoned", None), "f3": (None, "refused", "blacklisted"),
        "f4": (SHANGHAI, "answered", None), "f5": (None, "refused", "outside_schedule")}
    assert (calls["f1"]["waited"], calls["f2"]["waited"]) == (5, 20)
    stats = {s["agent"]: s for s in gql(client, business, STATS)["data"]["agentStatistics"]}
    assert stats[SHANGHAI] == {"agent": SHANGHAI, "offered": 2, "answered": 2, "abandoned": 0, "abandonedWait": 0,
                               "averageAbandonedWait": 0, "talkSeconds": 120}
    assert stats[BEIJING] == {"agent": BEIJING, "offered": 1, "answered": 0, "abandoned": 1, "abandonedWait": 20,
                              "averageAbandonedWait": 20, "talkSeconds": 0}
    bill = gql(client, business, BILL)["data"]["forwardingBill"]
    assert bill == {"business": NUMBER, "account": ACCOUNT, "calls": 5, "refused": 2, "answered": 2,
                    "billsec": 120, "charged": "0.6000", "balance": "99.4000"}

    # The money reconciles: the account lost what the calls cost, forwarding revenue gained it.
    container.catch_up()
    revenue = container.views.query("SELECT account, balance FROM gl_balances WHERE account LIKE ?",
                                    ("house:revenue:forward:%",))
    assert sorted(revenue) == [("house:revenue:forward:national", 6000)]
    assert container.ledger.account(ACCOUNT).balance == 100_0000 - 6000
    assert container.ledger.account(ACCOUNT).available == 100_0000 - 6000  # no hold left open
    assert trial_balance(container) == 0


@pytest.mark.parametrize(("forwarded_from", "status", "error"), [
    ("0106234\u00070000", 422, "invalid_request"),  # a control character
    ("1" * 65, 422, "invalid_request"),  # longer than any number field
    (" 01062340000", 422, "invalid_request"),  # padded
    (12345, 422, "invalid_request"),  # not text
])
def test_a_malformed_forwarded_number_is_a_422_and_records_nothing(
        container: Container, day: tuple[Any, TestClient], forwarded_from: Any, status: int, error: str) -> None:
    _, client = day
    head = container.ledger.recorder.max_notification_id()
    body = {"call_id": "bad", "caller": CUSTOMER, "callee": "01062340000", "service": "forward",
            "forwarded_from": forwarded_from}
    response = client.post("/v1/calls/authorize", json=body, headers=SWITCH)
    assert response.status_code == status and response.json()["error"] == error
    assert set(response.json()) == {"error", "message"}
    assert container.ledger.recorder.max_notification_id() == head
    assert client.post("/v1/calls/bad/end", json={"billsec": 0}, headers=SWITCH).status_code == 404


def test_a_number_not_forwarded_here_is_refused_and_a_repeat_changes_nothing(
        container: Container, day: tuple[Any, TestClient]) -> None:
    _, client = day
    operator, _ = create_key(container.ledger, "operator", "test")
    gql(client, operator, REGISTER, n=NUMBER, a=ACCOUNT, agents=[SHANGHAI, BEIJING])
    switch = Switch(client)
    body = {"call_id": "x1", "caller": CUSTOMER, "callee": "01099999999", "service": "forward",
            "forwarded_from": "01099999999"}
    refused = client.post("/v1/calls/authorize", json=body, headers=SWITCH).json()
    assert (refused["authorized"], refused["reason"], refused["account"]) == (False, "not_forwarded", None)
    missing = client.post("/v1/calls/authorize", json={**body, "call_id": "x2", "forwarded_from": None},
                          headers=SWITCH).json()
    assert missing["reason"] == "not_forwarded"
    # The switch retries an authorize: the same answer, and the agent is counted once.
    first = switch.authorize("y1")
    assert switch.authorize("y1") == first
    assert switch.authorize("y2")["forward"]["agent"] == BEIJING  # the Shanghai agent is busy with y1 only
    assert switch.authorize("y3")["reason"] == "no_agent_free"


def test_the_switch_reports_an_agent_busy_and_it_is_skipped(container: Container,
                                                            day: tuple[Any, TestClient]) -> None:
    _, client = day
    operator, _ = create_key(container.ledger, "operator", "test")
    gql(client, operator, REGISTER, n=NUMBER, a=ACCOUNT, agents=[SHANGHAI, BEIJING])
    path = f"/v1/forwarding/{NUMBER}/agents/{SHANGHAI}"
    marked = client.post(path, json={"busy": True}, headers=SWITCH)
    assert marked.status_code == 200 and marked.json() == {"business": NUMBER, "agent": SHANGHAI, "busy": True,
                                                           "busy_agents": [SHANGHAI]}
    switch = Switch(client)
    assert switch.authorize("b1")["forward"]["agent"] == BEIJING
    assert switch.authorize("b2")["reason"] == "no_agent_free"
    assert client.post(path, json={"busy": False}, headers=SWITCH).json()["busy_agents"] == [BEIJING]
    assert switch.authorize("b3")["forward"]["agent"] == SHANGHAI


@pytest.mark.parametrize(("path", "body", "headers", "status", "code"), [
    (f"/v1/forwarding/{NUMBER}/agents/{SHANGHAI}", {"busy": True}, {}, 401, "unauthorized"),
    (f"/v1/forwarding/{NUMBER}/agents/{SHANGHAI}", {"busy": "yes"}, SWITCH, 422, "invalid_request"),
    (f"/v1/forwarding/{NUMBER}/agents/{SHANGHAI}", {}, SWITCH, 422, "invalid_request"),
    (f"/v1/forwarding/{NUMBER}/agents/+861000000000", {"busy": True}, SWITCH, 422, "unknown_agent"),
    (f"/v1/forwarding/{NUMBER}/agents/not-a-number", {"busy": True}, SWITCH, 422, "invalid_request"),
    (f"/v1/forwarding/+861099999999/agents/{SHANGHAI}", {"busy": True}, SWITCH, 404, "unknown_business"),
])
def test_a_bad_agent_report_is_refused_and_changes_nothing(container: Container, day: tuple[Any, TestClient],
                                                           path: str, body: Any, headers: dict[str, str],
                                                           status: int, code: str) -> None:
    _, client = day
    operator, _ = create_key(container.ledger, "operator", "test")
    gql(client, operator, REGISTER, n=NUMBER, a=ACCOUNT, agents=[SHANGHAI, BEIJING])
    head = container.ledger.recorder.max_notification_id()
    response = client.post(path, json=body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert container.ledger.recorder.max_notification_id() == head


def test_authorizes_racing_through_the_hooks_give_each_agent_one_call(container: Container,
                                                                    day: tuple[Any, TestClient]) -> None:
    """Concurrent requests are grouped into one transaction by the group committer: the picks in a group
    see each other, and groups see the ones saved before them."""
    from concurrent.futures import ThreadPoolExecutor

    _, client = day
    agents = [f"+8610623456{i:02d}" for i in range(1, 8)]
    operator, _ = create_key(container.ledger, "operator", "test")
    gql(client, operator, REGISTER, n=NUMBER, a=ACCOUNT, agents=agents)
    switch = Switch(client)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda i: switch.authorize(f"race-{i}"), range(12)))
    taken = [a["forward"]["agent"] for a in answers if a["authorized"]]
    assert sorted(taken) == sorted(agents)
    assert [a["reason"] for a in answers if not a["authorized"]] == ["no_agent_free"] * 5
    assert sum(a["authorized"] for a in answers) == 7


def test_with_the_store_gone_the_agent_hook_answers_503_not_500(store: Store) -> None:  # noqa: F811
    """The switch's busy/free report of an agent: a store that stops answering is the usual 503
    `unavailable` (the switch retries), never a bare 500."""
    import time

    from ringledger.container import build
    from ringledger.forwarding import build_forwarding

    own = build(store.settings)
    try:
        own.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
        own.ledger.open_account("subscriber", "test", number=ACCOUNT, plan=None)
        build_forwarding(own).register(NUMBER, ACCOUNT, "test", agents=[BEIJING])
        path = f"/v1/forwarding/{NUMBER}/agents/{BEIJING}"
        with TestClient(create_app(own), raise_server_exceptions=False) as client:
            with store.outage():
                started = time.monotonic()
                refused = client.post(path, json={"busy": True}, headers=SWITCH)
                waited = time.monotonic() - started
            assert (refused.status_code, refused.json()["error"]) == (503, "unavailable"), refused.text
            assert waited < 6, f"the switch waited {waited:.1f} s for its refusal"
            deadline = time.monotonic() + 10
            while (again := client.post(path, json={"busy": True}, headers=SWITCH)).status_code != 200:
                assert time.monotonic() < deadline, again.text
                time.sleep(0.2)
            assert again.json()["busy_agents"] == [BEIJING]
    finally:
        own.close()


def test_a_business_with_no_agents_is_refused_saying_so_not_that_all_are_busy(
        container: Container, day: tuple[Any, TestClient]) -> None:
    _, client = day
    operator, _ = create_key(container.ledger, "operator", "test")
    gql(client, operator, REGISTER, n=NUMBER, a=ACCOUNT, agents=[])
    refused = Switch(client).authorize("na-1")
    assert (refused["authorized"], refused["reason"]) == (False, "no_agent_free")
    assert refused["message"] == f"{NUMBER} has no agents in its profile"
