"""`ringledger serve` with FreeSWITCH on: the adapter starts with the app, reports through the hooks'
group commit, takes JSON CDRs on the app's port and shows its health in /metrics."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ringledger.config import Settings
from ringledger.container import build
from ringledger.server import create_app
from tests.charging_support import PEAK, set_up
from tests.asterisk_peer import FakeAmi, agi_block, agi_session, ami_frames, variables_set
from tests.freeswitch_peer import Call, FakeSwitch, park
from tests.support import TEST_CLOCK_START

TOKEN = "serve-fs-token"


class SwitchThread:
    """The switch in the test, on an event loop of its own (the app's runs in the test client's thread)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.switch = FakeSwitch()
        self.port = self.run(self.switch.start())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        self.run(self.switch.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def fs() -> Iterator[SwitchThread]:
    s = SwitchThread()
    yield s
    s.close()


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


def _until(check: Any, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)
    return value


def test_serve_with_freeswitch_on_authorizes_reports_and_takes_cdrs(
        settings: Settings, tmp_path: Path, fs: SwitchThread) -> None:
    settings = settings.model_copy(update=dict(
        freeswitch_enabled=True, freeswitch_port=fs.port, freeswitch_listen_port=0,
        freeswitch_spool_dir=str(tmp_path / "spool"), clock_start=TEST_CLOCK_START,
        switch_tokens="pbx1=" + hashlib.sha256(TOKEN.encode()).hexdigest()))
    container = build(settings)
    set_up(container)
    try:
        with TestClient(create_app(container)) as client:
            metrics = lambda: client.get("/metrics").text
            _until(lambda: _metric(metrics(), "ringledger_freeswitch_connected") == 1.0)
            assert fs.switch.subscriptions == [
                "event plain CHANNEL_ANSWER SESSION_HEARTBEAT CHANNEL_HANGUP_COMPLETE"]
            call = Call(caller="+8613800138000", callee="01062345678", created=PEAK)
            commands = fs.run(park(client.app.state.freeswitch.listen_port, call))  # type: ignore[attr-defined]
            assert commands[-3:] == [
                f"api uuid_setvar {call.uuid} execute_on_answer sched_hangup +300 ALLOTTED_TIMEOUT",
                f"api uuid_transfer {call.uuid} 01062345678 XML ringledger_authorized", "exit"]
            call.granted = 300
            fs.run(fs.switch.push(call.event("channel_answer.txt")))
            adapter = client.app.state.freeswitch  # type: ignore[attr-defined]
            _until(lambda: adapter.client.events_handled == 1)
            # a cut the ledger decides reaches the switch through the app's CallControl
            client.app.state.charging.call_control.cut(call.call_id, "insufficient_funds")  # type: ignore[attr-defined]
            _until(lambda: fs.switch.apis("uuid_kill") == [f"uuid_kill {call.uuid} ALLOTTED_TIMEOUT"])
            fs.run(fs.switch.push(call.event("channel_hangup_complete.txt", billsec=125)))
            answer = client.post("/v1/freeswitch/cdr", content=call.cdr(125),
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
            assert answer.status_code == 200 and answer.json()["charged"] == "0.3000", answer.text
            text = metrics()
            assert _metric(text, "ringledger_freeswitch_spool_depth") == 0.0
            assert _metric(text, "ringledger_freeswitch_park_authorized") == 1.0
            assert _metric(text, "ringledger_freeswitch_cdrs_received") == 1.0
            balance = client.get("/v1/accounts/by-number/8000000001/balance",
                                 headers={"Authorization": f"Bearer {TOKEN}"}).json()
            assert balance["balance"] == "99.7000"
    finally:
        container.close()


def test_freeswitch_is_off_by_default(settings: Settings) -> None:
    assert Settings().freeswitch_enabled is False
    container = build(settings)
    try:
        with TestClient(create_app(container)) as client:
            assert "ringledger_freeswitch" not in client.get("/metrics").text
            assert client.post("/v1/freeswitch/cdr", content=b"{}").status_code == 404
    finally:
        container.close()


def test_with_both_switches_on_each_cut_and_extension_reaches_the_switch_that_carries_the_call(
        settings: Settings, tmp_path: Path, fs: SwitchThread) -> None:
    ami = FakeAmi()
    ami_port = fs.run(ami.start())  # the Asterisk manager on the switches' loop too
    settings = settings.model_copy(update=dict(
        freeswitch_enabled=True, freeswitch_port=fs.port, freeswitch_listen_port=0,
        freeswitch_spool_dir=str(tmp_path / "fs-spool"), agi_port=0,
        ami_url=f"ami://ringledger:s3cret@127.0.0.1:{ami_port}", asterisk_spool_dir=str(tmp_path / "ast-spool"),
        clock_start=TEST_CLOCK_START))
    container = build(settings)
    set_up(container)
    try:
        with TestClient(create_app(container)) as client:
            app = client.app
            freeswitch, asterisk = app.state.freeswitch, app.state.asterisk  # type: ignore[attr-defined]
            charging = app.state.charging  # type: ignore[attr-defined]
            _until(lambda: freeswitch.client.connected and asterisk.ports.ami.connected)
            # one call on each switch, both answered
            fs_call = Call(caller="+8613800138000", callee="01062345678", created=PEAK)
            fs.run(park(freeswitch.listen_port, fs_call))
            fs_call.granted = 300
            fs.run(fs.switch.push(fs_call.event("channel_answer.txt")))
            _until(lambda: freeswitch.client.events_handled == 1)
            variables = variables_set(fs.run(agi_session(asterisk.agi_port, agi_block()))[0])
            ast_call = variables["RL_CALL_ID"]
            fs.run(ami.push(ami_frames("ami_call.txt")[0]))  # DialEnd: answered
            _until(lambda: len(ami.sent("Setvar")) == 1)
            # each grant is extended 250 s in (an interim, as the hook takes it): each switch moves only its own
            charging.interim(fs_call.call_id, 250)
            _until(lambda: fs.switch.apis("sched_hangup") == [f"sched_hangup +350 {fs_call.uuid} ALLOTTED_TIMEOUT"])
            charging.interim(ast_call, 250)
            _until(lambda: len(ami.sent("Setvar")) == 2)
            assert ami.sent("Setvar")[-1]["Value"] == ["350"]
            assert ami.sent("Setvar")[-1]["Channel"] == ["Local/01062345678@ringledger-00000000;2"]
            assert len(fs.switch.apis("sched_hangup")) == 1
            # each cut goes to the switch that carries the call, and only there
            charging.call_control.cut(fs_call.call_id, "insufficient_funds")
            _until(lambda: fs.switch.apis("uuid_kill") == [f"uuid_kill {fs_call.uuid} ALLOTTED_TIMEOUT"])
            assert ami.sent("Hangup") == []
            charging.call_control.cut(ast_call, "insufficient_funds")
            _until(lambda: len(ami.sent("Hangup")) == 1)
            assert ami.sent("Hangup")[0]["Channel"] == ["Local/01062345678@ringledger-00000000;2"]
            assert len(fs.switch.apis("uuid_kill")) == 1
            text = client.get("/metrics").text
            assert _metric(text, "ringledger_asterisk_spool_depth") == 0.0
            assert _metric(text, "ringledger_freeswitch_spool_depth") == 0.0
    finally:
        container.close()
        fs.run(ami.stop())


def test_a_full_cdr_larger_than_a_hook_body_is_taken_and_a_larger_one_refused_413(
        settings: Settings, tmp_path: Path, fs: SwitchThread) -> None:
    """mod_json_cdr sends the whole record (callflow, app_log, every variable): often past 16 KiB."""
    settings = settings.model_copy(update=dict(
        freeswitch_enabled=True, freeswitch_port=fs.port, freeswitch_listen_port=0,
        freeswitch_spool_dir=str(tmp_path / "spool"), clock_start=TEST_CLOCK_START,
        switch_tokens="pbx1=" + hashlib.sha256(TOKEN.encode()).hexdigest()))
    container = build(settings)
    set_up(container)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    try:
        with TestClient(create_app(container)) as client:
            call = Call(caller="+8613800138000", callee="01062345678", created=PEAK)
            fs.run(park(client.app.state.freeswitch.listen_port, call))  # type: ignore[attr-defined]
            record = json.loads(call.cdr(125))
            record["app_log"] = {"applications": [{"app_name": "set", "app_data": "x" * 100}] * 300}
            body = json.dumps(record).encode()
            assert 16_384 < len(body) < 100_000
            answer = client.post("/v1/freeswitch/cdr", content=body, headers=headers)
            assert answer.status_code == 200 and answer.json()["charged"] == "0.3000", answer.text
            too_large = client.post("/v1/freeswitch/cdr", content=b" " * 300_000, headers=headers)
            assert too_large.status_code == 413 and too_large.json()["error"] == "body_too_large"
            # the hooks keep their own limit
            hook = client.post("/v1/calls/authorize", content=b" " * 20_000, headers=headers)
            assert hook.status_code == 413
    finally:
        container.close()
