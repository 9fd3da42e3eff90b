"""Staying up: lost connections, a store that is gone, heavy or huge requests, a failing view.

Each test is named after the guarantee it pins; store-dependent ones run on
SQLite and on a PostgreSQL database of their own (so that its connections
can be cut without touching anyone else's).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from ringledger.container import Container, build
from ringledger.server import create_app
from tests.charging_support import LOCAL, PHONE, set_up, trial_balance
from tests.fault_support import Store, store  # noqa: F401  (fixture)
from tests.integration.portal_support import open_portal

TOKEN = "resil-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _with_token(c: Container) -> Container:
    c.settings.switch_tokens = "resil=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    c.settings.max_call_seconds = 60
    return c


@pytest.fixture
def own(store: Store) -> Iterator[Container]:  # noqa: F811
    c = _with_token(build(store.settings))
    yield c
    c.close()


def _authorize(client: Any, call_id: str) -> Any:
    return client.post("/v1/calls/authorize", headers=HEADERS,
                       json={"call_id": call_id, "caller": PHONE, "callee": LOCAL, "service": "direct"})


def _until(check: Any, seconds: float = 15.0) -> Any:
    """Poll `check` until it returns something true (or fail after `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


# --- 8.4: every connection survives a server-side termination ----------------------------


def test_views_and_portal_mutations_recover_after_the_connections_are_terminated(
        store: Store, own: Container) -> None:  # noqa: F811
    portal = open_portal(own)
    with portal.client:
        store.lose_connections(own)
        # A committed mutation is answered as committed, not "internal error".
        answer = portal.gql("operator", 'mutation { openAccount(input: {kind: "subscriber", number: "70001"})'
                                        " { number balance } }")
        assert "errors" not in answer, answer
        assert answer["data"]["openAccount"]["number"] == "70001"
        store.lose_connections(own)
        deposit = portal.gql("operator", 'mutation { deposit(number: "70001", amount: "5.0000") { balance } }')
        assert deposit["data"]["deposit"]["balance"] == "5.0000", deposit
        # /health is green again and the views are level with the log.
        health = _until(lambda: (r := portal.client.get("/health")).status_code == 200 and r.json())
        assert health["views_lag"] == 0 and health["views_last_error"] is None
    assert trial_balance(own) == 0


# --- 8.5: with the store gone, a fast and clear 503 ----------------------------------------


def test_hooks_answer_503_promptly_while_the_store_is_gone_and_charge_again_after(
        store: Store, own: Container) -> None:  # noqa: F811
    set_up(own)
    with TestClient(create_app(own)) as client:
        assert _authorize(client, "before").json()["authorized"]
        with store.outage():
            started = time.monotonic()
            refused = _authorize(client, "during")
            waited = time.monotonic() - started
            if store.kind == "postgres":  # (SQLite still reads while its writers are locked out)
                assert client.get("/health").json()["status"] == "unavailable"
        assert refused.status_code == 503 and refused.json()["error"] == "unavailable"
        assert waited < 6, f"the switch waited {waited:.1f} s for its refusal"
        # The switch retries the same call until the store is back (a probe finds it within
        # half a second): one hold, charged once.
        again = _until(lambda: (r := _authorize(client, "during")).status_code == 200 and r, 10)
        assert again.json()["authorized"]
        for call in ("before", "during"):
            assert client.post(f"/v1/calls/{call}/end", headers=HEADERS, json={"billsec": 30}).status_code == 200
        _until(lambda: client.get("/health").status_code == 200)
    rows = own.views.query("SELECT call_id, status FROM cdrs ORDER BY call_id")
    assert [r[0] for r in rows] == ["before", "during"]
    assert own.ledger.account("8000000001").held == 0
    assert trial_balance(own) == 0


# --- 8.7: the projector never holds the view lock while it reads --------------------------


def test_the_projector_reads_the_log_before_it_takes_the_view_lock(store: Store, own: Container) -> None:  # noqa: F811
    set_up(own)
    recorder = own.ledger.recorder
    read = recorder.select_notifications
    checked: list[bool] = []

    def reading(*args: Any, **kwargs: Any) -> Any:
        # While the projector reads, another writer can take the lock on the tracking row at once.
        conn = own.views.connect()
        try:
            if own.views.is_postgres:
                conn.execute("BEGIN")
                conn.execute("SELECT position FROM view_tracking WHERE name = 'views' FOR UPDATE NOWAIT")
            else:
                conn.execute("PRAGMA busy_timeout = 0")
                conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            checked.append(True)
        finally:
            conn.close()
        return read(*args, **kwargs)

    recorder.select_notifications = reading  # type: ignore[method-assign]
    try:
        own.projector._local.clear()  # make it read the log
        own.projector.drop()
        own.projector.create()
        assert own.catch_up() > 0
    finally:
        recorder.select_notifications = read  # type: ignore[method-assign]
    assert checked


# --- a view that fails stops alone, says so, and resumes ------------------------------------


def test_a_failing_view_stops_alone_reports_it_and_resumes_by_itself(own: Container) -> None:
    set_up(own)
    projection = own.projector.projections[0]
    apply_page = projection.apply_page
    broken = threading.Event()
    broken.set()

    def failing(*args: Any, **kwargs: Any) -> Any:
        if broken.is_set():
            raise RuntimeError("disk full")
        return apply_page(*args, **kwargs)

    projection.apply_page = failing  # type: ignore[method-assign]
    with TestClient(create_app(own)) as client:
        # The hooks keep charging while the views are stopped.
        assert _authorize(client, "while-broken").json()["authorized"]
        health = _until(lambda: (r := client.get("/health")).status_code == 503 and r.json())
        assert health["status"] == "degraded" and "disk full" in health["views_last_error"]
        assert health["views_lag"] > 0
        metrics = client.get("/metrics").text
        assert "ringledger_views_failing 1.0" in metrics
        broken.clear()  # the cause is gone
        health = _until(lambda: (r := client.get("/health")).status_code == 200 and r.json())
        assert health["views_lag"] == 0 and health["views_last_error"] is None
    assert own.views.query("SELECT status FROM cdrs WHERE call_id = 'while-broken'") == [("authorized",)]


# --- 8.3: bodies are limited and authenticated before they are read -------------------------


def test_an_unauthenticated_hook_body_is_never_read(container: Container) -> None:
    import asyncio

    app = create_app(_with_token(container))
    reads: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/calls/authorize", "headers": [
        (b"authorization", b"Bearer wrong"), (b"content-type", b"application/json")],
        "query_string": b"", "http_version": "1.1", "scheme": "http", "root_path": "",
        "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 401 and not reads


def test_a_body_over_the_limit_is_refused_with_413_and_changes_nothing(container: Container) -> None:
    set_up(_with_token(container))
    with TestClient(create_app(container)) as client:
        big = {"call_id": "big", "caller": PHONE, "callee": LOCAL, "service": "direct", "pad": "x" * 40_000}
        hook = client.post("/v1/calls/authorize", headers=HEADERS, json=big)
        assert hook.status_code == 413 and hook.json()["error"] == "body_too_large"
        query = "{ " + " ".join(f"a{i}: __typename" for i in range(30_000)) + " }"
        graphql = client.post("/graphql", headers=HEADERS, json={"query": query})
        assert graphql.status_code == 413 and graphql.json()["error"] == "body_too_large"
    container.catch_up()
    assert container.views.query("SELECT COUNT(*) FROM cdrs") == [(0,)]


@pytest.fixture
def served(container: Container) -> Iterator[str]:
    _with_token(container)
    config = uvicorn.Config(create_app(container), host="127.0.0.1", port=0, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    _until(lambda: srv.started, 20)
    yield f"http://127.0.0.1:{srv.servers[0].sockets[0].getsockname()[1]}"
    srv.should_exit = True
    thread.join(timeout=20)


def test_a_graphql_query_in_progress_does_not_hold_up_the_hooks(
        container: Container, served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import ringledger.portal.offloop as offloop

    portal = open_portal(container)
    set_up(container)
    release = threading.Event()
    running = threading.Event()
    real = offloop.graphql_sync

    def heavy(*args: Any, **kwargs: Any) -> Any:  # a query that parses and validates for as long as it likes
        running.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(offloop, "graphql_sync", heavy)
    answers: list[Any] = []
    query = threading.Thread(target=lambda: answers.append(httpx.post(
        f"{served}/graphql", json={"query": "{ __typename }"}, timeout=60,
        headers={"Authorization": f"Bearer {portal.tokens['operator']}"})))
    query.start()
    try:
        assert running.wait(20)
        # The query is still running, and a switch is answered all the same.
        hook = httpx.post(f"{served}/v1/calls/authorize", headers=HEADERS, timeout=10, json={
            "call_id": "during-query", "caller": PHONE, "callee": LOCAL, "service": "direct"})
        assert hook.status_code == 200 and hook.json()["authorized"]
        assert not answers
    finally:
        release.set()
        query.join(30)
    assert answers[0].json() == {"data": {"__typename": "Query"}}


# --- 8.9: /metrics and /docs can be closed ----------------------------------------------------


def test_metrics_and_docs_can_be_closed_to_strangers(container: Container) -> None:
    _with_token(container)
    container.settings.public_metrics = False
    container.settings.public_docs = False
    with TestClient(create_app(container)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=HEADERS).status_code == 200
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404


def test_a_query_with_too_many_tokens_is_refused_as_an_invalid_query(container: Container) -> None:
    portal = open_portal(container)
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(8_000)) + " }"  # 24,000 tokens, 140 KB
    answer = portal.gql("bar_a", query)
    assert "errors" in answer, {k: v for k, v in answer.items() if k != "data"}
    assert answer["errors"][0]["extensions"]["code"] == "invalid_query"
    assert "tokens" in answer["errors"][0]["message"]
    small = portal.gql("bar_a", "{ " + " ".join(f"a{i}: __typename" for i in range(3_000)) + " }")
    assert "errors" not in small and len(small["data"]) == 3_000


def test_a_committed_redemption_is_answered_as_committed_while_a_view_is_broken(own: Container) -> None:
    portal = open_portal(own)
    set_up(own, 0)
    (_, number, pin), = own.ledger.issue_batch("voucher", 1, 50_0000, "test", name="V1")
    own.ledger.sell_cards([number], "voucher", 50_0000, "test")
    own.catch_up()
    projection = own.projector.projections[0]
    projection.apply_page = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full"))  # type: ignore[method-assign]
    with portal.client:
        answer = portal.gql("operator", f'mutation {{ redeemVoucher(number: "{number}", pin: "{pin}", '
                                        f'phone: "{PHONE}") {{ amount balance }} }}')
    assert "errors" not in answer, answer
    assert answer["data"]["redeemVoucher"] == {"amount": "50.0000", "balance": "50.0000"}
    assert own.ledger.account("8000000001").balance == 50_0000


def test_the_scheduler_leader_notices_its_lost_lock_and_takes_it_again(store: Store, own: Container) -> None:  # noqa: F811
    from ringledger.leader import Leader

    leader = Leader(own.views)
    try:
        assert leader.try_lead()
        store.lose_connections(own)  # on PostgreSQL the advisory lock went with the connection
        assert leader.try_lead()  # asks again on a new connection instead of trusting its old answer
        if own.views.is_postgres:
            held = own.views.query("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                                   "database = (SELECT oid FROM pg_database WHERE datname = current_database())")
            assert held == [(1,)]
    finally:
        leader.resign()
