"""Reads as fresh as the store, whichever process wrote: CLI and server processes on one store.

Every server here is a `ringledger serve` process of its own. The balances
asserted come from adjustments and deposits, or are compared between
processes, so none depends on the hour the suite runs at.
"""

from __future__ import annotations

import threading
import time

import httpx

from ledger.ids import account_id
from ledger.money import format_money
from ringledger.audit.verify import verify
from ringledger.config import Settings
from ringledger.container import Container, build
from services.api_keys import create_key
from tests.charging_support import ACCOUNT, LOCAL, PHONE, set_up
from tests.server_process import HEADERS, cli, server

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


def portal_balance(http, token: str) -> str:
    answer = http.post("/graphql", json={"query": f'{{ account(number: "{ACCOUNT}") {{ balance }} }}'},
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["account"]["balance"]


def test_two_servers_on_one_database_announce_the_same_balance(container: Container, settings: Settings) -> None:
    set_up(container, 10_0000)
    token, _ = create_key(container.ledger, "auditor", "test")
    with server(settings) as a, server(settings) as b:
        assert balance(a) == balance(b) == "10.0000"  # both hold the account in their caches
        for i in range(3):
            # Calls charged through one server; the other answers with what the store holds.
            ended = one_call(a if i % 2 == 0 else b, f"two-{i}")
            stored = format_money(container.ledger.account(ACCOUNT).balance)
            assert ended["balance"] == stored
            assert balance(a) == balance(b) == stored
            assert portal_balance(a, token) == portal_balance(b, token) == stored
            assert stored != "10.0000"
        # An authorize on the other server announces the balance the store holds, not its cached one.
        answer = b.post("/v1/calls/authorize", json={"call_id": "two-last", "caller": PHONE, "callee": LOCAL,
                                                     "service": "direct"}).json()
        assert answer["balance"] == format_money(container.ledger.account(ACCOUNT).balance)


def _edit_stored_event(c: Container, old: bytes, new: bytes) -> int:
    """Change the first stored event holding `old` behind the ledger's back; returns its position."""
    table = c.ledger.recorder.events_table_name
    column = "notification_id" if c.views.is_postgres else "rowid"
    conn = c.views.connect()
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT {column}, state FROM {table} ORDER BY {column} LIMIT 50")
        position, state = next((p, bytes(s)) for p, s in cur.fetchall() if old in bytes(s))
        cur.execute(c.views.sql(f"UPDATE {table} SET state = ? WHERE {column} = ?"), (state.replace(old, new), position))
        if not c.views.is_postgres:
            conn.commit()
        return int(position)
    finally:
        conn.close()


def test_verify_on_a_live_server_raises_no_false_alarm_and_still_names_an_edited_event(
        container: Container, settings: Settings) -> None:
    set_up(container, 1000_0000)
    with server(settings) as http:
        stop = threading.Event()
        made = [0]

        def traffic(thread: int) -> None:
            with httpx.Client(base_url=http.base_url, headers=HEADERS, timeout=30) as h:
                for i in range(3000):
                    if stop.is_set():
                        return
                    one_call(h, f"live-{thread}-{i}", billsec=30)
                    made[0] += 1

        threads = [threading.Thread(target=traffic, args=(t,)) for t in range(3)]
        for t in threads:
            t.start()
        try:
            head = lambda: container.ledger.recorder.max_notification_id() or 0  # noqa: E731
            deadline = time.monotonic() + 60
            while made[0] < 20:  # traffic is flowing before the auditor starts
                assert time.monotonic() < deadline and all(t.is_alive() for t in threads)
                time.sleep(0.05)
            before = head()
            runs = [verify(container) for _ in range(4)]
            after = head()
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
    assert after > before  # the server wrote while the auditor verified
    assert [r.problems for r in runs] == [[]] * 4
    assert runs[-1].position > runs[0].position
    # An edited event is still named.
    position = _edit_stored_event(container, b'"amount":10000000', b'"amount":90000000')
    caught = verify(container)
    assert not caught.ok and f"position {position}" in caught.problems[0], caught.problems


def authorize(http, call_id: str, callee: str = LOCAL) -> dict:
    answer = http.post("/v1/calls/authorize", json={"call_id": call_id, "caller": PHONE, "callee": callee,
                                                    "service": "direct"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_tariff_and_a_blacklist_changed_from_the_cli_apply_to_the_next_call(
        container: Container, settings: Settings, tmp_path) -> None:
    set_up(container, 100_0000)
    with server(settings) as http:
        first = authorize(http, "t-1")  # the server now holds tariff "demo" v1 and the blacklist
        assert first["authorized"] and first["rate"]["version"] == 1
        deck = tmp_path / "flat.csv"
        deck.write_text("prefix,category,name,price_per_minute,first_increment,next_increment,connect_fee,"
                        "minimum_charge,peak_price,offpeak_price,offpeak_start,offpeak_end\n"
                        ",local,Local flat,0.50,60,60,,,,,,\n")
        done = cli(settings, "tariffs", "import", str(deck), "--plan", "demo",
                   "--effective", "2024-01-02T00:00:00+08:00")
        assert done.returncode == 0, done.stderr
        second = authorize(http, "t-2")
        assert second["rate"]["version"] == 2 and second["rate"]["price_per_minute"] == "0.5000"
        done = cli(settings, "calls", "block", LOCAL, "--reason", "fraud")
        assert done.returncode == 0, done.stderr
        third = authorize(http, "t-3")
        assert not third["authorized"] and third["reason"] == "blacklisted"


def test_a_copy_loaded_just_before_another_process_wrote_is_not_served(container: Container,
                                                                       settings: Settings) -> None:
    set_up(container, 10_0000)
    other = build(settings)
    try:
        # A slow read in the other process loads the account, then another process writes,
        # the other process reads the log, and only then does the slow read put its copy in the cache.
        old = other.ledger.repository.get(account_id(ACCOUNT))
        other.ledger.repository.cache.get(old.id, evict=True)
        container.ledger.adjust(ACCOUNT, 1_0000, "test", "x")
        other.ledger.fresh()
        other.ledger.repository.cache.put(old.id, old)
        assert other.ledger.account(ACCOUNT).balance == 11_0000
    finally:
        other.close()
