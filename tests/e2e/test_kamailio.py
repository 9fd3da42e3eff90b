"""Calls through a real Kamailio on our configuration, charged by a real `ringledger serve`.

SIPp places the calls and answers them; Kamailio asks the ledger on every
INVITE, keeps each call within its grant and reports answer, interim usage
and end. The ledger's clock is pinned (peak time on the tariff below).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from adapters.kamailio.control import KamailioCallControl
from rating.tariffs import RateRow
from ringledger.config import Settings
from ringledger.container import build
from services.charging import Charging, ChargingPolicy
from tests.server_process import TOKEN, server
from tests.switch_support import Kamailio, callee, free_tcp_port, kamailio, place_calls, require_switch

ACCOUNT = "8000000001"
PHONE = "+8613800138000"
LOCAL = "01062345678"
#: Local calls at 0.60 a minute billed by the second: 0.0100 (100) a second.
PER_SECOND = RateRow(name="Local by the second", category="local", price_per_minute=6000, first_increment=1,
                     next_increment=1)
CENT = 100


@pytest.fixture(autouse=True)
def _switch_installed() -> None:
    require_switch()


def open_account(settings: Settings, balance: int, number: str = ACCOUNT, phone: str = PHONE) -> None:
    c = build(settings)
    try:
        charging = Charging(c.ledger, ChargingPolicy(refresh_seconds=0), lambda: datetime(2024, 1, 1, tzinfo=UTC))
        if charging.tariff("bysecond") is None:
            charging.publish_plan("bysecond", [PER_SECOND], datetime(2024, 1, 1, tzinfo=UTC), "test")
        c.ledger.open_account("subscriber", "test", number=number, plan="bysecond")
        if balance:
            c.ledger.deposit(number, balance, "test")
        c.ledger.bind(number, phone, "test")
    finally:
        c.close()


@dataclass
class Books:
    balance: int
    held: int
    cdrs: dict[str, dict]


def books(settings: Settings, number: str = ACCOUNT) -> Books:
    c = build(settings)
    try:
        c.fresh()
        balance, held = c.views.query("SELECT balance, held FROM accounts WHERE number = ?", (number,))[0]
        rows = c.views.query("SELECT call_id, status, reason, billsec, charged, flags FROM cdrs")
        cdrs = {r[0]: dict(status=r[1], reason=r[2], billsec=int(r[3]), charged=int(r[4]), flags=r[5]) for r in rows}
        return Books(int(balance), int(held), cdrs)
    finally:
        c.close()


def settled(settings: Settings, number: str = ACCOUNT, within: float = 5) -> Books:
    """The books once every call has been reported ended (the proxy reports an end just after its BYE)."""
    deadline = time.monotonic() + within
    while True:
        found = books(settings, number)
        if found.held == 0 or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@contextmanager
def switch(settings: Settings, **options: object) -> Iterator[Kamailio]:
    """Ledger server, callee and Kamailio between them; yields Kamailio."""
    grant = {k: str(options.pop(k)) for k in ("RINGLEDGER_GRANT_SECONDS", "RINGLEDGER_GRANT_LEAD_SECONDS")
             if k in options}
    with server(settings, **grant) as client, callee() as callee_port, \
            kamailio(str(client.base_url), TOKEN, outbound=f"sip:127.0.0.1:{callee_port}",
                     **options) as node:  # type: ignore[arg-type]
        yield node


#: What the switch does with an answer is the same on either store; the ledger's own rules run on both
#: in the hook tests, and the one rule that concurrency could break here (never overdraw) runs on both below.
switch_only = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)


@switch_only
def test_a_funded_call_goes_through_and_is_charged_for_its_billsec(settings: Settings) -> None:
    open_account(settings, 100 * CENT)
    with switch(settings) as node:
        run = place_calls(node.sip_port, [PHONE], LOCAL, talk_seconds=3)
        after = settled(settings)
    assert run.returncode == 0, run.output
    (call,) = run.calls.values()
    assert call.status == 200 and call.hung_up and call.bye_from_network is None
    cdr = after.cdrs[call.call_id]
    assert cdr["status"] == "ended" and 2 <= cdr["billsec"] <= 4
    assert cdr["charged"] == cdr["billsec"] * CENT
    assert (after.balance, after.held) == (100 * CENT - cdr["charged"], 0)


@switch_only
def test_an_account_funded_for_5_seconds_gets_a_bye_after_5_seconds(settings: Settings) -> None:
    open_account(settings, 5 * CENT)
    with switch(settings) as node:
        run = place_calls(node.sip_port, [PHONE], LOCAL, talk_seconds=20)
        after = settled(settings)
    assert run.returncode == 0, run.output
    (call,) = run.calls.values()
    assert call.status == 200 and call.hung_up is None
    assert call.cut_after is not None and 4 <= call.cut_after <= 6, call.cut_after
    assert after.held == 0 and 0 <= after.balance
    assert after.cdrs[call.call_id]["charged"] == 5 * CENT - after.balance


@switch_only
def test_a_refused_call_gets_402_with_the_reason_and_costs_nothing(settings: Settings) -> None:
    open_account(settings, 0)
    with switch(settings) as node:
        run = place_calls(node.sip_port, [PHONE], LOCAL, talk_seconds=3)
    assert run.returncode == 0, run.output
    (call,) = run.calls.values()
    assert (call.status, call.reason) == (402, "insufficient_funds")
    after = books(settings)
    assert (after.balance, after.held) == (0, 0)
    assert after.cdrs[call.call_id]["charged"] == 0


@switch_only
def test_the_ledger_down_gives_503_and_charges_nothing(settings: Settings) -> None:
    open_account(settings, 100 * CENT)
    nowhere = f"http://127.0.0.1:{free_tcp_port()}"  # nothing listens there
    with callee() as callee_port, kamailio(nowhere, TOKEN, outbound=f"sip:127.0.0.1:{callee_port}") as node:
        run = place_calls(node.sip_port, [PHONE], LOCAL, talk_seconds=3)
    assert run.returncode == 0, run.output
    (call,) = run.calls.values()
    assert (call.status, call.reason) == (503, "ledger_unavailable")
    after = books(settings)
    assert (after.balance, after.held, after.cdrs) == (100 * CENT, 0, {})


@switch_only
def test_a_caller_the_ledger_cannot_read_gets_403_with_the_error_and_nothing_is_recorded(settings: Settings) -> None:
    open_account(settings, 100 * CENT)
    with switch(settings) as node:
        run = place_calls(node.sip_port, ["1" * 21], LOCAL, talk_seconds=3)  # a caller has at most 20 digits
    assert run.returncode == 0, run.output
    (call,) = run.calls.values()
    assert (call.status, call.reason) == (403, "invalid_request")
    after = books(settings)
    assert (after.balance, after.held, after.cdrs) == (100 * CENT, 0, {})


@switch_only
def test_fail_open_lets_calls_through_unbilled_when_the_ledger_is_down(settings: Settings) -> None:
    open_account(settings, 100 * CENT)
    nowhere = f"http://127.0.0.1:{free_tcp_port()}"
    with callee() as callee_port, kamailio(nowhere, TOKEN, outbound=f"sip:127.0.0.1:{callee_port}",
                                           fail_open=True) as node:
        run = place_calls(node.sip_port, [PHONE], LOCAL, talk_seconds=1)
    assert run.returncode == 0, run.output
    (call,) = run.calls.values()
    assert call.status == 200 and call.hung_up and call.bye_from_network is None
    after = books(settings)
    assert (after.balance, after.held, after.cdrs) == (100 * CENT, 0, {})


def test_twenty_simultaneous_calls_on_one_account_never_overdraw_it(settings: Settings) -> None:
    # 0.12 pays 12 seconds; slices of 5 s: two calls get 5 s, one gets 2 s, the rest are refused,
    # and every call that gets through is cut when its grant runs out (the callers never hang up).
    open_account(settings, 12 * CENT)
    with switch(settings, RINGLEDGER_GRANT_SECONDS=5, RINGLEDGER_GRANT_LEAD_SECONDS=2, lead=3,
                interim_every=1) as node:
        run = place_calls(node.sip_port, [PHONE], LOCAL, talk_seconds=30, calls=20, rate=200, limit=20)
        after = settled(settings)
    assert run.returncode == 0, run.output
    assert len(run.calls) == 20
    answered = [c for c in run.calls.values() if c.status == 200]
    refused = [c for c in run.calls.values() if c.status == 402]
    assert (len(answered), len(refused)) == (3, 17)
    assert {c.reason for c in refused} == {"insufficient_funds"}
    cuts = sorted(c.cut_after or 0 for c in answered)  # each call is hung up by the proxy when its grant ends
    assert all(abs(cut - grant) <= 1 for cut, grant in zip(cuts, [2, 5, 5])), cuts
    assert after.held == 0 and after.balance >= 0
    assert {after.cdrs[c.call_id]["status"] for c in answered} == {"ended"}
    charged = sum(cdr["charged"] for cdr in after.cdrs.values())
    assert charged == 12 * CENT - after.balance
    assert sum(after.cdrs[c.call_id]["billsec"] for c in answered) <= 12 + len(answered)


@switch_only
def test_a_call_longer_than_a_slice_is_extended_slice_by_slice_while_money_lasts(settings: Settings) -> None:
    # Slices of 4 s: the 9-second call needs two extensions, reported by the proxy's grant timer.
    open_account(settings, 100 * CENT)
    with switch(settings, RINGLEDGER_GRANT_SECONDS=4, RINGLEDGER_GRANT_LEAD_SECONDS=3, lead=3,
                interim_every=1) as node:
        run = place_calls(node.sip_port, [PHONE], LOCAL, talk_seconds=9)
        after = settled(settings)
    assert run.returncode == 0, run.output
    (call,) = run.calls.values()
    assert call.status == 200 and call.hung_up and call.bye_from_network is None  # never cut
    cdr = after.cdrs[call.call_id]
    assert cdr["status"] == "ended" and 8 <= cdr["billsec"] <= 10 and "cut" not in cdr["flags"]
    assert (after.balance, after.held) == (100 * CENT - cdr["billsec"] * CENT, 0)


def answered_dialog(node: Kamailio, within: float = 10) -> str:
    """The Call-ID of the first confirmed dialog Kamailio holds (state 4), once there is one."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for dialog in node.rpc("dlg.list").get("result") or []:
            if dialog.get("state") == 4:
                return str(dialog["call-id"])
        time.sleep(0.1)
    raise AssertionError("no call was answered")


