"""Reads as fresh as the store, whichever process wrote: CLI and server processes on one store.

Every server here is a `ringledger serve` process of its own. The balances
asserted come from adjustments and deposits, or are compared between
processes, so none depends on the hour the suite runs at.
"""

from __future__ import annotations

from ledger.money import format_money
from ringledger.config import Settings
from ringledger.container import Container
from tests.charging_support import ACCOUNT, LOCAL, PHONE, set_up
from tests.server_process import cli, server

PHONE_DIALLED = "13800138000"


def balance(http, number: str = PHONE_DIALLED) -> str:
    answer = http.get(f"/v1/accounts/by-number/{number}/balance")
    assert answer.status_code == 200, answer.text
    return answer.json()["balance"]


def test_the_balance_hook_shows_a_cli_adjustment_in_the_next_request(container: Container,
                                                                      settings: Settings) -> None:
    set_up(container, 100_0000)
    with server(settings) as http:
        assert balance(http) == "100.0000"  # the server now holds the account in its cache
        done = cli(settings, "accounts", "adjust", ACCOUNT, "1.00", "--reason", "x")
        assert done.returncode == 0, done.stderr
        assert balance(http) == "101.0000"
        assert balance(http, ACCOUNT) == "101.0000"
        # A number unbound by another process is no longer answered for.
        done = cli(settings, "accounts", "unbind", PHONE_DIALLED)
        assert done.returncode == 0, done.stderr
        answer = http.get(f"/v1/accounts/by-number/{PHONE_DIALLED}/balance")
        assert answer.status_code == 404 and answer.json()["error"] == "unknown_account", answer.text


def one_call(http, call_id: str, billsec: int = 60) -> dict:
    answer = http.post("/v1/calls/authorize", json={"call_id": call_id, "caller": PHONE, "callee": LOCAL,
                                                    "service": "direct"})
    assert answer.status_code == 200 and answer.json()["authorized"], answer.text
    end = http.post(f"/v1/calls/{call_id}/end", json={"billsec": billsec})
    assert end.status_code == 200, end.text
    return end.json()


def test_two_servers_on_one_database_announce_the_same_balance(container: Container, settings: Settings) -> None:
    set_up(container, 10_0000)
    with server(settings) as a, server(settings) as b:
        assert balance(a) == balance(b) == "10.0000"  # both hold the account in their caches
        for i in range(3):
            # Calls charged through one server; the other answers with what the store holds.
            ended = one_call(a if i % 2 == 0 else b, f"two-{i}")
            stored = format_money(container.ledger.account(ACCOUNT).balance)
            assert ended["balance"] == stored
            assert balance(a) == balance(b) == stored
            assert stored != "10.0000"
        # An authorize on the other server announces the balance the store holds, not its cached one.
        answer = b.post("/v1/calls/authorize", json={"call_id": "two-last", "caller": PHONE, "callee": LOCAL,
                                                     "service": "direct"}).json()
        assert answer["balance"] == format_money(container.ledger.account(ACCOUNT).balance)
