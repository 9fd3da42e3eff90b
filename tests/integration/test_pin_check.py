"""An account's PIN can be checked through every interface, and each wrong try counts toward the lockout."""

from __future__ import annotations

import hashlib
import json

from fastapi.testclient import TestClient

from ringledger.container import Container
from ringledger.server import create_app
from tests.integration.portal_support import open_portal

TOKEN = "switch-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PHONE = "+8613800138000"


def test_an_ivr_checks_a_pin_by_phone_and_five_wrong_tries_lock_the_account(container: Container) -> None:
    container.ledger.open_account("subscriber", "test", number="8613001", pin="123456")
    container.ledger.bind("8613001", PHONE, "test")
    container.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    with TestClient(create_app(container)) as client:
        url = "/v1/accounts/13800138000/pin/verify"
        assert client.post(url, json={"pin": "123456"}).status_code == 401  # no token: nothing counted
        right = client.post(url, json={"pin": "123456"}, headers=AUTH)
        assert right.status_code == 200
        assert right.json() == {"account": "8613001", "verified": True, "reason": None, "tries_left": 5}
        bad = client.post(url, json={"pin": "12ab"}, headers=AUTH)  # malformed: a 4xx that counts nothing
        assert 400 <= bad.status_code < 500 and bad.json()["error"]
        assert client.post("/v1/accounts/5550000/pin/verify", json={"pin": "123456"}, headers=AUTH).status_code == 404
        answers = [client.post(url, json={"pin": "654321"}, headers=AUTH).json() for _ in range(5)]
        assert [a["tries_left"] for a in answers] == [4, 3, 2, 1, 0]
        assert answers[-1]["reason"] == "pin_locked" and not any(a["verified"] for a in answers)
        # Locked: even the right PIN is refused, until an operator resets it.
        assert client.post(url, json={"pin": "123456"}, headers=AUTH).json()["reason"] == "pin_locked"
        container.ledger.change_pin("8613001", "112233", "test")
        assert client.post(url, json={"pin": "112233"}, headers=AUTH).json()["verified"] is True
        assert "pin/verify" in json.dumps(client.get("/openapi.json").json()["paths"])


def test_an_operator_checks_a_pin_in_graphql_and_wrong_tries_are_counted(container: Container) -> None:
    portal = open_portal(container)
    container.ledger.open_account("subscriber", "test", number="8613001", pin="123456")
    check = 'mutation($p: String!) { checkPin(number: "8613001", pin: $p) { number verified reason triesLeft } }'
    assert portal.gql("operator", check, p="123456")["data"]["checkPin"] == {
        "number": "8613001", "verified": True, "reason": None, "triesLeft": 5}
    assert portal.gql("operator", check, p="000000")["data"]["checkPin"]["triesLeft"] == 4
    assert portal.gql("auditor", check, p="000000")["errors"][0]["extensions"]["code"] == "forbidden"
    assert container.ledger.account("8613001").pin_failures == 1  # the auditor's try changed nothing


def test_the_cli_checks_a_pin_and_counts_wrong_tries(cli) -> None:
    cli("accounts", "open", "--number", "8613001", "--pin", "123456")
    assert json.loads(cli("accounts", "check-pin", "8613001", "--pin", "123456"))["verified"] is True
    wrong = [json.loads(cli("accounts", "check-pin", "8613001", "--pin", "999999", code=1)) for _ in range(5)]
    assert [w["tries_left"] for w in wrong] == [4, 3, 2, 1, 0] and wrong[-1]["reason"] == "pin_locked"
    assert json.loads(cli("accounts", "check-pin", "8613001", "--pin", "123456", code=1))["reason"] == "pin_locked"
    assert cli("accounts", "check-pin", "8613001", "--pin", "12", code=2).startswith("error:")