@switch_only
def test_a_cut_ends_the_call_through_kamailio_and_the_ledger_charges_what_was_used(settings: Settings) -> None:
    open_account(settings, 100 * CENT)
    with switch(settings) as node, ThreadPoolExecutor(1) as pool:
        calling = pool.submit(place_calls, node.sip_port, [PHONE], LOCAL, talk_seconds=15)
        call_id = answered_dialog(node)
        time.sleep(2)
        control = KamailioCallControl(node.rpc_url)
        assert control.cut_now(call_id, "operator") is True
        run = calling.result(timeout=30)
        after = settled(settings)
        assert control.cut_now(call_id, "operator") is False  # gone: nothing to cut, nothing raised
    assert run.returncode == 0, run.output
    call = run.calls[call_id]
    assert call.hung_up is None and call.cut_after is not None and 1.5 <= call.cut_after <= 3.5
    reason = [m for m in call.messages if m.startswith("BYE ")][0]
    assert "X-Ringledger-Reason: operator" in reason
    cdr = after.cdrs[call_id]
    assert cdr["status"] == "ended" and 2 <= cdr["billsec"] <= 3
    assert (after.balance, after.held) == (100 * CENT - cdr["billsec"] * CENT, 0)


@switch_only
def test_an_end_the_ledger_could_not_take_is_posted_again_until_it_is(settings: Settings) -> None:
    open_account(settings, 100 * CENT)
    port = free_tcp_port()
    with callee() as callee_port, kamailio(f"http://127.0.0.1:{port}", TOKEN, outbound=f"sip:127.0.0.1:{callee_port}",
                                           interim_every=1) as node, ThreadPoolExecutor(1) as pool:
        with server(settings, port=port):
            calling = pool.submit(place_calls, node.sip_port, [PHONE], LOCAL, talk_seconds=4)
            call_id = answered_dialog(node)
        run = calling.result(timeout=30)  # the caller hung up while the ledger was down
        assert books(settings).held > 0
        with server(settings, port=port):
            after = settled(settings, within=10)
    assert run.returncode == 0, run.output
    cdr = after.cdrs[call_id]
    assert cdr["status"] == "ended" and 3 <= cdr["billsec"] <= 5
    assert (after.balance, after.held) == (100 * CENT - cdr["billsec"] * CENT, 0)


def test_a_cut_with_kamailio_unreachable_is_logged_not_raised() -> None:
    assert KamailioCallControl(f"http://127.0.0.1:{free_tcp_port()}/RPC", timeout=1).cut_now("x", "operator") is False


def test_the_kamailio_rpc_url_setting_wires_the_cut_through_kamailio(tmp_path) -> None:
    url = f"http://127.0.0.1:{free_tcp_port()}/RPC"
    c = build(Settings(database_url=f"sqlite:///{tmp_path}/l.db", pin_key="11" * 32, kamailio_rpc_url=url))
    try:
        assert isinstance(c.ports.call_control, KamailioCallControl) and c.ports.call_control.rpc_url == url
    finally:
        c.close()
    with pytest.raises(ValueError, match="kamailio_rpc_url"):
        Settings(kamailio_rpc_url="127.0.0.1:5071")
