"""The Asterisk adapter against a peer that speaks FastAGI and AMI frame by frame, on each store.

The peer replays the frames recorded from Asterisk 22 in
`tests/fixtures/asterisk/`: the AGI variable block (with its empty
`agi_accountcode: `), `200 result=` replies, the AMI banner
`Asterisk Call Manager/11.0.0`, login, and a call's events (`DialEnd`, then
two `Cdr` of one `Local` channel sharing a `Linkedid` before the `Hangup`,
times in Beijing local time). Business time is pinned at 10:00 Beijing on a
Monday (peak: a local call costs 0.10 a minute, billed in whole minutes).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.asterisk.adapter import AsteriskAdapter, AsteriskPorts
from adapters.spool import Spool
from ledger.charging import CallSession
from ledger.conferences import conference_id
from ledger.call_ids import call_id as session_id
from ringledger.container import Container, build
from services.callback import CallbackPolicy, Callbacks
from services.conferences import Conferences
from services.fakes import FixedClock, RecordingCallControl
from services.group_commit import GroupCommitter
from tests.asterisk_peer import FakeAmi, accept_all, agi_block, agi_session, ami_frames, variables_set
from tests.charging_support import ACCOUNT, PEAK, set_up, trial_balance
from tests.fault_support import Store, store  # noqa: F401  (fixture)

CALL = "ast-1795598906.1"
CHANNEL = "Local/01062345678@ringledger-00000000;2"
SAMPLES = Path(__file__).parents[2] / "adapters" / "asterisk"

Scenario = Callable[["Switch"], Awaitable[None]]


class Switch:
    """The adapter under test, its fake Asterisk, and the clock they share."""

    def __init__(self, container: Container, balance: int, *, ami: bool, spool: Any = None) -> None:
        self.container = container
        self.clock = FixedClock(PEAK)
        self.charging = set_up(container, balance, clock=self.clock)
        self.committer = GroupCommitter(container.ledger, deadline=2.0)
        self.fallback = RecordingCallControl()
        self.use_ami = ami
        self.peer = FakeAmi()
        self.adapter: AsteriskAdapter | None = None
        self.spool = spool

    async def start(self, callbacks: Any = None) -> None:
        ports = None
        if self.use_ami:
            port = await self.peer.start()
            ports = AsteriskPorts(f"ami://ringledger:s3cret@127.0.0.1:{port}", self.fallback)
            self.charging.call_control = ports.call_control
        self.adapter = AsteriskAdapter(self.charging, self.committer, zone="Asia/Shanghai", ports=ports,
                                       agi_port=0, callbacks=callbacks, spool=self.spool)
        await self.adapter.start()
        if self.use_ami:
            assert ports is not None and ports.ami.connected, "the adapter logged in to the AMI peer"

    async def stop(self) -> None:
        assert self.adapter is not None
        await self.adapter.stop()
        await self.peer.stop()
        self.committer.stop()

    async def agi(self, block: str | bytes, answer: Any = accept_all) -> tuple[dict[str, str], list[str], bool]:
        assert self.adapter is not None and self.adapter.agi_port
        commands, closed = await agi_session(self.adapter.agi_port, block, answer)
        return variables_set(commands), commands, closed

    async def events(self, *frames: str, settle: float = 0.3) -> None:
        await self.peer.push(*frames)
        await asyncio.sleep(settle)

    async def in_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    def account(self) -> Any:
        self.container.ledger.fresh()
        return self.container.ledger.account(ACCOUNT)

    def events_recorded(self) -> int:
        """The head of the event log (read again while an outage's dead pooled connections are dropped)."""
        for _ in range(30):
            try:
                return self.container.ledger.recorder.max_notification_id() or 0
            except Exception:
                continue
        return self.container.ledger.recorder.max_notification_id() or 0


def run(container: Container, scenario: Scenario, *, balance: int = 100_0000, ami: bool = True,
        spool: Any = None) -> Switch:
    switch = Switch(container, balance, ami=ami, spool=spool)

    async def main() -> None:
        await switch.start()
        try:
            await scenario(switch)
        finally:
            await switch.stop()

    asyncio.run(main())
    return switch


def frames() -> dict[str, Any]:
    """The recorded call's AMI events by name (the two Cdr in recorded order: `;2` marked, then `;1`)."""
    dial_end, cdr_2, cdr_1, hangup = ami_frames("ami_call.txt")
    return {"dial_end": dial_end, "cdr_2": cdr_2, "cdr_1": cdr_1, "hangup": hangup}


# --- a funded call ---------------------------------------------------------------------------------


def test_a_funded_call_is_authorized_with_its_limit_and_charged_once_for_its_billsec(container: Container) -> None:
    f = frames()

    async def scenario(s: Switch) -> None:
        variables, commands, _ = await s.agi(agi_block())
        assert variables["RL_AUTHORIZED"] == "1" and variables["RL_CALL_ID"] == CALL
        # One 300 s slice is held; TIMEOUT(absolute) stops the channel there, and L() (which cannot grow
        # once Dial runs) gets the longest call, since the AMI follows the grant.
        assert variables["TIMEOUT(absolute)"] == "300"
        assert variables["RL_LIMIT_MS"] == str(14_400 * 1000)
        assert variables["CDR(userfield)"] == f"rl:{CALL}"
        assert variables["RL_LOW_BALANCE"] == "0" and variables["RL_BALANCE"] == "100.0000"
        assert commands[-1] == 'SET VARIABLE RL_AUTHORIZED "1"'  # the yes comes last: a half answer is a no
        assert s.account().available == 100_0000 - 5000  # 0.50 held: 300 s at 0.10 a minute

        await s.events(f["dial_end"])  # answered: the limit is counted again from the answer
        (setvar,) = s.peer.sent("Setvar")
        assert setvar["Channel"] == [CHANNEL] and setvar["Variable"] == ["TIMEOUT(absolute)"]
        assert setvar["Value"] == ["300"]
        # Cdr before Hangup; the unmarked Cdr of the Local channel's other leg; the marked one again.
        await s.events(f["cdr_2"], f["cdr_1"], f["hangup"], f["cdr_2"], f["hangup"])

    s = run(container, scenario)
    account = s.account()
    assert account.balance == 100_0000 - 3000  # 125 s: three whole minutes at 0.10, once
    assert account.available == account.balance  # nothing held any more
    session = container.ledger.repository.get(session_id(CALL))
    assert isinstance(session, CallSession) and session.billsec == 125
    assert session.answered_at == PEAK
    assert s.adapter is not None and s.adapter.calls.charged == 1
    assert trial_balance(container) == 0


def test_events_out_of_order_still_charge_the_call_once(container: Container) -> None:
    f = frames()

    async def scenario(s: Switch) -> None:
        await s.agi(agi_block())
        # The Hangup first, the other leg's Cdr, then the call's own Cdr twice; no DialEnd at all.
        await s.events(f["hangup"], f["cdr_1"], f["cdr_2"], f["cdr_2"])

    s = run(container, scenario)
    # Without an answer report the call is rated from its CDR's end time less its billsec.
    assert s.account().balance == 100_0000 - 3000
    assert s.account().available == s.account().balance


def test_without_ami_the_dial_limit_is_the_grant_itself(container: Container) -> None:
    async def scenario(s: Switch) -> None:
        variables, _, _ = await s.agi(agi_block())
        # Nobody could lengthen the call: L() stops it at the end of the slice held.
        assert variables["RL_LIMIT_MS"] == "300000" and variables["TIMEOUT(absolute)"] == "300"

    run(container, scenario, ami=False)


def test_the_end_step_charges_answered_time_and_gives_the_balance_to_announce(container: Container) -> None:
    f = frames()

    async def scenario(s: Switch) -> None:
        await s.agi(agi_block())
        await s.events(f["dial_end"])
        s.clock.advance(130)
        # After Dial returns the dialplan runs AGI(…/end,${ANSWEREDTIME},${DIALSTATUS}).
        variables, _, _ = await s.agi(agi_block(network_script="end", arg_1="125", arg_2="ANSWER"))
        assert variables["RL_CHARGED"] == "0.3000"
        assert (variables["RL_BALANCE"], variables["RL_BALANCE_YUAN"], variables["RL_BALANCE_FEN"]) == \
            ("99.7000", "99", "70")
        await s.events(f["cdr_2"], f["hangup"])  # the CDR that follows changes nothing

    s = run(container, scenario)
    assert s.account().balance == 100_0000 - 3000


# --- refusals and the store down -------------------------------------------------------------------


def test_a_refused_call_sets_the_refusal_so_the_dialplan_does_not_dial_and_costs_nothing(
        container: Container) -> None:
    f = frames()

    async def scenario(s: Switch) -> None:
        variables, commands, _ = await s.agi(agi_block())
        assert variables["RL_AUTHORIZED"] == "0" and variables["RL_REASON"] == "insufficient_funds"
        assert "TIMEOUT(absolute)" not in variables and "CDR(userfield)" not in variables
        assert any(c.startswith('VERBOSE "ringledger: insufficient_funds') for c in commands)
        unmarked = f["cdr_2"].replace(f"UserField: rl:{CALL}", "UserField: ")
        await s.events(unmarked, f["hangup"])

    s = run(container, scenario, balance=0)
    assert (s.account().balance, s.account().available) == (0, 0)
    assert s.adapter is not None and s.adapter.calls.charged == 0
    assert trial_balance(container) == 0


def test_with_the_store_down_authorize_answers_a_refusal_in_time(store: Store) -> None:  # noqa: F811
    container = build(store.settings)
    try:
        async def scenario(s: Switch) -> None:
            before = s.events_recorded()
            with store.outage():
                started = time.monotonic()
                variables, _, _ = await s.agi(agi_block())
                elapsed = time.monotonic() - started
            assert variables["RL_AUTHORIZED"] == "0" and variables["RL_REASON"] == "unavailable"
            assert elapsed < 6, elapsed
            assert s.events_recorded() == before  # nothing held, nothing recorded

        s = run(container, scenario)
        assert s.account().available == 100_0000
    finally:
        container.close()


#: billsec of each call, and what it costs at 0.10 a started minute
BILLSEC = [125, 30, 61, 180, 59]
COST = [3000, 1000, 2000, 3000, 1000]


def call_frames(n: int) -> tuple[str, str, dict[str, str]]:
    """Call `n` of several: its call id, its AGI block and its AMI events (its own channel and unique id,
    a CDR of BILLSEC[n] seconds ending that long after the answer)."""
    uniqueid, channel = f"1795598906.{10 + n}", f"Local/0106234567{n}@ringledger-0000001{n};2"
    ended = (PEAK + timedelta(seconds=BILLSEC[n])).astimezone(ZoneInfo("Asia/Shanghai"))
    out = {}
    for name, frame in frames().items():
        frame = frame.replace("1795598906.1\r\n", f"{uniqueid}\r\n").replace(CHANNEL, channel)
        frame = frame.replace("BillableSeconds: 125", f"BillableSeconds: {BILLSEC[n]}")
        out[name] = frame.replace("EndTime: 2024-05-06 10:02:10", f"EndTime: {ended:%Y-%m-%d %H:%M:%S}")
    return f"ast-{uniqueid}", agi_block(uniqueid=uniqueid, channel=channel), out


async def until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def test_ends_the_store_cannot_take_are_spooled_and_charged_once_in_order_across_a_restart(
        store: Store, tmp_path: Path) -> None:  # noqa: F811
    container = build(store.settings)
    calls = [call_frames(n) for n in range(len(BILLSEC))]
    spool_dir = tmp_path / "asterisk-spool"
    try:
        async def scenario(s: Switch) -> None:
            assert s.adapter is not None
            for _, block, f in calls:
                variables, _, _ = await s.agi(block)
                assert variables["RL_AUTHORIZED"] == "1"
                await s.events(f["dial_end"], settle=0.05)
            await s.events(calls[0][2]["cdr_2"], calls[0][2]["hangup"])  # the store is up: charged at once
            assert s.adapter.calls.charged == 1

            outage = store.outage()
            outage.__enter__()
            try:
                # calls 1-3 end while the store is down: each end is on disk once `on_cdr` is done
                for n in (1, 2, 3):
                    await s.events(calls[n][2]["cdr_2"], calls[n][2]["hangup"], settle=0.05)
                spool = s.adapter.spool
                assert spool is not None
                await until(lambda: spool.depth == 3)
                await s.events(calls[1][2]["cdr_2"])  # a CDR repeated meanwhile is not spooled again
                assert (spool.depth, s.adapter.calls.spooled, s.adapter.calls.not_recorded) == (3, 3, 0)

                # the adapter restarts while the store is still down: the spool is read back from disk
                port = s.peer.server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
                await s.adapter.stop()
                s.peer.writers.clear()
                s.peer.logged_in.clear()
                kept = Spool(spool_dir)
                assert sorted(r.payload["call_id"] for r in kept.pending()) == sorted(c[0] for c in calls[1:4])
                ports = AsteriskPorts(f"ami://ringledger:s3cret@127.0.0.1:{port}", s.fallback)
                s.charging.call_control = ports.call_control
                s.adapter = AsteriskAdapter(s.charging, s.committer, zone="Asia/Shanghai", ports=ports,
                                            agi_port=0, spool=kept, replay_seconds=0.05)
                await s.adapter.start()
                await asyncio.wait_for(s.peer.logged_in.wait(), 5)
                # call 4 ends after the restart: queued behind what waits, without asking the store
                await s.events(calls[4][2]["cdr_2"], calls[4][2]["hangup"])
                assert [r.payload["call_id"] for r in kept.pending()][-1] == calls[4][0]
                await asyncio.sleep(0.3)
                assert kept.depth == 4  # the store is still down: nothing delivered, nothing lost
            finally:
                outage.__exit__(None, None, None)

            # the store is back: the spool drains by itself, oldest first
            await until(lambda: kept.depth == 0)
            assert kept.rejected == 0 and s.adapter.calls.charged == 4
            await s.events(calls[2][2]["cdr_2"])  # a CDR repeated after the replay charges nothing more
            assert s.account().balance == s.account().available == 100_0000 - sum(COST)
            text = s.adapter.health()
            assert (text["asterisk_spool_depth"], text["asterisk_ends_not_recorded"]) == (0.0, 0.0)

        s = run(container, scenario, spool=Spool(spool_dir))
        for n, (call_id, _, _) in enumerate(calls):
            session = container.ledger.repository.get(session_id(call_id))
            assert isinstance(session, CallSession)
            assert (session.status, session.billsec, session.charged) == ("ended", BILLSEC[n], COST[n]), n
        container.catch_up()
        revenue = container.views.query("SELECT account, balance FROM gl_balances")
        assert sum(int(b) for a, b in revenue if a.startswith("house:revenue")) == sum(COST)  # booked once each
        assert trial_balance(container) == 0
    finally:
        container.close()


def test_an_end_that_can_be_neither_recorded_nor_spooled_is_counted_and_taken_when_repeated(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    container = build(store.settings)
    call_id, block, f = call_frames(1)
    try:
        async def scenario(s: Switch) -> None:
            assert s.adapter is not None and s.adapter.spool is not None
            await s.agi(block)
            await s.events(f["dial_end"])
            with store.outage(), monkeypatch.context() as m:
                m.setattr(s.adapter.spool, "append", _disk_full)
                await s.events(f["cdr_2"], f["hangup"])
                await until(lambda: s.adapter is not None and s.adapter.calls.not_recorded == 1)
            assert s.adapter.spool.depth == 0
            assert s.adapter.health()["asterisk_ends_not_recorded"] == 1.0
            await s.events(f["cdr_2"])  # the same CDR again, the store back: charged once
            await until(lambda: s.adapter is not None and s.adapter.calls.charged == 1)

        s = run(container, scenario, spool=Spool(tmp_path / "spool"))
        assert s.account().balance == s.account().available == 100_0000 - COST[1]
        assert trial_balance(container) == 0
    finally:
        container.close()


def test_a_spooled_end_the_ledger_refuses_is_set_aside_and_the_others_are_charged(
        container: Container, tmp_path: Path) -> None:
    call_id, block, f = call_frames(2)
    spool = Spool(tmp_path / "spool")
    # left on disk by an earlier process: a record that is no Asterisk end, and the end of a call never authorized
    spool.append("answer", {"call_id": call_id})
    spool.append("end", {"call_id": "ast-unknown.9", "billsec": 30, "ended_at": None, "cause": "answered"})

    async def scenario(s: Switch) -> None:
        assert s.adapter is not None
        await until(lambda: spool.rejected == 2)  # both set aside at start: neither blocks what follows
        await s.agi(block)
        await s.events(f["dial_end"])
        await asyncio.to_thread(spool.append, "end", {"call_id": call_id, "billsec": BILLSEC[2],
                                                      "ended_at": None, "cause": "answered"})
        await until(lambda: spool.depth == 0)
        assert s.adapter.calls.charged == 1 and spool.rejected == 2

    s = run(container, scenario, spool=spool)
    assert s.account().balance == s.account().available == 100_0000 - COST[2]
    rejected = [json.loads(line) for line in (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["payload"]["call_id"]) for r in rejected] == [("answer", call_id), ("end", "ast-unknown.9")]
    assert trial_balance(container) == 0


def _disk_full(kind: str, payload: dict[str, object]) -> int:
    raise OSError(28, "No space left on device")


def test_the_sample_dialplan_dials_only_on_yes_and_refuses_when_the_agi_server_is_down() -> None:
    dialplan = (SAMPLES / "extensions.conf").read_text()
    lines = [line.split(";", 1)[0].strip() for line in dialplan.splitlines()]
    assert "RINGLEDGER=agi://127.0.0.1:4573" in lines
    authorize = next(i for i, line in enumerate(lines) if "AGI(${RINGLEDGER}/authorize)" in line)
    after = lines[authorize + 1 :]
    dial = next(i for i, line in enumerate(after) if "Dial(" in line)
    checks = after[:dial]
    # AGISTATUS=FAILURE (server down) and anything but RL_AUTHORIZED=1 branch away before Dial.
    assert any("AGISTATUS" in c and "FAILURE" in c and "GotoIf" in c for c in checks), checks
    assert any('"${RL_AUTHORIZED}" != "1"' in c and "GotoIf" in c for c in checks), checks
    assert "L(${RL_LIMIT_MS}:${RL_WARN_MS})" in after[dial]


# --- cuts and limits that follow the grant ---------------------------------------------------------


def test_early_cutoff_sends_the_ami_hangup_for_the_calls_channel(container: Container) -> None:
    f = frames()

    async def scenario(s: Switch) -> None:
        variables, _, _ = await s.agi(agi_block())
        assert variables["TIMEOUT(absolute)"] == "60"  # 0.15 pays one minute at 0.10
        await s.events(f["dial_end"])
        s.clock.advance(60)
        # The ledger's grant timer: no next minute can be held, so the call is cut.
        await s.in_thread(s.charging.extend_grants, s.clock(), [CALL])
        await asyncio.sleep(0.1)
        (hangup,) = s.peer.sent("Hangup")
        assert hangup["Channel"] == [CHANNEL] and hangup["Cause"] == ["16"]
        assert s.fallback.cuts == []

    run(container, scenario, balance=1500)


def test_an_extended_slice_moves_the_channels_timeout(container: Container) -> None:
    f = frames()

    async def scenario(s: Switch) -> None:
        await s.agi(agi_block())
        await s.events(f["dial_end"])
        s.clock.advance(250)  # 50 s left of the 300 s slice: within the 60 s lead
        await s.in_thread(s.charging.extend_grants, s.clock(), [CALL])
        await asyncio.sleep(0.1)
        answered, extended = s.peer.sent("Setvar")
        assert answered["Value"] == ["300"]
        # The grant now runs to 600 s after the answer, 350 s from now.
        assert extended["Channel"] == [CHANNEL] and extended["Variable"] == ["TIMEOUT(absolute)"]
        assert extended["Value"] == ["350"]
        assert s.peer.sent("Hangup") == []

    s = run(container, scenario)
    assert s.account().available == 100_0000 - 1_0000  # 600 s held: 1.00


def test_a_cut_for_a_call_on_no_known_channel_goes_to_the_next_call_control(container: Container) -> None:
    async def scenario(s: Switch) -> None:
        assert s.adapter is not None and s.adapter.ports is not None
        await s.in_thread(s.adapter.ports.call_control.cut, "fs-elsewhere", "insufficient_funds")
        assert s.peer.sent("Hangup") == []
        assert s.fallback.cuts == [("fs-elsewhere", "insufficient_funds")]

    run(container, scenario)


# --- the callback's legs ---------------------------------------------------------------------------


def test_originate_carries_the_callback_leg_and_its_channel_can_then_be_cut(container: Container) -> None:
    subscriber = "+8613900139000"

    async def scenario(s: Switch) -> None:
        ((_, card, _),) = container.ledger.issue_batch("callback", 1, 20_0000, "test", name="CB", plan="demo")
        container.ledger.sell_cards([card], "callback", 20_0000, "test")
        container.ledger.bind(card, subscriber, "test")
        assert s.adapter is not None and s.adapter.ports is not None
        callbacks = Callbacks(s.charging, s.adapter.ports.dialer, CallbackPolicy(90))
        assert s.adapter.agi is not None
        s.adapter.agi.callbacks = callbacks
        # The subscriber rings the access number 95013: the dialplan hangs up unanswered on RL_CALLBACK=1.
        variables, _, _ = await s.agi(agi_block(network_script="callback", callerid="13900139000",
                                                extension="95013", uniqueid="1795598999.7"))
        assert variables["RL_CALLBACK"] == "1"
        (originate,) = s.peer.sent("Originate")
        assert originate["Channel"] == ["Local/8613900139000@ringledger-out"]
        assert originate["Context"] == ["ringledger-callback"] and originate["Exten"] == ["95013"]
        assert originate["Async"] == ["true"]
        assert set(originate["Variable"]) == {"RL_CALL_ID=ast-1795598999.7-a", "RL_MAX_SECONDS=90",
                                              "TIMEOUT(absolute)=90"}
        # Asterisk reports the leg answered on the Originate's own ActionID: its channel is now known.
        action_id = originate["ActionID"][0]
        await s.events(f"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: {action_id}\r\n"
                       "Response: Success\r\nChannel: Local/8613900139000@ringledger-out-00000003;1\r\n"
                       "Context: ringledger-callback\r\nExten: 95013\r\nReason: 4\r\n"
                       "Uniqueid: 1795599000.9\r\nCallerIDNum: 95013\r\n\r\n")
        await s.in_thread(s.adapter.ports.call_control.cut, "ast-1795598999.7-a", "insufficient_funds")
        (hangup,) = s.peer.sent("Hangup")
        assert hangup["Channel"] == ["Local/8613900139000@ringledger-out-00000003;1"]

    run(container, scenario)


def test_the_callback_ivr_bridges_the_keyed_destination_and_closes_with_both_legs(container: Container) -> None:
    subscriber, callback = "+8613900139000", "ast-1795598999.7"

    async def scenario(s: Switch) -> None:
        ((_, card, _),) = container.ledger.issue_batch("callback", 1, 20_0000, "test", name="CB", plan="demo")
        container.ledger.sell_cards([card], "callback", 20_0000, "test")
        container.ledger.bind(card, subscriber, "test")
        assert s.adapter is not None and s.adapter.ports is not None and s.adapter.agi is not None
        s.adapter.agi.callbacks = Callbacks(s.charging, s.adapter.ports.dialer, CallbackPolicy(90))
        await s.agi(agi_block(network_script="callback", callerid="13900139000", extension="95013",
                              uniqueid="1795598999.7"))
        # Leg A runs the callback context; the subscriber keys a Beijing number.
        leg_a = agi_block(network_script="destination", callerid="95013", extension="95013",
                          uniqueid="1795599000.9", arg_1=callback, arg_2="01062345678")
        # First a number that cannot be called: a no, and the subscriber may key another.
        variables, _, _ = await s.agi(leg_a.replace("01062345678", "0"))
        assert variables["RL_BRIDGED"] == "0" and variables["RL_REASON"] == "no_rate"
        variables, _, _ = await s.agi(leg_a)
        assert variables["RL_BRIDGED"] == "1" and variables["RL_LEG_B"] == f"{callback}-b"
        limit = int(variables["RL_LIMIT_MS"])
        assert limit > 0 and int(variables["RL_WARN_MS"]) <= limit
        # Leg B talked 125 s; leg A rang, waited for the keys and talked: 155 s.
        variables, _, _ = await s.agi(agi_block(network_script="callback_end", uniqueid="1795599000.9",
                                                arg_1=callback, arg_2="155", arg_3="125"))
        # Peak: leg A (a mobile) 3 min at 0.20, leg B (local) 3 min at 0.10.
        assert variables["RL_CHARGED"] == "0.9000"
        assert (variables["RL_BALANCE"], variables["RL_BALANCE_YUAN"], variables["RL_BALANCE_FEN"]) == \
            ("19.1000", "19", "10")
        # The balance step gives the same to announce on a later call.
        variables, _, _ = await s.agi(agi_block(network_script="balance", arg_1="13900139000"))
        assert variables["RL_BALANCE"] == "19.1000" and variables["RL_LOW_BALANCE"] == "0"

    run(container, scenario)
    assert trial_balance(container) == 0


def test_a_conference_is_started_by_phone_and_its_originated_leg_authorized_answered_and_joined(
        container: Container) -> None:
    async def scenario(s: Switch) -> None:
        assert s.adapter is not None and s.adapter.ports is not None and s.adapter.agi is not None
        ports = s.adapter.ports
        conferences = Conferences(container.ledger, ports.dialer, ports.call_control, s.clock)

        def conference(cid: str) -> Any:
            container.ledger.fresh()
            return container.ledger.repository.get(conference_id(cid))

        s.adapter.agi.conferences = s.adapter.calls.conferences = conferences
        # The initiator (bound to the funded account) rings the conference access number.
        variables, _, _ = await s.agi(agi_block(network_script="conference", extension="95014",
                                                uniqueid="1795598999.8"))
        assert variables["RL_CONFERENCE"] == "1"
        cid = variables["RL_CONFERENCE_ID"]
        (originate,) = s.peer.sent("Originate")
        leg = f"{cid}-1"
        assert originate["Channel"] == ["Local/8613800138000@ringledger-out"]
        assert originate["Context"] == ["ringledger-conference"] and originate["Exten"] == ["s"]
        assert f"RL_CALL_ID={leg}" in originate["Variable"] and f"RL_CONFERENCE_ID={cid}" in originate["Variable"]
        # The leg is up and runs the conference context: authorized under its own call id, answered at once.
        variables, _, _ = await s.agi(agi_block(extension="s", uniqueid="1795599000.9",
                                                arg_1="conference", arg_2="", arg_3=leg, arg_4=cid,
                                                arg_5="+8613800138000"))
        assert variables["RL_AUTHORIZED"] == "1" and variables["CDR(userfield)"] == f"rl:{leg}"
        session = container.ledger.repository.get(session_id(leg))
        assert session.status == "answered" and session.service == "conference"
        assert conference(cid).legs[leg]["status"] == "placed"
        await s.agi(agi_block(network_script="leg", uniqueid="1795599000.9", arg_1="joined", arg_2=cid, arg_3=leg))
        assert conference(cid).legs[leg]["status"] == "joined"
        # The initiator keys a participant; Asterisk cannot ring it, and says so on the Originate's ActionID.
        await s.in_thread(conferences.invite, cid, "02161234567", "switch:asterisk")
        invited = s.peer.sent("Originate")[-1]
        (leg_2,) = [v.split("=", 1)[1] for v in invited["Variable"] if v.startswith("RL_CALL_ID=")]
        assert invited["Channel"] == ["Local/862161234567@ringledger-out"]
        await s.events(f"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: {invited['ActionID'][0]}\r\n"
                       "Response: Failure\r\nChannel: Local/862161234567@ringledger-out\r\nContext: "
                       "ringledger-conference\r\nExten: s\r\nReason: 3\r\nUniqueid: <null>\r\n\r\n")
        assert conference(cid).legs[leg_2]["status"] == "failed"

    run(container, scenario)


# --- the protocol's own answers and bad frames -----------------------------------------------------


@pytest.mark.parametrize("reply", [["HANGUP", "511 Command Not Permitted on a dead channel or intercept routine"],
                                   ["520-Invalid command syntax.  Proper usage follows:",
                                    "Usage: SET VARIABLE <variablename> <value>", "520 End of proper usage."]])
def test_a_channel_that_cannot_take_the_answer_gets_its_hold_back(container: Container, reply: list[str]) -> None:
    def answer(command: str) -> list[str]:
        return reply if command.startswith("SET VARIABLE CDR(userfield)") else accept_all(command)

    async def scenario(s: Switch) -> None:
        variables, _, closed = await s.agi(agi_block(), answer)
        assert "RL_AUTHORIZED" not in variables and closed  # never a yes: the dialplan does not dial

    s = run(container, scenario)
    assert s.account().available == s.account().balance == 100_0000
    session = container.ledger.repository.get(session_id(CALL))
    assert session.billsec == 0


def test_an_unknown_command_answer_510_ends_the_session_without_a_yes(container: Container) -> None:
    def answer(command: str) -> list[str]:
        return ["510 Invalid or unknown command"] if command.startswith("VERBOSE") else accept_all(command)

    async def scenario(s: Switch) -> None:
        variables, _, closed = await s.agi(agi_block(network_script="no-such-script"), answer)
        assert variables == {} and closed

    s = run(container, scenario)
    assert s.account().available == 100_0000


@pytest.mark.parametrize("block", [
    b"GET / HTTP/1.1\nHost: x\n\n",  # garbage
    b"agi_network: yes\nagi_channel: " + b"x" * 5000 + b"\n\n",  # an overlong line
    b"agi_network: yes\nagi_uniqueid: 1\x00\n\n",  # a control character
    b"\n",  # a blank line and nothing before it
], ids=["garbage", "overlong", "control", "empty"])
def test_a_frame_that_is_not_fastagi_is_closed_and_changes_nothing(container: Container, block: bytes) -> None:
    async def scenario(s: Switch) -> None:
        before = s.events_recorded()
        variables, commands, closed = await s.agi(block)
        assert closed and commands == []
        assert s.events_recorded() == before
        assert s.adapter is not None and s.adapter.agi is not None and s.adapter.agi.bad_frames == 1

    run(container, scenario, ami=False)


def test_a_request_missing_a_variable_is_refused_with_a_clear_reason(container: Container) -> None:
    block = agi_block().replace("agi_uniqueid: 1795598906.1\n", "")
    assert "agi_uniqueid" not in block

    async def scenario(s: Switch) -> None:
        before = s.events_recorded()
        variables, commands, _ = await s.agi(block)
        assert variables["RL_AUTHORIZED"] == "0" and variables["RL_REASON"] == "invalid_request"
        assert any("agi_uniqueid" in c for c in commands if c.startswith("VERBOSE"))
        assert s.events_recorded() == before

    run(container, scenario, ami=False)


@pytest.mark.parametrize("change", [("BillableSeconds: 125\r\n", ""),
                                    ("BillableSeconds: 125", "BillableSeconds: 12x"),
                                    ("EndTime: 2024-05-06 10:02:10", "EndTime: 06/05/2024 10:02")],
                         ids=["no-billsec", "bad-billsec", "bad-time"])
def test_a_malformed_cdr_is_counted_and_charges_nothing(container: Container, change: tuple[str, str]) -> None:
    f = frames()

    async def scenario(s: Switch) -> None:
        await s.agi(agi_block())
        await s.events("Garbage without a colon\r\n\r\n", f["cdr_2"].replace(*change))
        assert s.adapter is not None and s.adapter.calls.bad_frames == 1

    s = run(container, scenario)
    assert s.account().balance == 100_0000 and s.account().available == 100_0000 - 5000  # still held


@pytest.mark.parametrize("call_id", ['leg"1', "leg\\1"], ids=["quote", "backslash"])
def test_a_leg_call_id_agi_cannot_quote_is_refused_before_anything_is_held(container: Container,
                                                                          call_id: str) -> None:
    """The dialplan's third argument names an originated leg's call id; one that SET VARIABLE cannot carry
    is refused invalid_request, and no hold is left behind for the hold timer to find."""
    async def scenario(s: Switch) -> None:
        before = s.events_recorded()
        variables, _, closed = await s.agi(agi_block(arg_1="direct", arg_2="", arg_3=call_id))
        assert variables["RL_AUTHORIZED"] == "0" and variables["RL_REASON"] == "invalid_request" and closed
        assert s.events_recorded() == before

    s = run(container, scenario, ami=False)
    assert s.account().available == s.account().balance == 100_0000


def test_a_peer_repeating_hangup_without_end_is_closed_at_once_and_leaves_no_hold(container: Container) -> None:
    """Asterisk sends HANGUP once; a peer that keeps sending it (never a reply) must not hold the
    session, and the hold taken at authorize goes back."""
    def answer(command: str) -> list[str]:
        return ["HANGUP"] * 5000 if command.startswith("SET VARIABLE CDR(userfield)") else accept_all(command)

    async def scenario(s: Switch) -> None:
        started = time.monotonic()
        variables, _, closed = await s.agi(agi_block(), answer)
        assert closed and "RL_AUTHORIZED" not in variables
        assert time.monotonic() - started < 3, "the session waited for a reply that never comes"
        assert s.adapter is not None and s.adapter.agi is not None and s.adapter.agi.bad_frames == 1

    s = run(container, scenario, ami=False)
    assert s.account().available == s.account().balance == 100_0000
