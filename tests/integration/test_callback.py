"""The callback service (回拨) driven as the switch and the SMS gateway would, on each store.

Everything goes in over HTTP: hook calls from the switch, texts through the
fake gateway's inlet; calls are placed through the recording dialer. Time is
frozen at 14:00 Beijing on a Monday (peak in the demo tariff: mobile 0.20 a
minute, local 0.10, both billed in whole minutes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from freezegun import freeze_time

from ledger.house import revenue
from ringledger.audit.verify import verify
from ringledger.container import Container
from ringledger.server import create_app
from services.fakes import RecordingCallControl, RecordingDialer, RecordingSmsGateway
from services.ports import Origination, Ports
from tests.charging_support import allow_frozen_time, set_up, trial_balance

TOKEN = "switch-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SUBSCRIBER = "+8613900139000"
ACCESS = "95013"
DESTINATION = "01062345678"  # a Beijing fixed line: local
NOW = "2024-05-06T06:00:00+00:00"  # 14:00 Beijing, peak


@pytest.fixture
def switch(container: Container) -> Iterator[tuple[TestClient, RecordingDialer, RecordingSmsGateway]]:
    import pydantic.v1  # noqa: F401  FastAPI imports it lazily; its classes cannot be built on frozen dates

    dialer, sms = RecordingDialer(), RecordingSmsGateway("10690000")
    container.ports = Ports(dialer=dialer, call_control=RecordingCallControl(), sms=sms)
    container.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    with freeze_time(NOW, tick=False):
        allow_frozen_time(container)
        set_up(container, 0, number="8000000009", phone=None)  # publishes the demo tariff
        with TestClient(create_app(container)) as client:
            yield client, dialer, sms


def cards(container: Container, kind: str, count: int, face: int, batch: str) -> list[tuple[str, str]]:
    issued = container.ledger.issue_batch(kind, count, face, "test", name=batch,
                                          plan="demo" if kind == "callback" else None)
    container.ledger.sell_cards([n for _, n, _ in issued], kind, face, "test")
    return [(n, p) for _, n, p in issued]


def post(client: TestClient, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == status, response.text
    return response.json()


def text(client: TestClient, sender: str, body: str) -> str:
    """A text from `sender` to the access number through the gateway's inlet; the one reply it caused."""
    answer = post(client, "/v1/sms/inbound", {"from": sender, "to": "10690000", "text": body})
    (reply,) = answer["replies"]
    assert reply["to"] == SUBSCRIBER or reply["to"].startswith("+")
    return reply["text"]


def events(container: Container) -> int:
    return container.ledger.recorder.max_notification_id() or 0


