"""What Kannel is told while the ledger's store is down: 503 and nothing sent; texts work again after.

The store is the test's own (a PostgreSQL database it may cut off, or a
SQLite file it locks); sendsms is a recorded stand-in for smsbox.
"""

from __future__ import annotations

import hashlib
import time
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


def test_a_text_over_smpp_while_the_store_is_down_is_answered_with_a_temporary_error(
        store: Store) -> None:  # noqa: F811
    """The SMSC is told ESME_RX_T_APPN, so it delivers the text again; nothing was sent in reply."""
    from adapters.sms.smpp import SmppGateway
    from ringledger.charging import build_charging
    from services.callback import CallbackCards
    from services.sms_commands import SmsCommands
    from services.sms_outbox import SmsOutbox
    from tests.sms_support import Smsc, require_smppy

    require_smppy()
    container = build(store.settings)
    smsc = Smsc()
    gateway = SmppGateway("127.0.0.1", smsc.port, "ledger", "secret", sender="10690000", send_timeout=5)
    try:
        set_up(container, 10_0000, number="8000000001", phone=SUBSCRIBER)
        charging = build_charging(container.settings, container.ledger)
        sms = SmsOutbox(container.ledger, gateway, charging.clock, "10690000")
        sms.subscribe(SmsCommands(sms, CallbackCards(charging)).handle)
        gateway.start()
        smsc.wait("bound")
        with store.outage():
            smsc.say(f"mo {SUBSCRIBER} 10690000 CX")
            status = smsc.wait("deliver_sm_resp", timeout=60)["status"]  # SQLite: the views wait 30 s for a lock
            assert status.endswith("ESME_RX_T_APPN"), status
        assert not [e for e in smsc.seen if e["event"] == "submit"]
        # The store is back: the SMSC delivers the text again (as it does after a temporary error, a few
        # times if the first finds a connection the outage cut) and it is answered, once.
        for _ in range(3):
            smsc.say(f"mo {SUBSCRIBER} 10690000 CX")
            if smsc.wait("deliver_sm_resp")["status"] == "ESME_ROK":
                break
            time.sleep(1)
        (reply,) = [e for e in smsc.seen if e["event"] == "submit"]  # the reply goes out before the resp
        assert reply["text"] == "您的账户8000000001余额为10.0000元。"
    finally:
        gateway.stop()
        smsc.close()
        container.close()
