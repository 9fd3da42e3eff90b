"""The REST switch hooks over HTTP, on each store: every hook, every refusal, every bad request.

Every test runs twice more: with the server's clock pinned at 02:00 Beijing
(off-peak) and at 14:00 (peak), each asserting the prices of its hour.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ringledger.container import Container
from ringledger.server import create_app
from services.fakes import RecordingCallControl, RecordingDialer, RecordingSmsGateway
from services.ports import Ports
from tests.charging_support import ACCOUNT, HONG_KONG, HOURS, LOCAL, PHONE, Hour, set_up

TOKEN = "switch-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(params=HOURS, ids=lambda h: h.name)
def hour(request: pytest.FixtureRequest) -> Hour:
    return request.param


@pytest.fixture
def client(container: Container, hour: Hour) -> Iterator[TestClient]:
    container.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    container.settings.clock_start = hour.clock_start
    container.ports = Ports(dialer=RecordingDialer(), call_control=RecordingCallControl(), sms=RecordingSmsGateway())
    with TestClient(create_app(container)) as c:
        yield c


def authorize(client: TestClient, call_id: str, callee: str = LOCAL, **extra: Any) -> dict[str, Any]:
    body = {"call_id": call_id, "caller": PHONE, "callee": callee, "service": "direct", **extra}
    response = client.post("/v1/calls/authorize", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_call_is_authorized_answered_reported_and_charged(container: Container, client: TestClient,
                                                            hour: Hour) -> None:
    set_up(container, 10_0000)
    answer = authorize(client, "call-1", HONG_KONG)
    assert answer["rate"]["price_per_minute"] == hour.hong_kong
    assert answer["authorized"] is True and answer["reason"] is None
    assert answer["account"] == ACCOUNT and answer["balance"] == "10.0000"
    assert answer["destination"] == {"e164": HONG_KONG, "category": "hmt", "prefix": "852", "name": "Hong Kong"}
    assert answer["rate"]["first_increment"] == 30 and answer["rate"]["next_increment"] == 6
    # One slice of 300 s is granted and held (5 minutes at 0.90 or 1.20), not all 10.00 could pay for.
    assert answer["max_seconds"] == answer["granted_seconds"] == 300 and answer["low_balance"] is False
    assert answer["hold"] == {"0.9000": "4.5000", "1.2000": "6.0000"}[hour.hong_kong]
    answered = client.post("/v1/calls/call-1/answer", json={}, headers=AUTH).json()
    assert answered["max_seconds"] == answered["granted_seconds"] == 300
    interim = client.post("/v1/calls/call-1/interim", json={"used_seconds": 45}, headers=AUTH).json()
    assert interim["continue"] is True and interim["max_seconds"] == 300 - 45 and interim["reason"] is None
    assert interim["granted_seconds"] == 300 and interim["hold"] == answer["hold"]
    ended = client.post("/v1/calls/call-1/end", json={"billsec": 45, "cause": "normal_clearing"}, headers=AUTH)
    assert ended.status_code == 200
    assert ended.json()["charged"] == ended.json()["cost"]
    # 45 s at 30/6 bill 48 s: 0.80 of a minute.
    assert ended.json()["charged"] == {"0.9000": "0.7200", "1.2000": "0.9600"}[hour.hong_kong]
    balance = client.get(f"/v1/accounts/by-number/{ACCOUNT}/balance", headers=AUTH).json()
    assert balance["balance"] == ended.json()["balance"] and balance["account"] == ACCOUNT
    by_phone = client.get(f"/v1/accounts/by-number/{PHONE}/balance", headers=AUTH).json()
    assert by_phone == balance


def test_an_interim_past_max_seconds_tells_the_switch_to_cut_the_call(container: Container,
                                                                     client: TestClient, hour: Hour) -> None:
    set_up(container, 2000)  # 0.20: two minutes of a local call at peak, three off-peak
    seconds, hold = {"0.1000": (120, "0.2000"), "0.0600": (180, "0.1800")}[hour.local]
    answer = authorize(client, "short")
    assert answer["rate"]["price_per_minute"] == hour.local
    assert answer["max_seconds"] == seconds and answer["hold"] == hold
    cut = client.post("/v1/calls/short/interim", json={"used_seconds": seconds}, headers=AUTH).json()
    assert cut == {"call_id": "short", "continue": False, "max_seconds": 0, "used": hold, "granted_seconds": seconds,
                   "hold": hold, "low_balance": True, "reason": "insufficient_funds"}
    # The switch is also asked to cut it, once, after the cut was recorded.
    assert container.ports.call_control.cuts == [("short", "insufficient_funds")]  # type: ignore[attr-defined]
    again = client.post("/v1/calls/short/interim", json={"used_seconds": seconds}, headers=AUTH).json()
    assert again == cut and len(container.ports.call_control.cuts) == 1  # type: ignore[attr-defined]


def test_a_retried_authorize_returns_the_first_answer(container: Container, client: TestClient,
                                                      hour: Hour) -> None:
    set_up(container, 10_0000)
    first = authorize(client, "dup")
    assert authorize(client, "dup") == first
    other = authorize(client, "dup", HONG_KONG)
    assert other["authorized"] is False and other["reason"] == "duplicate_call"
    # One slice of 5 minutes at 0.10 or 0.06: held once.
    assert container.ledger.account(ACCOUNT).held == {"0.1000": 5000, "0.0600": 3000}[hour.local]


@pytest.mark.parametrize("reason", ["insufficient_funds", "unknown_account", "no_rate", "blacklisted",
                                    "account_closed"])
def test_each_refusal_is_a_200_with_its_reason(container: Container, client: TestClient, reason: str) -> None:
    charging = set_up(container, 10_0000)
    body: dict[str, Any] = {}
    if reason == "insufficient_funds":
        charging.ledger.adjust(ACCOUNT, -9_9950, "test", "drain")  # 0.0050 left
    elif reason == "unknown_account":
        body = {"caller": "+8613900139000"}  # bound to nobody
    elif reason == "no_rate":
        body = {"callee": "+99912345"}  # not a number anywhere
    elif reason == "blacklisted":
        charging.block(LOCAL, "op", account=ACCOUNT)
    else:
        container.ledger.open_account("subscriber", "test", number="8000000002", plan="demo")
        container.ledger.set_status("8000000002", "close", "test")
        body = {"account": "8000000002"}
    answer = authorize(client, f"refused-{reason}", **body)
    assert answer["authorized"] is False and answer["reason"] == reason and answer["max_seconds"] == 0
    assert answer["message"]
    assert container.ledger.account(ACCOUNT).held == 0


def test_an_unknown_account_number_is_refused(container: Container, client: TestClient) -> None:
    set_up(container, 10_0000)
    answer = authorize(client, "x1", account="1234567890")
    assert answer["reason"] == "unknown_account"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/calls/authorize", {"call_id": "m1", "caller": PHONE, "service": "direct"}),
        ("/v1/calls/authorize", {"call_id": "m1", "caller": PHONE, "callee": LOCAL, "service": "fax"}),
        ("/v1/calls/authorize", {"call_id": "", "caller": PHONE, "callee": LOCAL, "service": "direct"}),
        ("/v1/calls/authorize", {"call_id": "m1", "caller": PHONE, "callee": LOCAL, "service": "direct",
                                 "account": "12ab"}),
        ("/v1/calls/m1/interim", {"used_seconds": "a while"}),
        ("/v1/calls/m1/end", {"billsec": -1}),
        ("/v1/calls/m1/end", {"cause": "normal"}),
        ("/v1/calls/m1/answer", {"answered_at": "2024-05-06T10:00:00"}),  # no offset
    ],
)
def test_a_malformed_body_is_a_422_invalid_request(container: Container, client: TestClient, path: str,
                                                   body: dict[str, Any]) -> None:
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request" and response.json()["message"]


def test_a_body_that_is_not_json_is_a_422(client: TestClient) -> None:
    response = client.post("/v1/calls/authorize", content=b"{not json",
                           headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("hook", ["answer", "interim", "end"])
def test_a_hook_for_an_unknown_call_is_a_404(client: TestClient, hook: str) -> None:
    body = {"answer": {}, "interim": {"used_seconds": 5}, "end": {"billsec": 5}}[hook]
    response = client.post(f"/v1/calls/nope/{hook}", json=body, headers=AUTH)
    assert response.status_code == 404
    assert response.json() == {"error": "unknown_call", "message": "no call nope"}


def test_the_balance_of_an_unknown_number_is_a_404(client: TestClient) -> None:
    response = client.get("/v1/accounts/by-number/5550000/balance", headers=AUTH)
    assert response.status_code == 404 and response.json()["error"] == "unknown_account"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_a_request_without_a_valid_switch_token_is_a_401(container: Container, client: TestClient,
                                                         headers: dict[str, str]) -> None:
    set_up(container, 10_0000)
    body = {"call_id": "a1", "caller": PHONE, "callee": LOCAL, "service": "direct"}
    response = client.post("/v1/calls/authorize", json=body, headers=headers)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    assert client.get(f"/v1/accounts/by-number/{ACCOUNT}/balance", headers=headers).status_code == 401
    assert container.ledger.account(ACCOUNT).held == 0


def test_metrics_count_hooks_and_charged_calls(container: Container, client: TestClient) -> None:
    set_up(container, 10_0000)
    authorize(client, "m")
    client.post("/v1/calls/m/end", json={"billsec": 10}, headers=AUTH)
    container.catch_up()
    text = client.get("/metrics").text
    assert 'ringledger_hook_seconds_count{hook="authorize"} 1.0' in text
    assert 'ringledger_calls_charged_total{service="direct"} 1.0' in text
    assert "ringledger_holds_open 0.0" in text


def test_the_hooks_are_documented_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/calls/authorize", "/v1/calls/{call_id}/answer", "/v1/calls/{call_id}/interim",
                 "/v1/calls/{call_id}/end", "/v1/accounts/by-number/{number}/balance"):
        assert path in paths
    assert client.get("/docs").status_code == 200