def test_a_callback_card_is_bound_by_sms_called_back_bridged_billed_and_recharged(
        container: Container, switch: tuple[TestClient, RecordingDialer, RecordingSmsGateway]) -> None:
    client, dialer, sms = switch
    (card, pin), = cards(container, "callback", 1, 20_0000, "CB1")
    (v1, v1_pin), (v2, v2_pin) = cards(container, "voucher", 2, 50_0000, "V1")
    wrong = "000000" if pin != "000000" else "111111"

    # Binding by SMS: a wrong PIN is told and counted, the right one binds the sender's number.
    assert text(client, SUBSCRIBER, f"BD {card} {wrong}") == "密码错误，还可尝试4次。"
    assert text(client, SUBSCRIBER, f"bd {card} {pin}") == f"绑定成功：卡{card}已绑定本机号码{SUBSCRIBER}，余额20.0000元。"
    assert text(client, SUBSCRIBER, "BAL") == f"Account {card}: balance 20.0000."
    assert all(pin not in m.body for m in sms.sent)

    # The subscriber rings the access number: refused unanswered, called back through the dialer.
    placed = post(client, "/v1/callback/calls", {"call_id": "cb-1", "caller": "13900139000", "access_number": ACCESS})
    assert (placed["reject"], placed["callback"], placed["account"], placed["leg_a"]) == (True, True, card, "cb-1-a")
    assert dialer.originated == [Origination(call_id="cb-1-a", caller=SUBSCRIBER, callee=ACCESS, max_seconds=90)]
    # The switch retries: the same answer, and nobody is dialled twice.
    assert post(client, "/v1/callback/calls", {"call_id": "cb-1", "caller": "13900139000",
                                               "access_number": ACCESS}) == placed
    assert len(dialer.originated) == 1

    # The subscriber keys the destination: both legs are held together, a slice at a time. A bridged
    # time s costs leg A (mobile, 0.20) for 90 + s seconds and leg B (local, 0.10) for s seconds: 20.00
    # would pay 3,930 s, and from 3,511 s on less than 2.00 is left. The first grant is one 300 s slice
    # of leg A (90 s of setup and 210 s bridged) and one of leg B: 1.00 + 0.50 held.
    bridged = post(client, "/v1/callback/calls/cb-1/destination", {"destination": DESTINATION})
    assert bridged["bridged"] is True and (bridged["leg_a"], bridged["leg_b"]) == ("cb-1-a", "cb-1-b")
    assert (bridged["max_seconds"], bridged["leg_a_max_seconds"]) == (210, 300)
    assert (bridged["hold"], bridged["available"], bridged["price_per_minute"]) == ("1.5000", "18.5000", "0.3000")
    assert (bridged["warn_after_seconds"], bridged["low_balance"]) == (210, False)  # no warning in this grant
    assert post(client, "/v1/callback/calls/cb-1/destination", {"destination": DESTINATION}) == bridged

    # The legs run on the ordinary hooks, under their own call ids.
    for leg in ("cb-1-a", "cb-1-b"):
        assert post(client, f"/v1/calls/{leg}/answer", {})["status"] == "answered"
    assert post(client, "/v1/calls/cb-1-b/interim", {"used_seconds": 60})["continue"] is True
    assert post(client, "/v1/calls/cb-1-b/end", {"billsec": 125})["charged"] == "0.3000"  # 3 minutes local
    # Leg A ends at the billsec the callback end gives it: 155 s (30 s keying + 125 s talk), 3 minutes mobile.
    ended = post(client, "/v1/callback/calls/cb-1/end", {"leg_a_billsec": 155, "cause": "normal_clearing"})
    assert (ended["status"], ended["leg_a_charged"], ended["leg_b_charged"], ended["charged"]) == (
        "ended", "0.6000", "0.3000", "0.9000")
    assert ended["balance"] == "19.1000" and ended["low_balance"] is False
    assert post(client, "/v1/callback/calls/cb-1/end", {}) == ended  # a retry: the same answer
    # After the call the balance is there for the IVR to announce, and by SMS.
    announced = client.get(f"/v1/accounts/by-number/{SUBSCRIBER}/balance", headers=AUTH).json()
    assert announced["balance"] == "19.1000"
    assert text(client, SUBSCRIBER, "CX") == f"您的账户{card}余额为19.1000元。"

    # Recharge by phone (the IVR hook) and by SMS: the same voucher redemption as the CLI.
    recharged = post(client, "/v1/callback/recharge", {"call_id": "ivr-7", "caller": SUBSCRIBER, "voucher": v1,
                                                       "pin": v1_pin})
    assert (recharged["recharged"], recharged["account"], recharged["balance"]) == (True, card, "69.1000")
    assert post(client, "/v1/callback/recharge", {"call_id": "ivr-7", "caller": SUBSCRIBER, "voucher": v1,
                                                  "pin": v1_pin}) == recharged  # the IVR retried
    assert text(client, SUBSCRIBER, f"CZ {v2} {v2_pin}") == f"充值成功：50.0000元已充入账户{card}，余额119.1000元。"
    assert text(client, SUBSCRIBER, f"CZ {v2} {v2_pin}") == "该充值卡已使用。"

    # The money reconciles: card sales and vouchers in, both legs' revenue by call category out.
    assert trial_balance(container) == 0
    gl = dict(container.views.query("SELECT account, balance FROM gl_balances WHERE account LIKE ?",
                                           ("house:%",)))
    assert gl[revenue("callback", "mobile")] == 6000 and gl[revenue("callback", "local")] == 3000
    assert container.ledger.account(card).balance == 20_0000 - 9000 + 100_0000
    # An auditor's check passes: the views rebuilt from the log equal the live ones, the chain holds.
    assert verify(container).problems == []


