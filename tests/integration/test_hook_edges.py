"""Hostile input at the switch hooks: instants at the edge of the calendar, padded identifiers,
malformed PINs, paths and methods that do not exist. Each is a 4xx `{"error", "message"}` and
changes nothing; none is a 500."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.errors import InvalidRequest
from ringledger.container import Container
from ringledger.server import create_app
from tests.charging_support import ACCOUNT, LOCAL, PHONE, call, set_up
from tests.support import TEST_CLOCK_START

TOKEN = "switch-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    container.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    container.settings.clock_start = TEST_CLOCK_START
    with TestClient(create_app(container), raise_server_exceptions=False) as c:
        yield c


def events(c: Container) -> int:
    return c.ledger.recorder.max_notification_id() or 0


def authorized(client: TestClient, call_id: str) -> None:
    body = {"call_id": call_id, "caller": PHONE, "callee": LOCAL, "service": "direct"}
    answer = client.post("/v1/calls/authorize", json=body, headers=AUTH)
    assert answer.status_code == 200 and answer.json()["authorized"] is True, answer.text


def assert_refused(response: Any, status: int = 422, code: str = "invalid_request") -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error", "message"}
    assert response.json()["error"] == code and response.json()["message"]


@pytest.mark.parametrize(("hook", "body"), [
    ("end", {"billsec": 30, "ended_at": "9999-12-31T23:59:59-12:00"}),
    ("end", {"billsec": 30, "ended_at": "0001-01-01T00:00:30+00:00"}),
    ("end", {"billsec": 30, "ended_at": "2150-01-01T00:00:00+00:00"}),
    ("end", {"billsec": 30, "ended_at": "2024-05-06T01:00:00+08:00"}),  # an hour before the authorize
    ("answer", {"answered_at": "0001-01-01T00:00:00+14:00"}),
    ("answer", {"answered_at": "9999-12-31T23:59:59-12:00"}),
    ("answer", {"answered_at": "1999-12-31T23:59:59+00:00"}),
    ("answer", {"answered_at": "2024-05-06T09:00:00+08:00"}),  # an hour before the authorize
])
def test_an_instant_outside_its_window_is_a_422_and_the_call_goes_on(container: Container, client: TestClient,
                                                                      hook: str, body: dict[str, Any]) -> None:
    set_up(container, 10_0000)
    authorized(client, "edge")
    before = events(container)
    assert_refused(client.post(f"/v1/calls/edge/{hook}", json=body, headers=AUTH))
    assert events(container) == before
    # The call is still open and ends normally, at the authorize's instant (10:00 Beijing, peak).
    ended = client.post("/v1/calls/edge/end", json={"billsec": 60, "ended_at": "2024-05-06T10:01:00+08:00"},
                        headers=AUTH)
    assert ended.status_code == 200 and ended.json()["charged"] == "0.1000"


def test_the_charging_service_refuses_the_same_instants_without_the_http_edge(container: Container) -> None:
    # The CLI and any other edge reach the service directly: it keeps the same window.
    charging = set_up(container, 10_0000)
    charging.authorize(call("svc"))
    before = events(container)
    edge = datetime(1, 1, 1, 0, 0, 30, tzinfo=UTC)
    with pytest.raises(InvalidRequest, match="2000 and 2099"):
        charging.answer("svc", edge)
    with pytest.raises(InvalidRequest, match="2000 and 2099"):
        charging.end("svc", 30, ended_at=edge)
    with pytest.raises(InvalidRequest, match="UTC offset"):
        charging.end("svc", 30, ended_at=datetime(2024, 5, 6, 2, 1))  # naive
    with pytest.raises(InvalidRequest, match="before the call was authorized"):
        charging.end("svc", 30, ended_at=datetime(2024, 5, 6, 1, 0, tzinfo=UTC))
    assert events(container) == before
    assert charging.end("svc", 60)["charged"] == 1000


@pytest.mark.parametrize("body", [
    {"call_id": " x", "caller": PHONE, "callee": LOCAL, "service": "direct"},
    {"call_id": "x ", "caller": PHONE, "callee": LOCAL, "service": "direct"},
    {"call_id": "x", "caller": PHONE, "callee": LOCAL, "service": "phonebar", "booth": " 3"},
    {"call_id": "x", "caller": PHONE, "callee": LOCAL, "service": "phonebar", "booth": "3\t"},
    {"call_id": "x", "caller": f" {PHONE}", "callee": LOCAL, "service": "direct"},
])
def test_a_padded_call_id_or_booth_is_refused_not_trimmed(container: Container, client: TestClient,
                                                          body: dict[str, Any]) -> None:
    set_up(container, 10_0000)
    before = events(container)
    assert_refused(client.post("/v1/calls/authorize", json=body, headers=AUTH))
    assert events(container) == before
    assert container.ledger.account(ACCOUNT).held == 0
    # The unpadded call is a call of its own, authorized as usual.
    authorized(client, "x")


def test_the_service_refuses_a_padded_call_id_too(container: Container) -> None:
    charging = set_up(container, 10_0000)
    with pytest.raises(InvalidRequest, match="whitespace"):
        charging.authorize(call(" x"))
    with pytest.raises(InvalidRequest, match="whitespace"):
        charging.authorize(call("x", booth="3 "))
    assert container.ledger.account(ACCOUNT).held == 0


@pytest.mark.parametrize("pin", ["12ab", "1", "１２３４５６", "12345678901"])
def test_a_malformed_pin_at_the_ivr_is_a_422_and_counts_no_try(container: Container, client: TestClient,
                                                               pin: str) -> None:
    container.ledger.open_account("subscriber", "test", number="8613001", pin="123456")
    before = events(container)
    assert_refused(client.post("/v1/accounts/8613001/pin/verify", json={"pin": pin}, headers=AUTH))
    assert events(container) == before
    wrong = client.post("/v1/accounts/8613001/pin/verify", json={"pin": "654321"}, headers=AUTH).json()
    assert wrong["tries_left"] == 4  # the first try counted is this one


def test_an_unknown_path_and_a_wrong_method_answer_in_the_one_error_shape(client: TestClient) -> None:
    assert_refused(client.get("/no/such/path"), 404, "not_found")
    assert_refused(client.get("/v1/calls/authorize", headers=AUTH), 405, "method_not_allowed")
    assert_refused(client.delete("/health"), 405, "method_not_allowed")
