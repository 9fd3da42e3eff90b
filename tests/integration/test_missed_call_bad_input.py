"""Missed-call notification: the portal's mutations run the same service as the hooks, and bad input changes
nothing, whichever door it comes through (hooks: 4xx JSON; GraphQL: `extensions.code`; SMS: a reply)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from freezegun import freeze_time

from ringledger.container import Container
from ringledger.subscriptions import build_subscriptions
from services.fakes import RecordingCallControl, RecordingDialer, RecordingSmsGateway
from services.ports import Ports
from tests.charging_support import allow_frozen_time, set_up
from tests.integration.portal_support import Portal, open_portal

TOKEN = "switch-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CALLEE, CALLER = "+8613900139000", "+8613800138000"


@pytest.fixture
def portal(container: Container) -> Iterator[tuple[Portal, RecordingSmsGateway]]:
    import pydantic.v1  # noqa: F401  FastAPI imports it lazily; its classes cannot be built on frozen dates

    sms = RecordingSmsGateway("10690000")
    container.ports = Ports(dialer=RecordingDialer(), call_control=RecordingCallControl(), sms=sms)
    container.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    with freeze_time("2026-11-25T06:00:00+00:00", tick=False):
        allow_frozen_time(container)
        set_up(container, 10_0000, number="8000000201", phone=CALLEE)
        set_up(container, 1_0000, number="8000000202", phone=CALLER)
        build_subscriptions(container).subscribe("8000000201", "missed_call_off", 2_0000, "test")
        p = open_portal(container)
        with p.client:
            yield p, sms


def events(c: Container) -> int:
    return c.ledger.recorder.max_notification_id() or 0


def code(answer: dict[str, Any]) -> str:
    return answer["errors"][0]["extensions"]["code"]  # type: ignore[no-any-return]


def test_the_portal_reports_a_missed_call_and_the_callee_back_through_the_same_service(
        container: Container, portal: tuple[Portal, RecordingSmsGateway]) -> None:
    p, sms = portal
    set_ad = p.gql("operator", "mutation($i: MissedCallAdvertInput!) { setMissedCallAdvert(input: $i) { name } }",
                   i={"name": "vip", "text": "贵宾专享", "group": "vip"})
    assert set_ad["data"]["setMissedCallAdvert"]["name"] == "vip"
    assert p.gql("operator", 'mutation { setMissedCallGroup(number: "13900139000", group: "vip") }')[
        "data"]["setMissedCallGroup"] == "vip"
    report = p.gql("operator", 'mutation { reportMissedCall(callId: "p1", caller: "13800138000",'
                               ' callee: "13900139000", cause: "off") { recorded reason count } }')
    assert report["data"]["reportMissedCall"] == {"recorded": True, "reason": None, "count": 1}
    back = p.gql("operator", 'mutation { reportCalleeReachable(eventId: "e1", callee: "13900139000")'
                             ' { notices reachableNotices failed } }')
    assert back["data"]["reportCalleeReachable"] == {"notices": 1, "reachableNotices": 0, "failed": []}
    # The subscriber's group chose the advert.
    assert [(t.recipient, t.body) for t in sms.sent] == [
        (CALLEE, "您好，用户13800138000于11月25日14时呼叫您1次，请回电！贵宾专享")]
    listed = p.gql("auditor", 'query { missedCallNotices(number: "13900139000") { caller count status body } }')
    assert listed["data"]["missedCallNotices"] == [{"caller": CALLER, "count": 1, "status": "sent",
                                                    "body": sms.sent[0].body}]
    pin = p.gql("operator", 'mutation { setMissedCallPin(number: "13900139000", newPin: "24681357")'
                            ' { ok reason triesLeft } }')
    assert pin["data"]["setMissedCallPin"] == {"ok": True, "reason": None, "triesLeft": 5}
    checked = p.gql("operator", 'mutation { checkMissedCallPin(number: "13900139000", pin: "11111111")'
                                ' { ok reason triesLeft } }')
    assert checked["data"]["checkMissedCallPin"] == {"ok": False, "reason": "wrong_pin", "triesLeft": 4}
    # Four more wrong tries lock the PIN: the right one no longer opens the menu until the operator resets it.
    check = 'mutation($pin: String!) { checkMissedCallPin(number: "13900139000", pin: $pin) { ok reason triesLeft } }'
    for _ in range(4):
        last = p.gql("operator", check, pin="11111111")["data"]["checkMissedCallPin"]
    assert last == {"ok": False, "reason": "pin_locked", "triesLeft": 0}
    assert p.gql("operator", check, pin="24681357")["data"]["checkMissedCallPin"]["reason"] == "pin_locked"
    reset = p.gql("operator", 'mutation { setMissedCallPin(number: "13900139000", newPin: "97531246", reset: true)'
                              ' { ok } }')
    assert reset["data"]["setMissedCallPin"]["ok"] is True
    assert p.gql("operator", check, pin="97531246")["data"]["checkMissedCallPin"]["ok"] is True
    # Only a keyed hash of each PIN is stored.
    stored = b"".join(n.state for n in container.ledger.recorder.select_notifications(1, 100_000))
    assert b"+8613900139000" in stored  # events are stored readable...
    assert b"24681357" not in stored and b"97531246" not in stored and b"11111111" not in stored  # ...PINs not
    history = p.gql("operator", 'mutation { missedCallHistory(number: "13900139000") { shown charged calls'
                                ' { caller } } }')
    assert history["data"]["missedCallHistory"] == {"shown": True, "charged": "0.1000", "calls": [{"caller": CALLER}]}


def test_bad_input_to_the_hooks_is_a_4xx_json_error_and_changes_nothing(
        container: Container, portal: tuple[Portal, RecordingSmsGateway]) -> None:
    p, sms = portal
    client = p.client
    before = events(container)
    good = {"call_id": "b1", "caller": "13800138000", "callee": "13900139000", "cause": "off"}
    refused = client.post("/v1/missed-calls", json=good)
    assert (refused.status_code, refused.json()["error"]) == (401, "unauthorized")
    for path, body in [
        ("/v1/missed-calls", {**good, "cause": "asleep"}),
        ("/v1/missed-calls", {**good, "extra": 1}),
        ("/v1/missed-calls", {**good, "caller": "not a number"}),
        ("/v1/missed-calls", {k: v for k, v in good.items() if k != "callee"}),
        ("/v1/missed-calls/reachable-requests", {"call_id": "b2", "caller": "13800138000", "callee": "13900139000",
                                                 "notify": "12"}),
        ("/v1/missed-calls/reachable", {"event_id": "", "callee": "13900139000"}),
        ("/v1/missed-calls/owner/pin", {"number": "13900139000", "new_pin": "12ab"}),
        ("/v1/missed-calls/owner/pin-check", {"number": "13900139000", "pin": "1" * 11}),
        ("/v1/missed-calls/owner/history", {"call_id": "b3", "number": "13900139000", "pin": "12"}),
        ("/v1/missed-calls/owner/blacklist", {"number": "13900139000", "pin": "123456", "caller": "x"}),
    ]:
        answer = client.post(path, json=body, headers=AUTH)
        assert answer.status_code == 422, (path, body, answer.text)
        assert answer.json()["error"] == "invalid_request" and answer.json()["message"]
    # The owner's menu for a number bound to no account.
    nobody = client.post("/v1/missed-calls/owner/history", json={"call_id": "b4", "number": "13500135000",
                                                                 "pin": "123456"}, headers=AUTH)
    assert (nobody.status_code, nobody.json()["error"]) == (404, "unknown_account")
    # Not JSON at all.
    raw = client.post("/v1/missed-calls", content=b"{", headers={**AUTH, "Content-Type": "application/json"})
    assert raw.status_code == 422 and raw.json()["error"] == "invalid_request"
    assert events(container) == before and sms.sent == []


def test_bad_input_to_the_portal_carries_a_code_and_changes_nothing(
        container: Container, portal: tuple[Portal, RecordingSmsGateway]) -> None:
    p, _ = portal
    before = events(container)
    ad = "mutation($i: MissedCallAdvertInput!) { setMissedCallAdvert(input: $i) { name } }"
    assert code(p.gql("operator", ad, i={"name": "x", "text": "t", "fromHour": 25, "toHour": 3})) == "invalid_request"
    assert code(p.gql("operator", ad, i={"name": "Bad Name", "text": "t"})) == "invalid_request"
    assert code(p.gql("operator", ad, i={"name": "long", "text": "广" * 41})) == "invalid_request"
    assert code(p.gql("operator", ad, i={"name": "x", "text": "t", "prefix": "139"})) == "invalid_request"
    assert code(p.gql("auditor", ad, i={"name": "x", "text": "t"})) == "forbidden"
    assert code(p.gql("operator", 'mutation { reportMissedCall(callId: "g1", caller: "13800138000",'
                                  ' callee: "13900139000", cause: "asleep") { recorded } }')) == "invalid_request"
    assert code(p.gql("operator", 'mutation { setMissedCallPin(number: "13900139000", newPin: "12ab")'
                                  ' { ok } }')) == "invalid_request"
    assert code(p.gql("operator", 'mutation { removeMissedCallAdvert(name: "none") }')) == "unknown_advert"
    assert code(p.gql("operator", 'mutation { blockMissedCaller(number: "13900139000", caller: "13700137000",'
                                  ' blocked: false) { blocked } }')) == "invalid_request"
    assert code(p.gql("operator", 'query { missedCallNotices(number: "13900139000", limit: 0) { caller } }')) == (
        "invalid_request")
    assert events(container) == before


def test_a_malformed_sms_command_gets_a_reply_saying_how_and_changes_nothing(
        container: Container, portal: tuple[Portal, RecordingSmsGateway]) -> None:
    p, sms = portal
    before = events(container)

    def text(body: str) -> str:
        answer = p.client.post("/v1/sms/inbound", json={"from": "13900139000", "text": body}, headers=AUTH)
        (reply,) = answer.json()["replies"]
        return reply["text"]  # type: ignore[no-any-return]

    assert text("KD 12") == "号码有误，请核对后重发。"
    assert text("HMD") == "格式错误：需要1项内容。请发送“HMD 对方号码”。"
    assert text("SZMM 12") == "格式错误：密码应为6到10位数字。请发送“SZMM 新密码”。"
    assert text("XGMM 123456 abcdefg") == "格式错误：密码应为6到10位数字。请发送“XGMM 密码 新密码”。"
    assert text("LD now") == "格式错误：需要0项内容。请发送“LD”。"
    assert events(container) == before
    assert all(t.recipient == CALLEE for t in sms.sent)