def test_a_fixed_line_binds_through_the_ivr_and_a_wrong_pin_counts_toward_the_lockout(
        container: Container, switch: tuple[TestClient, RecordingDialer, RecordingSmsGateway]) -> None:
    client, _, _ = switch
    (card, pin), = cards(container, "callback", 1, 10_0000, "CB2")
    wrong = "000000" if pin != "000000" else "111111"
    fixed = "01087654321"
    for left in (4, 3):
        refused = post(client, "/v1/callback/bind", {"caller": fixed, "card": card, "pin": wrong})
        assert (refused["bound"], refused["reason"], refused["tries_left"]) == (False, "wrong_pin", left)
    bound = post(client, "/v1/callback/bind", {"caller": fixed, "card": card, "pin": pin})
    assert (bound["bound"], bound["phone"], bound["tries_left"]) == (True, "+861087654321", 5)
    # The fixed line now gets a callback.
    placed = post(client, "/v1/callback/calls", {"call_id": "fx-1", "caller": fixed, "access_number": ACCESS})
    assert placed["callback"] is True and placed["account"] == card
    # Another card cannot take the number.
    (other, other_pin), = cards(container, "callback", 1, 10_0000, "CB3")
    taken = post(client, "/v1/callback/bind", {"caller": fixed, "card": other, "pin": other_pin})
    assert (taken["bound"], taken["reason"]) == (False, "number_already_bound")
    # Five wrong PINs lock the card: the right one no longer binds.
    for _ in range(5):
        last = post(client, "/v1/callback/bind", {"caller": "01087654322", "card": other, "pin": wrong})
    assert last["reason"] == "pin_locked"
    assert post(client, "/v1/callback/bind", {"caller": "01087654322", "card": other,
                                              "pin": other_pin})["reason"] == "pin_locked"


def test_a_callback_is_refused_without_a_card_or_money_and_a_destination_refusal_changes_nothing(
        container: Container, switch: tuple[TestClient, RecordingDialer, RecordingSmsGateway]) -> None:
    client, dialer, _ = switch
    refused = post(client, "/v1/callback/calls", {"call_id": "nobody", "caller": "13700137000",
                                                  "access_number": ACCESS})
    assert (refused["reject"], refused["callback"], refused["reason"]) == (True, False, "unknown_account")
    (card, pin), = cards(container, "callback", 1, 1000, "CB4")  # 0.10: not even the 90 s call back (0.40)
    container.ledger.bind(card, SUBSCRIBER, "test")
    poor = post(client, "/v1/callback/calls", {"call_id": "poor", "caller": SUBSCRIBER, "access_number": ACCESS})
    assert (poor["callback"], poor["reason"]) == (False, "insufficient_funds")
    assert dialer.originated == []

    container.ledger.adjust(card, 7000, "test", "top up")  # 0.80: the call back and a little talk
    assert post(client, "/v1/callback/calls", {"call_id": "cb-2", "caller": SUBSCRIBER,
                                               "access_number": ACCESS})["callback"] is True
    before = events(container)
    # Hong Kong at 1.20 a minute, 30 s first: with leg A's 2 minutes that is 1.00 at least.
    dear = post(client, "/v1/callback/calls/cb-2/destination", {"destination": "+85221234567"})
    assert (dear["bridged"], dear["reason"]) == (False, "insufficient_funds")
    nowhere = post(client, "/v1/callback/calls/cb-2/destination", {"destination": "+99912345"})
    assert (nowhere["bridged"], nowhere["reason"]) == (False, "no_rate")
    assert events(container) == before and container.ledger.account(card).held == 0
    # The subscriber keys a local number instead: bridged for 90 s (leg A 3 minutes 0.60, leg B 2 minutes 0.20).
    local = post(client, "/v1/callback/calls/cb-2/destination", {"destination": DESTINATION})
    assert local["bridged"] is True and local["max_seconds"] == 90 and local["low_balance"] is True
    assert local["warn_after_seconds"] == 0  # under 2.00 from the start: warn at once
    # Hangup before leg B answered: leg A's 40 s are charged (one minute mobile), leg B nothing.
    ended = post(client, "/v1/callback/calls/cb-2/end", {"leg_a_billsec": 40, "leg_b_billsec": 0})
    assert (ended["leg_a_charged"], ended["leg_b_charged"], ended["balance"]) == ("0.2000", "0.0000", "0.6000")
    assert trial_balance(container) == 0


