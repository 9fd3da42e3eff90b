"""Missed-call notification (来电提醒) driven as the switch and the SMS gateway would, on each store.

Everything goes in over HTTP: the switch's hooks with its token, texts
through the fake gateway's inlet (`/v1/sms/inbound`); what goes out is what
the recording gateway was asked to send, the same list `/v1/sms/outbox`
shows. Time is frozen at 14:00 Beijing on 25 November 2026 and moved on by
hand; the lapse job is the scheduler's own function.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from freezegun import freeze_time

from ledger.house import ADJUSTMENTS, revenue
from ledger.subscriptions import fee_revenue
from ringledger.audit.verify import verify
from ringledger.container import Container
from ringledger.scheduler import missed_call_job
from ringledger.server import create_app
from ringledger.subscriptions import build_subscriptions
from services.fakes import RecordingCallControl, RecordingDialer, RecordingSmsGateway
from services.ports import Ports
from tests.charging_support import allow_frozen_time, set_up, trial_balance
from tests.fault_support import Store, store  # noqa: F401  (fixture)

TOKEN = "switch-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = "2026-11-25T06:00:00+00:00"  # 14:00 in Beijing
CALLEE, CALLEE_ACCOUNT = "13900139000", "8000000101"
CALLER, CALLER_ACCOUNT = "13800138000", "8000000102"
STRANGER = "13700137000"  # has no account
AD = "XX公司竭诚为您服务"


class Switch:
    def __init__(self, client: TestClient, sms: RecordingSmsGateway, frozen: Any, container: Container) -> None:
        self.client, self.sms, self.frozen, self.container = client, sms, frozen, container

    def post(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        response = self.client.post(path, json=body, headers=AUTH)
        assert response.status_code == status, response.text
        return response.json()

    def missed(self, call_id: str, caller: str, cause: str = "off", callee: str = CALLEE) -> dict[str, Any]:
        return self.post("/v1/missed-calls", {"call_id": call_id, "caller": caller, "callee": callee, "cause": cause})

    def text(self, sender: str, body: str) -> str:
        (reply,) = self.post("/v1/sms/inbound", {"from": sender, "to": "10690000", "text": body})["replies"]
        return reply["text"]

    def outbox(self) -> list[tuple[str, str]]:
        return [(m["to"], m["text"]) for m in self.client.get("/v1/sms/outbox", headers=AUTH).json()["messages"]]

    def balance(self, number: str) -> int:
        return self.container.ledger.account(number).balance


@pytest.fixture
def switch(container: Container) -> Iterator[Switch]:
    import pydantic.v1  # noqa: F401  FastAPI imports it lazily; its classes cannot be built on frozen dates

    sms = RecordingSmsGateway("10690000")
    container.ports = Ports(dialer=RecordingDialer(), call_control=RecordingCallControl(), sms=sms)
    container.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    with freeze_time(NOW, tick=False) as frozen:
        allow_frozen_time(container)
        set_up(container, 10_0000, number=CALLEE_ACCOUNT, phone="+86" + CALLEE)
        set_up(container, 1_0000, number=CALLER_ACCOUNT, phone="+86" + CALLER)
        fees = build_subscriptions(container)
        for service in ("missed_call_off", "missed_call_busy"):
            assert fees.subscribe(CALLEE_ACCOUNT, service, 2_0000, "test")["outcome"] == "charged"
        with TestClient(create_app(container)) as client:
            client.app.state.missed_calls.set_advert("daytime", AD, "test", from_hour=8, to_hour=20)
            yield Switch(client, sms, frozen, container)


def events(container: Container) -> int:
    return container.ledger.recorder.max_notification_id() or 0


def test_missed_calls_wait_for_the_callee_go_out_once_a_window_and_the_money_reconciles(
        container: Container, switch: Switch) -> None:
    s = switch
    # 14:00: the callee's phone is off. Three calls from one caller within the hour make one window,
    # whatever the cause; the switch retries the first report, which changes nothing.
    first = s.missed("m1", CALLER)
    assert (first["recorded"], first["count"], first["service"], first["offer_reachable"]) == (
        True, 1, "missed_call_off", True)
    assert s.missed("m1", CALLER) == first
    s.frozen.tick(timedelta(minutes=10))
    assert s.missed("m2", CALLER, "out_of_area")["count"] == 2
    s.frozen.tick(timedelta(minutes=10))
    third = s.missed("m3", CALLER, "busy")
    assert (third["count"], third["service"], third["window"]) == (3, "missed_call_busy", first["window"])
    assert s.missed("m4", STRANGER, "unreachable")["count"] == 1

    # At the IVR the caller asks to be told when the callee is back (0.10 when sent); a stranger without
    # an account cannot pay for it and is told so.
    asked = s.post("/v1/missed-calls/reachable-requests", {"call_id": "m3", "caller": CALLER, "callee": CALLEE})
    assert (asked["accepted"], asked["notify"], asked["fee"], asked["account"]) == (
        True, "+8613800138000", "0.1000", CALLER_ACCOUNT)
    refused = s.post("/v1/missed-calls/reachable-requests", {"call_id": "m4", "caller": STRANGER, "callee": CALLEE})
    assert (refused["accepted"], refused["reason"]) == (False, "unknown_account")
    assert s.outbox() == []  # nothing goes out while the callee is unreachable

    # 15:05: the phone registers again. One SMS per window to the callee, advert appended; the caller's
    # reachable-again SMS, charged 0.10 to the caller's account.
    s.frozen.tick(timedelta(minutes=45))
    back = s.post("/v1/missed-calls/reachable", {"event_id": "reg-1", "callee": CALLEE})
    assert sorted((n["caller"], n["count"]) for n in back["notices"]) == [("+8613700137000", 1),
                                                                          ("+8613800138000", 3)]
    assert back["reachable_notices"] == [{"request": "m3", "notify": "+8613800138000", "account": CALLER_ACCOUNT,
                                          "charged": "0.1000"}]
    assert sorted(s.outbox()) == sorted([
        ("+8613900139000", f"您好，用户13800138000于11月25日14时呼叫您3次，请回电！{AD}"),
        ("+8613900139000", f"您好，用户13700137000于11月25日14时呼叫您1次，请回电！{AD}"),
        ("+8613800138000", f"您好，用户13900139000已可达，请及时联系。{AD}")])
    assert [(t.recipient, t.body) for t in s.sms.sent] == s.outbox()  # the port's texts are the outbox's
    # The switch retries the report, and reports the next registration: nothing is sent twice.
    assert {k: v for k, v in s.post("/v1/missed-calls/reachable", {"event_id": "reg-1", "callee": CALLEE}).items()
            if k != "failed"} == {k: v for k, v in back.items() if k != "failed"}
    again = s.post("/v1/missed-calls/reachable", {"event_id": "reg-2", "callee": CALLEE})
    assert (again["notices"], again["reachable_notices"]) == ([], [])
    assert len(s.outbox()) == 3
    assert s.balance(CALLER_ACCOUNT) == 1_0000 - 1000

    # A requester whose money is gone by the time the callee is back gets nothing sent, and is not charged.
    s.missed("m5", CALLER)
    assert s.post("/v1/missed-calls/reachable-requests", {"call_id": "m5", "caller": CALLER, "callee": CALLEE,
                                                          "notify": "01062345678"})["notify"] == "+861062345678"
    container.ledger.adjust(CALLER_ACCOUNT, -9000, "test", "spent elsewhere")
    unpaid = s.post("/v1/missed-calls/reachable", {"event_id": "reg-3", "callee": CALLEE})
    assert unpaid["unpaid"] == [{"request": "m5", "account": CALLER_ACCOUNT, "reason": "insufficient_funds"}]
    assert [n["count"] for n in unpaid["notices"]] == [1]
    assert all(to != "+861062345678" for to, _ in s.outbox())

    # A notice the callee never comes back for lapses after 24 hours (the SMS validity): the scheduler's job.
    s.missed("m6", STRANGER, "off")
    s.frozen.tick(timedelta(hours=24))
    lapsed = missed_call_job(container, s.client.app.state.missed_calls)
    assert [d["callee"] for d in lapsed] == ["+8613900139000"]
    before = len(s.outbox())
    assert s.post("/v1/missed-calls/reachable", {"event_id": "reg-4", "callee": CALLEE})["notices"] == []
    assert len(s.outbox()) == before

    # The owner's menu by SMS: blacklist a caller, whose calls are then neither recorded nor notified.
    assert s.text(CALLEE, "HMD 13800138000") == "已将13800138000加入黑名单，其来电不再提醒。"
    blocked = s.missed("m7", CALLER)
    assert (blocked["recorded"], blocked["reason"]) == (False, "blacklisted")
    # History on request by SMS: 0.10 from the owner's account, the reply lists the windows.
    history = s.text(CALLEE, "LD")
    assert history == ("您有4条未接来电：13700137000 11月25日15时 1次；13800138000 11月25日15时 1次；"
                       "13700137000 11月25日14时 1次；13800138000 11月25日14时 3次。（本次信息费0.1000元，余额5.9000元）")
    # The owner's PIN, set by SMS, guards the IVR menu; a wrong PIN counts toward the lockout.
    assert s.text(CALLEE, "SZMM 123456") == "来电提醒密码已设置。"
    assert s.text(CALLEE, "SZMM 654321") == "已设置过密码，请发送“XGMM 原密码 新密码”修改。"
    wrong = s.post("/v1/missed-calls/owner/history", {"call_id": "ivr-1", "number": CALLEE, "pin": "000000"})
    assert (wrong["shown"], wrong["reason"], wrong["tries_left"]) == (False, "wrong_pin", 4)
    shown = s.post("/v1/missed-calls/owner/history", {"call_id": "ivr-2", "number": CALLEE, "pin": "123456"})
    assert (shown["shown"], shown["charged"], len(shown["calls"])) == (True, "0.1000", 4)
    assert [c["status"] for c in shown["calls"]] == ["lapsed", "sent", "sent", "sent"]
    assert s.post("/v1/missed-calls/owner/history", {"call_id": "ivr-2", "number": CALLEE,
                                                     "pin": "123456"}) == shown  # retried: charged once
    # A caller asks by SMS to be told when the callee is back, and at another number: only with the money.
    assert s.text(CALLER, "KD 13900139000") == "余额不足，请先充值。"
    container.ledger.adjust(CALLER_ACCOUNT, 2000, "test", "top up")
    assert s.text(CALLER, "KD 13900139000") == "已登记：13900139000可达时将短信通知13800138000，每条信息费0.1000元。"
    assert s.text(CALLER, "KDT 13900139000 01062345678") == (
        "已登记：13900139000可达时将短信通知01062345678，每条信息费0.1000元。")
    # The owner lets the caller back through the IVR.
    unblocked = s.post("/v1/missed-calls/owner/blacklist", {"number": CALLEE, "pin": "123456", "caller": CALLER,
                                                            "blocked": False})
    assert (unblocked["changed"], unblocked["blocked"]) == (True, False)
    assert s.missed("m8", CALLER)["recorded"] is True

    # Without the subscription for the cause nothing is recorded, and the answer says why.
    build_subscriptions(container).cancel(CALLEE_ACCOUNT, "missed_call_busy", "test")
    before = events(container)
    busy = s.missed("m9", CALLER, "busy")
    assert (busy["recorded"], busy["reason"]) == (False, "not_subscribed")
    stranger = s.missed("m10", CALLER, "off", callee="13500135000")  # bound to no account
    assert (stranger["recorded"], stranger["reason"]) == (False, "not_subscribed")
    assert events(container) == before

    # The callee is back: the texts asked for by SMS go out, each charged 0.10 to the caller.
    served = s.post("/v1/missed-calls/reachable", {"event_id": "reg-5", "callee": CALLEE})
    assert sorted(r["notify"] for r in served["reachable_notices"]) == ["+861062345678", "+8613800138000"]
    assert ("+861062345678", f"您好，用户13900139000已可达，请及时联系。{AD}") in s.outbox()

    # The money reconciles: two fees, two histories, three reachable-again SMS, three adjustments.
    assert s.balance(CALLEE_ACCOUNT) == 10_0000 - 2 * 2_0000 - 2 * 1000
    assert s.balance(CALLER_ACCOUNT) == 1_0000 - 1000 - 9000 + 2000 - 2 * 1000
    container.catch_up()
    gl = dict(container.views.query("SELECT account, balance FROM gl_balances WHERE account LIKE ?", ("house:%",)))
    assert gl[revenue("missed_call", "reachable_sms")] == 3 * 1000
    assert gl[revenue("missed_call", "history")] == 2000
    assert gl[fee_revenue("missed_call_off")] == gl[fee_revenue("missed_call_busy")] == 2_0000
    assert gl[ADJUSTMENTS] == 9000 - 2000  # the caller's money spent elsewhere, and the top-up
    assert trial_balance(container) == 0
    assert verify(container).problems == []


def test_a_suspended_subscription_records_nothing_and_a_refused_send_is_retried_and_refunded(
        container: Container, switch: Switch) -> None:
    s = switch
    # A callee whose subscription could not be paid: suspended, nothing recorded.
    set_up(container, 0, number="8000000103", phone="+8613600136000")
    assert build_subscriptions(container).subscribe("8000000103", "missed_call_off", 2_0000,
                                                    "test")["outcome"] == "unpaid"
    before = events(container)
    suspended = s.missed("s1", CALLER, callee="13600136000")
    assert (suspended["recorded"], suspended["reason"]) == (False, "subscription_suspended")
    assert events(container) == before  # nothing recorded, not even the answer

    # The gateway refuses everything for a while: the claims go back to pending, the fee is credited back.
    s.missed("g1", CALLER)
    s.post("/v1/missed-calls/reachable-requests", {"call_id": "g1", "caller": CALLER, "callee": CALLEE})
    working = s.sms.send

    def refuse(recipient: str, body: str) -> str:
        raise ConnectionError("SMSC away")

    s.sms.send = refuse  # type: ignore[method-assign]
    failed = s.post("/v1/missed-calls/reachable", {"event_id": "r1", "callee": CALLEE})
    assert sorted(failed["failed"]) == sorted([failed["notices"][0]["window"], "g1"])
    assert s.balance(CALLER_ACCOUNT) == 1_0000 and s.outbox() == []
    # The scheduler's job tries again while the gateway still refuses: nothing sent, nothing kept.
    service = s.client.app.state.missed_calls
    (retried,) = missed_call_job(container, service)
    assert len(retried["failed"]) == 2 and s.balance(CALLER_ACCOUNT) == 1_0000
    # The gateway is back: the next run sends both, once, and charges the caller once.
    s.sms.send = working  # type: ignore[method-assign]
    (sent,) = missed_call_job(container, service)
    assert (len(sent["notices"]), len(sent["reachable_notices"]), sent["failed"]) == (1, 1, [])
    assert missed_call_job(container, service) == []
    assert len(s.outbox()) == 2 and s.balance(CALLER_ACCOUNT) == 1_0000 - 1000
    # While the callee stays reachable, a new request by SMS is served by the next run, not a day later.
    assert s.text(CALLER, "KD 13900139000").startswith("已登记")
    (served,) = missed_call_job(container, service)
    assert [r["notify"] for r in served["reachable_notices"]] == ["+8613800138000"]
    # A new missed call makes the callee unreachable again: its notice waits for the next report.
    s.missed("g2", CALLER)
    assert missed_call_job(container, service) == []
    assert trial_balance(container) == 0


def test_two_processes_told_the_callee_is_back_at_once_send_each_notice_once(
        container: Container, switch: Switch) -> None:
    from ringledger.container import build
    from ringledger.missed_calls import build_missed_calls
    from services.charging import Charging, ChargingPolicy

    s = switch
    for i, caller in enumerate((CALLER, STRANGER, "13500135000", "13300133000")):
        s.missed(f"c{i}", caller)
    s.post("/v1/missed-calls/reachable-requests", {"call_id": "c0", "caller": CALLER, "callee": CALLEE})
    # A second process on the same store, with the same gateway; both hear of the registration at once
    # (two switches, or a retry racing the first attempt), under different report ids.
    other = build(container.settings)
    try:
        other.ports = container.ports
        allow_frozen_time(other)
        twin = build_missed_calls(other, Charging(other.ledger, ChargingPolicy(), s.client.app.state.charging.clock))
        answers: list[dict[str, Any]] = []
        barrier = threading.Barrier(2)

        def report(service: Any, event_id: str) -> None:
            barrier.wait()
            answers.append(service.reachable(event_id, CALLEE, "test"))

        threads = [threading.Thread(target=report, args=(svc, eid))
                   for svc, eid in ((s.client.app.state.missed_calls, "race-a"), (twin, "race-b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        other.close()
    assert len(answers) == 2
    assert sum(len(a["notices"]) for a in answers) == 4  # each window claimed by one of them
    assert sum(len(a["reachable_notices"]) for a in answers) == 1
    to_callee = [body for to, body in s.outbox() if to == "+86" + CALLEE]
    assert len(to_callee) == len(set(to_callee)) == 4
    assert s.balance(CALLER_ACCOUNT) == 1_0000 - 1000  # charged once
    assert trial_balance(container) == 0


def test_only_the_schedulers_leader_lapses_what_waited_24_hours(container: Container) -> None:
    from ringledger.leader import Leader
    from ringledger.missed_calls import build_missed_calls
    from services.fakes import FixedClock

    # No server here: its own scheduler would take the lock.
    clock = FixedClock(datetime.fromisoformat(NOW))
    charging = set_up(container, 10_0000, number=CALLEE_ACCOUNT, phone="+86" + CALLEE, clock=clock)
    build_subscriptions(container, clock).subscribe(CALLEE_ACCOUNT, "missed_call_off", 2_0000, "test")
    service = build_missed_calls(container, charging)
    assert service.missed("old", CALLER, CALLEE, "off", "test")["recorded"] is True
    clock.advance(24 * 3600)
    leader, follower = Leader(container.views), Leader(container.views)
    try:
        assert leader.try_lead()
        if container.views.is_postgres:
            assert missed_call_job(container, service, follower) == []  # not elected: does nothing
        assert [d["callee"] for d in missed_call_job(container, service, leader)] == ["+86" + CALLEE]
        assert missed_call_job(container, service, leader) == []  # once
    finally:
        leader.resign()
        follower.resign()
    assert [n["status"] for n in service.notices(CALLEE)] == ["lapsed"]


def test_with_the_store_gone_the_missed_call_hook_answers_503_and_a_retry_records_the_call_once(
        store: Store) -> None:  # noqa: F811
    import time

    from ringledger.container import build

    own = build(store.settings)
    try:
        own.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
        set_up(own, 10_0000, number=CALLEE_ACCOUNT, phone="+86" + CALLEE)
        build_subscriptions(own).subscribe(CALLEE_ACCOUNT, "missed_call_off", 2_0000, "test")
        body = {"call_id": "out-1", "caller": CALLER, "callee": CALLEE, "cause": "off"}
        with TestClient(create_app(own)) as client:
            with store.outage():
                started = time.monotonic()
                refused = client.post("/v1/missed-calls", json=body, headers=AUTH)
                waited = time.monotonic() - started
            assert (refused.status_code, refused.json()["error"]) == (503, "unavailable")
            assert waited < 6, f"the switch waited {waited:.1f} s for its refusal"
            deadline = time.monotonic() + 10
            while (again := client.post("/v1/missed-calls", json=body, headers=AUTH)).status_code != 200:
                assert time.monotonic() < deadline, again.text
                time.sleep(0.2)
            assert (again.json()["recorded"], again.json()["count"]) == (True, 1)
            assert client.post("/v1/missed-calls", json=body, headers=AUTH).json() == again.json()
    finally:
        own.close()


@pytest.mark.parametrize("text", ["LD", f"HMD {CALLER}"])
def test_with_the_store_gone_an_owners_sms_command_answers_503_and_charges_once_when_sent_again(
        store: Store, text: str) -> None:  # noqa: F811
    """The SMS inlet (make run's gateway) with the store away: a 503 `unavailable` like the hooks, never
    a bare 500; the text sent again once the store is back is served once."""
    import time

    from ringledger.container import build

    own = build(store.settings)
    try:
        own.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
        set_up(own, 10_0000, number=CALLEE_ACCOUNT, phone="+86" + CALLEE)
        build_subscriptions(own).subscribe(CALLEE_ACCOUNT, "missed_call_off", 2_0000, "test")
        body = {"from": CALLEE, "to": "10690000", "text": text}
        with TestClient(create_app(own), raise_server_exceptions=False) as client:
            with store.outage():
                refused = client.post("/v1/sms/inbound", json=body, headers=AUTH)
            assert refused.status_code == 503 and refused.json()["error"] == "unavailable", refused.text
            deadline = time.monotonic() + 10
            while (again := client.post("/v1/sms/inbound", json=body, headers=AUTH)).status_code != 200:
                assert time.monotonic() < deadline, again.text
                time.sleep(0.2)
            assert len(again.json()["replies"]) == 1
        own.ledger.fresh()
        charged = 10_0000 - 2_0000 - own.ledger.account(CALLEE_ACCOUNT).balance
        assert charged == (1000 if text == "LD" else 0)  # the history once: 0.10
    finally:
        own.close()


def test_a_callee_missed_a_thousand_times_loads_from_a_snapshot_with_every_window(container: Container) -> None:
    from ledger.missed_calls import MissedCallBox, box_id
    from ledger.unit_of_work import UnitOfWork
    from ringledger.container import build
    from ringledger.missed_calls import build_missed_calls
    from services.fakes import FixedClock

    clock = FixedClock(datetime.fromisoformat(NOW))
    charging = set_up(container, 10_0000, number=CALLEE_ACCOUNT, phone="+86" + CALLEE, clock=clock)
    build_subscriptions(container, clock).subscribe(CALLEE_ACCOUNT, "missed_call_off", 2_0000, "test")
    service = build_missed_calls(container, charging)
    for i in range(1100):
        service.missed(f"k{i}", f"1380013{i % 50:04d}", CALLEE, "off", "test")
        clock.advance(60)
    # Another process loads the box cold: from its snapshot and the events after it.
    other = build(container.settings)
    try:
        assert other.ledger.snapshots is not None
        assert list(other.ledger.snapshots.get(box_id("+86" + CALLEE)))
        box = UnitOfWork(other.ledger).get(box_id("+86" + CALLEE), MissedCallBox, AssertionError)
        assert sum(w["count"] for w in box.windows.values()) == 1100 and len(box.calls) == 1100
        assert all(isinstance(w["first_at"], datetime) for w in box.windows.values())
        assert box.lapse(clock() + timedelta(days=1)) == list(box.windows)  # times survive the snapshot
    finally:
        other.close()
