"""The SMPP gateway (smpplib, one transceiver bind) against a real SMPP server process (smppy), on each store.

A handset's text arrives as deliver_sm and runs the BD command; the reply
goes out as submit_sm asking for a receipt, and the receipt comes back as
a deliver_sm that is recorded on the text. An idle link is probed with
enquire_link; a bind the SMSC drops is bound again, and a text sent
meanwhile goes out once, after the rebind.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.sms.smpp import SmppGateway
from projections.sms_outbox import outbox
from ringledger.charging import build_charging
from ringledger.container import Container
from services.callback import CallbackCards
from services.sms_commands import SmsCommands
from services.sms_outbox import SmsOutbox
from services.clock import clock_for
from tests.charging_support import set_up
from tests.support import TEST_CLOCK_START
from tests.sms_support import Smsc, require_smppy

SUBSCRIBER = "+8613900139000"
ACCESS = "10690000"


@pytest.fixture
def smpp(container: Container) -> Iterator[tuple[Smsc, SmppGateway, SmsOutbox]]:
    require_smppy()
    smsc = Smsc()
    gateway = SmppGateway("127.0.0.1", smsc.port, "ledger", "secret", sender=ACCESS, enquire_seconds=0.5,
                          send_timeout=5)
    sms = SmsOutbox(container.ledger, gateway, clock_for(TEST_CLOCK_START), ACCESS)  # a ticking, pinned clock
    charging = build_charging(container.settings, container.ledger, call_control=container.ports.call_control)
    commands = SmsCommands(sms, CallbackCards(charging))
    sms.subscribe(commands.handle)
    gateway.start()
    try:
        yield smsc, gateway, sms
    finally:
        gateway.stop()
        smsc.close()


def until_up(gateway: SmppGateway, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not gateway.health()["up"]:
        assert time.monotonic() < deadline, f"not bound: {gateway.health()}"
        time.sleep(0.05)


def card(container: Container) -> tuple[str, str]:
    set_up(container, 0, number="8000000009", phone=None)  # publishes the demo tariff
    ((_, number, pin),) = container.ledger.issue_batch("callback", 1, 20_0000, "test", name="SC", plan="demo")
    container.ledger.sell_cards([number], "callback", 20_0000, "test")
    return number, pin


def row(container: Container, message: str | None, until: str, timeout: float = 10) -> dict[str, Any]:
    """The outbox row of `message` (None: the only text) once it is in state `until` (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        container.catch_up()
        rows = [r for r in outbox(container.views, SUBSCRIBER) if message in (None, r["message"])]
        if (len(rows) == 1 and rows[0]["state"] == until) or time.monotonic() > deadline:
            (found,) = rows
            return found
        time.sleep(0.05)


def test_a_text_in_over_smpp_binds_a_card_and_the_reply_s_receipt_is_recorded(
        container: Container, smpp: tuple[Smsc, SmppGateway, SmsOutbox]) -> None:
    smsc, gateway, sms = smpp
    number, pin = card(container)
    assert smsc.wait("bound")["system_id"] == "ledger"

    smsc.say(f"mo {SUBSCRIBER} {ACCESS} BD {number} {pin}")
    submit = smsc.wait("submit")
    assert (submit["source"], submit["dest"]) == (ACCESS, SUBSCRIBER.lstrip("+"))
    assert submit["text"] == f"绑定成功：卡{number}已绑定本机号码{SUBSCRIBER}，余额20.0000元。"
    # The handset's text is answered ESME_ROK once handled; then the receipt is, once recorded.
    assert smsc.wait("deliver_sm_resp")["status"].endswith("ESME_ROK")
    assert smsc.wait("deliver_sm_resp")["status"].endswith("ESME_ROK")

    found = row(container, None, "delivered")
    assert (found["state"], found["gateway"], found["gateway_id"], found["attempts"]) == \
        ("delivered", "smpp", submit["id"], 1)

    # An idle link is probed with enquire_link (every 0.5 s of silence here).
    smsc.wait("enquire_link", timeout=5)
    assert gateway.health()["up"] is True


def test_a_dropped_bind_is_bound_again_and_a_text_sent_meanwhile_goes_out_once(
        container: Container, smpp: tuple[Smsc, SmppGateway, SmsOutbox]) -> None:
    smsc, gateway, sms = smpp
    smsc.wait("bound")
    smsc.say("drop")
    smsc.wait("dropped")
    message = sms.send(SUBSCRIBER, "sent while the bind was down")  # waits for the rebind
    assert smsc.wait("bound")  # the second bind
    submit = smsc.wait("submit")
    assert submit["text"] == "sent while the bind was down"
    found = row(container, message, "delivered")
    assert (found["state"], found["attempts"]) == ("delivered", 1)
    assert gateway.binds == 2
    time.sleep(0.5)
    while not smsc.events.empty():
        smsc.seen.append(smsc.events.get())
    assert [e for e in smsc.seen if e["event"] == "submit"] == [submit]  # handed over once


def test_ringledger_serve_binds_to_the_smsc_set_in_its_settings_and_shows_the_bind_in_metrics(
        container: Container) -> None:
    from tests.server_process import server

    require_smppy()
    smsc = Smsc()
    env = {"RINGLEDGER_SMS": "smpp", "RINGLEDGER_SMS_NUMBER": ACCESS, "RINGLEDGER_SMPP_HOST": "127.0.0.1",
           "RINGLEDGER_SMPP_PORT": str(smsc.port), "RINGLEDGER_SMPP_SYSTEM_ID": "ledger",
           "RINGLEDGER_SMPP_PASSWORD": "secret", "RINGLEDGER_SMPP_ENQUIRE_SECONDS": "1"}
    try:
        with server(container.settings, **env) as client:
            smsc.wait("bound")
            # A number with no card asks its balance: the server's command language answers through the bind.
            smsc.say(f"mo {SUBSCRIBER} {ACCESS} CX")
            assert smsc.wait("submit")["text"].startswith("本机号码未绑定卡")
            assert "ringledger_sms_gateway_up 1.0" in client.get("/metrics").text
            smsc.close()  # the SMSC goes away: the gauge says so
            deadline = time.monotonic() + 10
            while "ringledger_sms_gateway_up 0.0" not in client.get("/metrics").text:
                assert time.monotonic() < deadline, "the gauge still shows the bind up"
                time.sleep(0.1)
    finally:
        smsc.close()


def test_a_long_text_goes_out_in_parts_under_one_message_and_is_delivered_once(
        container: Container, smpp: tuple[Smsc, SmppGateway, SmsOutbox]) -> None:
    smsc, gateway, sms = smpp
    smsc.wait("bound")
    body = "您好，用户13800138000于1月1日10时呼叫您3次，请回电！" * 4  # 128 characters: 256 bytes in UCS-2
    message = sms.send(SUBSCRIBER, body)
    parts = [smsc.wait("submit"), smsc.wait("submit"), smsc.wait("submit")]
    assert len({p["id"] for p in parts}) == 3
    found = row(container, message, "delivered")
    assert (found["state"], found["attempts"], found["gateway_id"]) == ("delivered", 1, parts[0]["id"])


def test_an_smsc_that_stops_answering_enquire_link_is_dropped_and_bound_again_when_it_answers(
        container: Container, smpp: tuple[Smsc, SmppGateway, SmsOutbox]) -> None:
    import os
    import signal

    smsc, gateway, sms = smpp
    smsc.wait("bound")
    until_up(gateway)
    os.kill(smsc.proc.pid, signal.SIGSTOP)  # the connection stays open, nothing answers
    try:
        deadline = time.monotonic() + 10
        while gateway.health()["up"]:
            assert time.monotonic() < deadline, "the silent link is still taken for bound"
            time.sleep(0.05)
        assert "enquire_link" in str(gateway.health()["last_error"])
    finally:
        os.kill(smsc.proc.pid, signal.SIGCONT)
    smsc.wait("bound")
    until_up(gateway)
    message = sms.send(SUBSCRIBER, "after the silence")
    assert row(container, message, "delivered")["state"] == "delivered"