def test_a_card_limited_by_the_operator_is_refused_a_destination_it_may_not_dial(
        container: Container, switch: tuple[TestClient, RecordingDialer, RecordingSmsGateway]) -> None:
    client, dialer, _ = switch
    (card, _pin), = cards(container, "callback", 1, 30_0000, "CB7")
    container.ledger.bind(card, SUBSCRIBER, "test")
    container.ledger.set_call_permissions(card, {"categories": ["local", "mobile"]}, "op")  # leg A is a mobile
    assert post(client, "/v1/callback/calls", {"call_id": "cb-7", "caller": SUBSCRIBER,
                                               "access_number": ACCESS})["callback"] is True
    before = events(container)
    hong_kong = post(client, "/v1/callback/calls/cb-7/destination", {"destination": "+85221234567"})
    assert (hong_kong["bridged"], hong_kong["reason"]) == (False, "not_permitted"), hong_kong
    assert events(container) == before and container.ledger.account(card).held == 0
    assert post(client, "/v1/callback/calls/cb-7/destination", {"destination": DESTINATION})["bridged"] is True
    # A card that may not dial the subscriber's own (mobile) number is not called back at all.
    container.ledger.set_call_permissions(card, {"categories": ["local"]}, "op")
    dialled = len(dialer.originated)
    refused = post(client, "/v1/callback/calls", {"call_id": "cb-8", "caller": SUBSCRIBER, "access_number": ACCESS})
    assert (refused["callback"], refused["reason"]) == (False, "not_permitted"), refused
    assert len(dialer.originated) == dialled


def test_a_callback_without_a_destination_charges_leg_a_alone(
        container: Container, switch: tuple[TestClient, RecordingDialer, RecordingSmsGateway]) -> None:
    client, _, _ = switch
    (card, _), = cards(container, "callback", 1, 5_0000, "CB5")
    container.ledger.bind(card, SUBSCRIBER, "test")
    post(client, "/v1/callback/calls", {"call_id": "cb-3", "caller": SUBSCRIBER, "access_number": ACCESS})
    ended = post(client, "/v1/callback/calls/cb-3/end", {"leg_a_billsec": 75, "cause": "no_input"})
    assert (ended["status"], ended["charged"], ended["balance"]) == ("failed", "0.4000", "4.6000")  # 2 minutes
    assert post(client, "/v1/callback/calls/cb-3/destination", {"destination": DESTINATION}, 409)["error"] == (
        "callback_not_open")
    assert trial_balance(container) == 0


BAD_HOOKS = [
    ("/v1/callback/calls", {"call_id": "x", "caller": "139\x00", "access_number": ACCESS}),
    ("/v1/callback/calls", {"call_id": "x", "caller": 13900139000, "access_number": ACCESS}),
    ("/v1/callback/calls", {"call_id": "", "caller": SUBSCRIBER, "access_number": ACCESS}),
    ("/v1/callback/calls", {"caller": SUBSCRIBER}),
    ("/v1/callback/calls/cb-9/destination", {"destination": ""}),
    ("/v1/callback/calls/cb-9/destination", {"destination": 1062345678}),
    ("/v1/callback/calls/cb-9/end", {"leg_a_billsec": -1}),
    ("/v1/callback/calls/cb-9/end", {"leg_a_billsec": "60"}),
    ("/v1/callback/bind", {"caller": SUBSCRIBER, "card": "12ab", "pin": "123456"}),
    ("/v1/callback/bind", {"caller": SUBSCRIBER, "card": "1234567890", "pin": "12"}),
    ("/v1/callback/bind", {"caller": "not a number", "card": "1234567890", "pin": "123456"}),
    ("/v1/callback/recharge", {"call_id": "r", "caller": SUBSCRIBER, "voucher": "123", "pin": "1234567890"}),
    ("/v1/callback/recharge", {"call_id": "r", "caller": SUBSCRIBER, "voucher": "1234567890123456",
                               "pin": "1234567890"}),  # fails its check digit
    ("/v1/sms/inbound", {"from": SUBSCRIBER, "text": ""}),
    ("/v1/sms/inbound", {"from": SUBSCRIBER, "text": "BD\x07"}),
    ("/v1/sms/inbound", {"from": "anonymous", "text": "CX"}),
]


