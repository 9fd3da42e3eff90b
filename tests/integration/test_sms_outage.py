"""What Kannel is told while the ledger's store is down: 503 and nothing sent; texts work again after.

The store is the test's own (a PostgreSQL database it may cut off, or a
SQLite file it locks); sendsms is a recorded stand-in for smsbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from ringledger.container import build
from ringledger.server import create_app
from tests.charging_support import set_up
from tests.fault_support import Store, store  # noqa: F401  (the fixture)

TOKEN = "kannel-token"
SUBSCRIBER = "+8613900139000"


@pytest.fixture
def app(store: Store) -> Iterator[tuple[TestClient, list[dict[str, str]]]]:  # noqa: F811
    settings = store.settings.model_copy(update={
        "sms": "kannel", "kannel_dlr_url": "http://ledger.test/v1/sms/dlr?token=" + TOKEN,
        "switch_tokens": "kannel=" + hashlib.sha256(TOKEN.encode()).hexdigest()})
    container = build(settings)
    sent: list[dict[str, str]] = []

    def sendsms(request: httpx.Request) -> httpx.Response:
        sent.append(dict(request.url.params))
        return httpx.Response(202, text="0: Accepted for delivery")

    container.sms_outbox.gateway._client = httpx.Client(transport=httpx.MockTransport(sendsms))
    set_up(container, 10_0000, number="8000000001", phone=SUBSCRIBER)
    try:
        with TestClient(create_app(container)) as client:
            yield client, sent
    finally:
        container.close()


def test_a_text_arriving_while_the_store_is_down_is_refused_503_and_nothing_is_sent(
        store: Store, app: tuple[TestClient, list[dict[str, str]]]) -> None:  # noqa: F811
    client, sent = app
    query = {"from": SUBSCRIBER, "to": "10690000", "text": "CX", "token": TOKEN}
    assert client.get("/v1/sms/kannel/inbound", params=query).status_code == 200
    assert [s["text"] for s in sent] == ["您的账户8000000001余额为10.0000元。"]

    with store.outage():
        answer = client.get("/v1/sms/kannel/inbound", params=query)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "unavailable" and answer.json()["message"]
    assert len(sent) == 1  # no reply went out for a text the ledger could not record

    assert client.get("/v1/sms/kannel/inbound", params=query).status_code == 200
    assert len(sent) == 2
