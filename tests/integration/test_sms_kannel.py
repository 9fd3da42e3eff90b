"""Real Kannel (bearerbox + smsbox, a generic HTTP SMSC) in front of a real `ringledger serve`, on each store.

A subscriber's text goes in at the operator's SMSC, Kannel fetches our
get-url, the BD command binds the card, and the confirmation leaves through
sendsms to the SMSC; Kannel's delivery report comes back to our dlr-url and
is recorded on the text. Bad input to both inlets is a 4xx and changes nothing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from projections.sms_outbox import outbox
from ringledger.container import Container
from tests.charging_support import set_up
from tests.server_process import TOKEN, free_port, server
from tests.sms_support import OperatorSmsc, kannel, kannel_config, require_kannel

SUBSCRIBER = "+8613900139000"
ACCESS = "10690000"


def card(container: Container) -> tuple[str, str]:
    set_up(container, 0, number="8000000009", phone=None)  # publishes the demo tariff
    ((_, number, pin),) = container.ledger.issue_batch("callback", 1, 20_0000, "test", name="KC", plan="demo")
    container.ledger.sell_cards([number], "callback", 20_0000, "test")
    return number, pin


@pytest.fixture
def gateway(container: Container, tmp_path: Path) -> Iterator[dict[str, Any]]:
    require_kannel()
    smsc = OperatorSmsc()
    ports = {k: free_port() for k in ("ours", "admin", "smsbox", "sendsms", "mo")}
    ours = f"http://127.0.0.1:{ports['ours']}"
    env = {"RINGLEDGER_SMS": "kannel", "RINGLEDGER_SMS_NUMBER": ACCESS,
           "RINGLEDGER_KANNEL_SENDSMS_URL": f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms",
           "RINGLEDGER_KANNEL_USERNAME": "ledger", "RINGLEDGER_KANNEL_PASSWORD": "sendpw",
           "RINGLEDGER_KANNEL_SMSC": "op", "RINGLEDGER_KANNEL_DLR_URL": f"{ours}/v1/sms/dlr?token={TOKEN}"}
    config = kannel_config(admin=ports["admin"], smsbox=ports["smsbox"], sendsms=ports["sendsms"], mo=ports["mo"],
                           smsc=smsc.port, user="ledger", password="sendpw", logs=tmp_path,
                           get_url=f"{ours}/v1/sms/kannel/inbound?from=%p&to=%P&text=%a&token={TOKEN}")
    try:
        # Our endpoint first (Kannel does not fetch a missed get-url again), then bearerbox, then smsbox.
        with server(container.settings, port=ports["ours"], **env) as client:
            with kannel(config, tmp_path, ports["admin"], ports["sendsms"]):
                yield {"client": client, "smsc": smsc, "mo": ports["mo"], "logs": tmp_path}
    finally:
        smsc.close()


def phone_sends(mo_port: int, text: str) -> None:
    """A handset's text arriving at the operator's SMSC, which passes it to Kannel."""
    answer = httpx.get(f"http://127.0.0.1:{mo_port}/", params={"from": SUBSCRIBER, "to": ACCESS, "text": text},
                       timeout=10)
    assert answer.status_code < 300, answer.text


def texts(container: Container, until: Any, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        container.catch_up()
        rows = outbox(container.views, SUBSCRIBER)
        if until(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_a_card_is_bound_by_a_text_through_kannel_and_the_confirmation_s_delivery_report_is_recorded(
        container: Container, gateway: dict[str, Any]) -> None:
    number, pin = card(container)
    smsc: OperatorSmsc = gateway["smsc"]

    phone_sends(gateway["mo"], f"BD {number} {pin}")
    (sent,) = smsc.wait_for(1)
    assert sent["to"].lstrip("+") == SUBSCRIBER.lstrip("+")
    assert sent["text"] == f"绑定成功：卡{number}已绑定本机号码{SUBSCRIBER}，余额20.0000元。"
    assert pin not in sent["text"]

    # The bound number now asks its balance in English: the command ran on the binding just made.
    phone_sends(gateway["mo"], "BAL")
    assert smsc.wait_for(2)[1]["text"] == f"Account {number}: balance 20.0000."

    # A command word in Chinese comes through Kannel as the handset wrote it.
    phone_sends(gateway["mo"], "余额")
    assert smsc.wait_for(3)[2]["text"] == f"您的账户{number}余额为20.0000元。"

    # Each reply is an event from queued to sent, and Kannel's report (accepted by the SMSC) came back to us.
    rows = texts(container, lambda rows: len(rows) == 3 and all(r["report"] for r in rows))
    assert [(r["state"], r["attempts"], r["gateway"], r["report"]) for r in rows] == \
        [("sent", 1, "kannel", "accepted_by_smsc")] * 3

    # The operator sees the gateway up and the texts by state in /metrics.
    metrics = gateway["client"].get("/metrics").text
    assert "ringledger_sms_gateway_up 1.0" in metrics
    assert 'ringledger_sms_texts{state="sent"} 3.0' in metrics


def test_bad_reports_and_texts_from_kannel_are_refused_and_change_nothing(
        container: Container, gateway: dict[str, Any]) -> None:
    client: httpx.Client = gateway["client"]
    before = container.ledger.recorder.max_notification_id() or 0
    good_ref = "sms-" + "0" * 32
    refused = [
        ("/v1/sms/dlr", {"ref": good_ref, "status": "1"}, 404, "unknown_sms"),  # not a text of ours
        ("/v1/sms/dlr", {"ref": "../etc", "status": "1"}, 422, "invalid_request"),
        ("/v1/sms/dlr", {"ref": good_ref, "status": "3"}, 422, "invalid_request"),
        ("/v1/sms/dlr", {"ref": good_ref, "status": "x"}, 422, "invalid_request"),
        ("/v1/sms/dlr", {"status": "1"}, 422, "invalid_request"),
        ("/v1/sms/kannel/inbound", {"to": ACCESS, "text": "CX"}, 422, "invalid_request"),
        ("/v1/sms/kannel/inbound", {"from": "abc", "text": "CX"}, 422, "invalid_request"),
        ("/v1/sms/kannel/inbound", {"from": SUBSCRIBER, "text": "CX\x07"}, 422, "invalid_request"),
        ("/v1/sms/kannel/inbound", {"from": SUBSCRIBER, "text": "x" * 1601}, 422, "invalid_request"),
    ]
    for path, params, status, code in refused:
        answer = client.get(path, params=params)
        assert (answer.status_code, answer.json()["error"]) == (status, code), (path, params, answer.text)
        assert answer.json()["message"]
    for headers, params in (({"Authorization": ""}, {}), ({"Authorization": ""}, {"token": "wrong"})):
        answer = client.get("/v1/sms/dlr", params={"ref": good_ref, "status": "1", **params}, headers=headers)
        assert (answer.status_code, answer.json()["error"]) == (401, "unauthorized")
    assert (container.ledger.recorder.max_notification_id() or 0) == before
    assert gateway["smsc"].sent == []


def test_a_text_sent_while_kannel_is_down_goes_out_once_when_it_is_back(container: Container, tmp_path: Path) -> None:
    from adapters.sms.kannel import KannelGateway
    from ringledger.scheduler import sms_retry_job
    from services.fakes import FixedClock
    from services.sms_outbox import SmsOutbox

    require_kannel()
    ports = {k: free_port() for k in ("admin", "smsbox", "sendsms", "mo", "nobody")}
    nowhere = f"http://127.0.0.1:{ports['nobody']}"
    clock = FixedClock(datetime(2027, 1, 1, 2, 0, tzinfo=UTC))
    adapter = KannelGateway(f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms", "ledger", "sendpw",
                            sender=ACCESS, dlr_url=f"{nowhere}/v1/sms/dlr", smsc="op", timeout=2)
    container.sms_outbox = SmsOutbox(container.ledger, adapter, clock, ACCESS)
    message = container.sms_outbox.send(SUBSCRIBER, "您好，用户13800138000于1月1日10时呼叫您1次，请回电！")
    assert container.sms_outbox.state(message)["state"] == "failed"
    assert adapter.health()["up"] is False

    smsc = OperatorSmsc()
    config = kannel_config(admin=ports["admin"], smsbox=ports["smsbox"], sendsms=ports["sendsms"], mo=ports["mo"],
                           smsc=smsc.port, user="ledger", password="sendpw", logs=tmp_path,
                           get_url=f"{nowhere}/v1/sms/kannel/inbound?from=%p&text=%a")
    try:
        with kannel(config, tmp_path, ports["admin"], ports["sendsms"]):
            container.catch_up()
            assert sms_retry_job(container) == []  # its backoff (30 s) is not over
            clock.advance(30)
            container.catch_up()
            (done,) = sms_retry_job(container)
            assert (done["state"], done["attempts"]) == ("sent", 2)
            (sent,) = smsc.wait_for(1)
            assert sent["text"] == "您好，用户13800138000于1月1日10时呼叫您1次，请回电！"
            clock.advance(3600)
            container.catch_up()
            assert sms_retry_job(container) == []
            time.sleep(0.5)
            assert len(smsc.sent) == 1 and adapter.health()["up"] is True
    finally:
        smsc.close()


def test_a_missed_call_notice_goes_out_through_kannel_and_its_delivery_report_comes_back(
        container: Container, gateway: dict[str, Any]) -> None:
    """The subscriber takes 来话提示 by a text through Kannel; a call missed while the phone was off is
    told by SMS through Kannel once the phone is back, and Kannel's report of that notice is recorded."""
    set_up(container, 10_0000, number="8000000011", phone=SUBSCRIBER)
    smsc: OperatorSmsc = gateway["smsc"]
    client = gateway["client"]

    phone_sends(gateway["mo"], "KTLD")
    (subscribed,) = smsc.wait_for(1)
    assert subscribed["text"].startswith("来话提示已开通，月费2.0000元"), subscribed["text"]

    missed = client.post("/v1/missed-calls", json={"call_id": "kn-1", "caller": "13800138000",
                                                   "callee": SUBSCRIBER, "cause": "off"})
    assert missed.status_code == 200 and missed.json()["recorded"] is True, missed.text
    time.sleep(0.5)
    assert len(smsc.sent) == 1  # nothing goes out while the phone is off

    back = client.post("/v1/missed-calls/reachable", json={"event_id": "kn-reg-1", "callee": SUBSCRIBER})
    assert back.status_code == 200 and [n["count"] for n in back.json()["notices"]] == [1], back.text
    notice = smsc.wait_for(2)[1]
    assert notice["to"].lstrip("+") == SUBSCRIBER.lstrip("+")
    assert notice["text"] == "您好，用户13800138000于5月6日10时呼叫您1次，请回电！"  # the test clock: 10:00 on 6 May

    rows = texts(container, lambda rows: len(rows) == 2 and all(r["report"] for r in rows))
    assert [(r["state"], r["gateway"], r["report"]) for r in rows] == [("sent", "kannel", "accepted_by_smsc")] * 2
    # A repeated report of the phone's return sends nothing again.
    again = client.post("/v1/missed-calls/reachable", json={"event_id": "kn-reg-1", "callee": SUBSCRIBER})
    assert again.status_code == 200
    time.sleep(1)
    assert len(smsc.sent) == 2