def test_bad_input_to_every_callback_hook_is_a_422_and_changes_nothing(
        container: Container, switch: tuple[TestClient, RecordingDialer, RecordingSmsGateway]) -> None:
    client, dialer, sms = switch
    (card, _), = cards(container, "callback", 1, 20_0000, "CB6")
    container.ledger.bind(card, SUBSCRIBER, "test")
    post(client, "/v1/callback/calls", {"call_id": "cb-9", "caller": SUBSCRIBER, "access_number": ACCESS})
    before, dialled, sent = events(container), len(dialer.originated), len(sms.sent)
    for path, body in BAD_HOOKS:
        answer = post(client, path, body, 422)
        assert answer["error"] in ("invalid_request", "invalid_pin") and answer["message"], (path, body, answer)
    assert client.post("/v1/callback/calls/cb-9/destination", content=b"{", headers=AUTH).status_code == 422
    assert client.post("/v1/callback/calls", json={}).status_code == 401  # no token
    assert post(client, "/v1/callback/calls/nope/destination", {"destination": DESTINATION}, 404)["error"] == (
        "unknown_callback")
    assert events(container) == before and len(dialer.originated) == dialled and len(sms.sent) == sent


@pytest.mark.parametrize(("body", "reply"), [
    ("hello", "无法识别的指令。绑定: BD 卡号 密码；查询余额: CX；充值: CZ 充值卡号 密码"),
    ("12345", "无法识别的指令。绑定: BD 卡号 密码；查询余额: CX；充值: CZ 充值卡号 密码"),
    ("BD 1234567890", "格式错误：需要2项内容。请发送“BD 卡号 密码”。"),
    ("BIND 12ab 123456", "Not understood: that is not a card number. Please text BIND <card> <PIN>."),
    ("BD 1234567890 12", "格式错误：密码应为6到10位数字。请发送“BD 卡号 密码”。"),
    ("CZ 1234567890123456 1234567890", "格式错误：卡号有误。请发送“CZ 充值卡号 密码”。"),  # a bad check digit
    ("CX", "本机号码未绑定卡，请先发送“BD 卡号 密码”绑定。"),
    ("BD 1234567890 123456", "卡号不存在，请核对后重发。"),
])
def test_a_text_that_is_not_a_good_command_is_answered_how_to_write_it_and_changes_nothing(
        container: Container, switch: tuple[TestClient, RecordingDialer, RecordingSmsGateway],
        body: str, reply: str) -> None:
    client, _, _ = switch
    before = events(container)
    sent = post(client, "/v1/sms/inbound", {"from": "13700137000", "text": body})["replies"]
    assert [m["text"] for m in sent] == [reply]
    assert sent[0]["to"] == "+8613700137000"
    assert events(container) == before


class BrokenDialer:
    def originate(self, call: Origination) -> None:
        raise ConnectionError("switch unreachable")


def test_a_callback_the_switch_cannot_place_is_answered_and_recorded_as_failed(
        container: Container, switch: tuple[TestClient, RecordingDialer, RecordingSmsGateway]) -> None:
    client, _, _ = switch
    (card, _), = cards(container, "callback", 1, 5_0000, "CB7")
    container.ledger.bind(card, SUBSCRIBER, "test")
    client.app.state.callbacks.dialer = BrokenDialer()
    failed = post(client, "/v1/callback/calls", {"call_id": "cb-8", "caller": SUBSCRIBER, "access_number": ACCESS})
    assert (failed["reject"], failed["callback"], failed["reason"]) == (True, False, "dial_failed")
    # A retry says the same; the request is closed: nothing can be bridged on it, and its end charged nothing.
    assert post(client, "/v1/callback/calls", {"call_id": "cb-8", "caller": SUBSCRIBER,
                                               "access_number": ACCESS}) == failed
    assert post(client, "/v1/callback/calls/cb-8/destination", {"destination": DESTINATION}, 409)["error"] == (
        "callback_not_open")
    ended = post(client, "/v1/callback/calls/cb-8/end", {})
    assert (ended["status"], ended["charged"], ended["balance"]) == ("failed", "0.0000", "5.0000")
    assert container.ledger.account(card).held == 0
