"""DESIGN rule 1 over HTTP: racing authorize/end pairs on one account never overdraw it.

A real uvicorn server on a random loopback port, 100 client threads released
at once, each doing authorize then end for its own call on the same account.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn

from ringledger.container import Container
from ringledger.server import create_app
from tests.charging_support import ACCOUNT, HOURS, LOCAL, PHONE, Hour, set_up, trial_balance

TOKEN = "race-token"
CALLS = 100


@pytest.fixture(params=HOURS, ids=lambda h: h.name)
def hour(request: pytest.FixtureRequest) -> Hour:
    return request.param


@pytest.fixture
def server(container: Container, hour: Hour) -> Iterator[str]:
    container.settings.switch_tokens = "race=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    container.settings.max_call_seconds = 60  # every hold is one minute: 0.10 at peak, 0.06 off-peak
    container.settings.clock_start = hour.clock_start
    config = uvicorn.Config(create_app(container), host="127.0.0.1", port=0, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=20)


def test_a_hundred_racing_calls_never_overdraw_one_account(container: Container, server: str, hour: Hour) -> None:
    set_up(container, 2_0000)  # 2.00: twenty holds of 0.10 (peak) or 33 of 0.06 (off-peak) at most at once
    minute, most = {"0.1000": (1000, 20), "0.0600": (600, 33)}[hour.local]
    barrier = threading.Barrier(CALLS)
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def one_call(i: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
        with httpx.Client(base_url=server, headers=headers, timeout=30) as http:
            body = {"call_id": f"race-{i}", "caller": PHONE, "callee": LOCAL, "service": "phonebar",
                    "booth": f"b{i % 8}"}
            barrier.wait()
            answer = http.post("/v1/calls/authorize", json=body).json()
            if not answer["authorized"]:
                return answer, None
            return answer, http.post(f"/v1/calls/race-{i}/end", json={"billsec": 60}).json()

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        results = list(pool.map(one_call, range(CALLS)))

    authorized = [a for a, _ in results if a["authorized"]]
    refused = [a for a, _ in results if not a["authorized"]]
    assert authorized and all(a["reason"] == "insufficient_funds" for a in refused)
    assert all(a["rate"]["price_per_minute"] == hour.local for a in authorized)
    assert all(e is not None and e["charged"] == hour.local for a, e in results if a["authorized"])
    account = container.ledger.account(ACCOUNT)
    assert account.held == 0 and account.balance >= 0
    assert account.balance == 2_0000 - minute * len(authorized)
    assert len(authorized) <= most
    assert trial_balance(container) == 0
