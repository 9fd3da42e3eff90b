"""FreeSWITCH: authorize at park, answers, heartbeats and hangups over the event socket, JSON CDRs.

Every test runs against a switch in the test that speaks the event socket
frame by frame (`tests/freeswitch_peer.py`), on SQLite and on PostgreSQL,
with the business clock pinned at 10:00 Beijing (peak: a local call costs
0.10 a minute, billed per minute).
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from eventsourcing.application import AggregateNotFoundError

from ringledger.container import Container
from services.callback import Callbacks
from services.fakes import RecordingCallControl
from services.ports import Origination
from tests.charging_support import LOCAL, PHONE, trial_balance
from tests.freeswitch_peer import Call, cdr_json, form_body, park, wire_frame
from tests.freeswitch_support import Rig, run


def test_a_funded_call_is_authorized_at_park_with_its_hangup_scheduled_at_the_grant(
        container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        commands = await rig.park(call)
        # connect, then the call id, the grant and the hangup scheduled at answer, then on to the bridge
        assert commands == ["connect",
                            f"api uuid_setvar {call.uuid} ringledger_call_id {call.uuid}",
                            f"api uuid_setvar {call.uuid} ringledger_granted_seconds 300",
                            f"api uuid_setvar {call.uuid} execute_on_answer sched_hangup +300 ALLOTTED_TIMEOUT",
                            f"api uuid_transfer {call.uuid} {LOCAL} XML ringledger_authorized",
                            "exit"]
        session = rig.session(call)
        assert session.status == "authorized" and session.max_seconds == 300 and session.hold == 5000
        assert rig.outbound.authorized == 1

    run(container, tmp_path, scenario)
    container.catch_up()
    assert [tuple(r) for r in container.views.query("SELECT switch, caller, callee FROM cdrs")] == [
        ("freeswitch", PHONE, LOCAL)]


def test_a_call_is_charged_once_for_its_billsec_when_hangup_events_and_cdrs_all_arrive_twice(
        container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        await rig.park(call)
        await rig.event(call, "channel_answer.txt")
        assert rig.session(call).status == "answered"
        # 125 s of talk: 3 started minutes at 0.10
        await rig.event(call, "channel_hangup_complete.txt", billsec=125)
        await rig.event(call, "channel_hangup_complete.txt", billsec=125)
        raw = call.cdr(125)
        first = await rig.post_cdr(raw)
        again = await rig.post_cdr(form_body(raw), "application/x-www-form-urlencoded")
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert first.json() == again.json() == {"call_id": call.call_id, "recorded": True, "spooled": False,
                                                "charged": "0.3000", "billsec": 125, "flags": ""}
        session = rig.session(call)
        assert session.status == "ended" and session.billsec == 125 and session.charged == 3000
        assert rig.balance() == 100_0000 - 3000

    run(container, tmp_path, scenario)
    assert trial_balance(container) == 0
    rows = container.views.query("SELECT status, billsec, charged, cause FROM cdrs")
    assert [tuple(r) for r in rows] == [("ended", 125, 3000, "normal_clearing")]


def test_a_cdr_alone_ends_the_call_in_both_encodings(container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        raw_call, form_call = rig.call(), rig.call()
        for call in (raw_call, form_call):
            await rig.park(call)
            await rig.event(call, "channel_answer.txt")
        # the raw JSON body (URL-encoded values inside), and the form field cdr=
        assert cdr_json(raw_call.cdr(61))["variables"]["sip_call_id"] == "4c1b7a2e%40127.0.0.1"  # type: ignore[index]
        one = await rig.post_cdr(raw_call.cdr(61))
        two = await rig.post_cdr(form_body(form_call.cdr(59)), "application/x-www-form-urlencoded")
        assert (one.status_code, one.json()["charged"]) == (200, "0.2000")
        assert (two.status_code, two.json()["charged"]) == (200, "0.1000")
        assert rig.balance() == 100_0000 - 3000

    run(container, tmp_path, scenario)


def test_a_refused_call_is_hung_up_and_costs_nothing(container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        stranger = rig.call(caller="+8613911112222")  # bound to no account
        commands = await rig.park(stranger)
        assert commands == ["connect",
                            f"sendmsg {stranger.uuid}\ncall-command: hangup\nhangup-cause: CALL_REJECTED"]
        assert rig.session(stranger).status == "refused"
        # its hangup and CDR change nothing and charge nothing
        await rig.post_cdr(stranger.cdr(0))
        assert rig.balance() == 100_0000
        assert rig.outbound.refused == 1

    run(container, tmp_path, scenario)
    assert trial_balance(container) == 0


def test_a_call_the_balance_cannot_start_is_hung_up(container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        commands = await rig.park(call)
        assert commands[-1] == f"sendmsg {call.uuid}\ncall-command: hangup\nhangup-cause: CALL_REJECTED"
        assert rig.session(call).answer["reason"] == "insufficient_funds"

    run(container, tmp_path, scenario, balance=500)  # 0.05: less than the first minute


def test_an_extended_slice_reschedules_the_hangup(container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        await rig.park(call)
        await rig.event(call, "channel_answer.txt")
        # 100 s in: 200 s of the grant left, more than the 60 s lead: nothing to do
        await rig.event(call, "session_heartbeat.txt", at_seconds=100)
        assert rig.switch.apis("sched_hangup") == []
        # 250 s in: the next slice is held, the grant is 600 s, the hangup moves to 350 s from now
        await rig.event(call, "session_heartbeat.txt", at_seconds=250)
        assert rig.switch.apis()[-3:] == [f"sched_del {call.uuid}",
                                          f"sched_hangup +350 {call.uuid} ALLOTTED_TIMEOUT",
                                          f"uuid_setvar {call.uuid} ringledger_granted_seconds 600"]
        assert rig.session(call).max_seconds == 600
        # the same heartbeat again (a retry) extends nothing and re-schedules nothing
        sent = len(rig.switch.commands)
        await rig.event(call, "session_heartbeat.txt", at_seconds=250)
        assert len(rig.switch.commands) == sent

    run(container, tmp_path, scenario)


def test_an_extension_by_the_grant_timer_or_an_interim_reschedules_the_hangup_at_once(
        container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        await rig.park(call)
        await rig.event(call, "channel_answer.txt")  # answered 2 s after the pinned clock
        # the ledger's own timer, 250 s into the call (no heartbeat came): the next slice is held and,
        # right after its commit, the hangup moves to the grant's new end, 350 s from now
        rig.clock.advance(252)
        await asyncio.to_thread(rig.charging.extend_grants, rig.clock(), [call.call_id])
        await rig.settle(lambda: len(rig.switch.apis("uuid_setvar")) == 1)
        assert rig.switch.apis()[-3:] == [f"sched_del {call.uuid}",
                                          f"sched_hangup +350 {call.uuid} ALLOTTED_TIMEOUT",
                                          f"uuid_setvar {call.uuid} ringledger_granted_seconds 600"]
        assert rig.session(call).max_seconds == 600
        # the timer again at the same instant extends nothing, and nothing is sent
        sent = len(rig.switch.commands)
        await asyncio.to_thread(rig.charging.extend_grants, rig.clock(), [call.call_id])
        # an interim reported outside the event socket (the HTTP hook), 550 s in: the same at once
        await asyncio.to_thread(rig.charging.interim, call.call_id, 550)
        await rig.settle(lambda: len(rig.switch.apis("uuid_setvar")) == 2)
        assert rig.switch.commands[sent:] == [f"api sched_del {call.uuid}",
                                              f"api sched_hangup +350 {call.uuid} ALLOTTED_TIMEOUT",
                                              f"api uuid_setvar {call.uuid} ringledger_granted_seconds 900"]
        # the heartbeat at the same second finds the switch already told: nothing more is sent
        sent = len(rig.switch.commands)
        await rig.event(call, "session_heartbeat.txt", at_seconds=550)
        await asyncio.sleep(0.1)
        assert len(rig.switch.commands) == sent
        await rig.event(call, "channel_hangup_complete.txt", billsec=560)
        assert rig.session(call).charged == 1_0000  # 560 s: ten started minutes at 0.10

    run(container, tmp_path, scenario)
    assert trial_balance(container) == 0


class FollowingCallControl(RecordingCallControl):
    """The next call control in the chain, one that also follows grants."""

    def __init__(self) -> None:
        super().__init__()
        self.extensions: list[tuple[str, int, int]] = []

    def extended(self, call_id: str, granted_seconds: int, elapsed_seconds: int) -> None:
        self.extensions.append((call_id, granted_seconds, elapsed_seconds))


def test_a_cut_or_an_extension_of_a_call_this_switch_does_not_carry_goes_to_the_next_call_control(
        container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        rig.client.fallback = following = FollowingCallControl()
        await asyncio.to_thread(rig.client.extended, "ast-elsewhere", 600, 250)
        await asyncio.to_thread(rig.client.cut, "ast-elsewhere", "insufficient_funds")
        await asyncio.sleep(0.1)
        assert following.extensions == [("ast-elsewhere", 600, 250)]
        assert following.cuts == [("ast-elsewhere", "insufficient_funds")]
        assert rig.switch.apis() == []  # nothing went to FreeSWITCH

    run(container, tmp_path, scenario)


def test_a_call_whose_money_runs_out_is_cut_with_uuid_kill(container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        await rig.park(call)
        assert call.granted == 120  # 0.20 pays two minutes
        await rig.event(call, "channel_answer.txt")
        await rig.event(call, "session_heartbeat.txt", at_seconds=120)  # the grant is used up, nothing more held
        await rig.settle(lambda: bool(rig.switch.apis("uuid_kill")))
        assert rig.switch.apis("uuid_kill") == [f"uuid_kill {call.uuid} ALLOTTED_TIMEOUT"]
        assert rig.session(call).cut_reason == "insufficient_funds"
        await rig.event(call, "channel_hangup_complete.txt", billsec=121)
        assert rig.balance() == 0

    run(container, tmp_path, scenario, balance=2000)
    assert trial_balance(container) == 0


def test_originate_carries_the_callback_leg_and_its_grant(container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        leg = Origination(call_id="cb-1-a", caller="+8613900139000", callee="95013", max_seconds=90)
        await asyncio.to_thread(rig.client.originate, leg)  # the Dialer port is called from a worker thread
        sent = [c for c in rig.switch.commands if c.startswith("bgapi originate")]
        assert len(sent) == 1
        uuid = rig.client.channels["cb-1-a"].uuid
        assert sent[0] == ("bgapi originate {origination_uuid=" + uuid + ",ringledger_call_id=cb-1-a,"
                           "ringledger_granted_seconds=90,origination_caller_id_number=95013,enable_heartbeat_events=30,"
                           "execute_on_answer='sched_hangup +90 ALLOTTED_TIMEOUT'}"
                           "sofia/gateway/default/+8613900139000 95013 XML default")
        conference = Origination(call_id="i7-2", caller="+8613800138000", callee="02161234567", max_seconds=300,
                                 conference_id="i7")
        await asyncio.to_thread(rig.client.originate, conference)
        last = [c for c in rig.switch.commands if c.startswith("bgapi originate")][-1]
        assert "ringledger_call_id=i7-2" in last and "origination_caller_id_number=+8613800138000" in last
        assert last.endswith("}sofia/gateway/default/02161234567 &conference(i7)")
        # a number that would break the dial string is refused, nothing is sent
        with pytest.raises(Exception, match="dial string"):
            await asyncio.to_thread(rig.client.originate, Origination("x", "1,2", "3", 60))
        # the leg's cut reaches the switch as uuid_kill; another switch's call goes to the fallback
        await asyncio.to_thread(rig.client.cut, "cb-1-a", "blacklisted")
        await rig.settle(lambda: bool(rig.switch.apis("uuid_kill")))
        assert rig.switch.apis("uuid_kill") == [f"uuid_kill {uuid} MANAGER_REQUEST"]
        rig.client.cut("rest-call-9", "insufficient_funds")
        assert rig.client.fallback.cuts == [("rest-call-9", "insufficient_funds")]  # type: ignore[union-attr]

    run(container, tmp_path, scenario)


# --- malformed input changes nothing -------------------------------------------------------


@pytest.mark.parametrize("body, content_type, message", [
    (b"", "application/json", "the body is empty"),
    (b"{not json", "application/json", "the CDR is not JSON"),
    (b'{"core-uuid": "x"}', "application/json", "the CDR has no variables object"),
    (b"field=1", "application/x-www-form-urlencoded", "a form body needs the field cdr"),
    (b'{"variables": {"billsec": "5"}}', "application/json", "the CDR's variables have no uuid"),
    (b'{"variables": {"uuid": "u", "billsec": "five"}}', "application/json", "variables.billsec is not a whole"),
    (b'{"variables": {"uuid": "u", "billsec": 5}}', "application/json", "a variable is a int, not a string"),
    # digits that are not ASCII, and numbers no call or clock can have: a 400, never a 500
    ('{"variables": {"uuid": "u", "billsec": "\u00b2"}}'.encode(), "application/json", "variables.billsec is not"),
    ('{"variables": {"uuid": "u", "billsec": "\u0661\u0662"}}'.encode(), "application/json",
     "variables.billsec is not"),
    (b'{"variables": {"uuid": "u", "billsec": "' + b"9" * 5000 + b'"}}', "application/json",
     "variables.billsec is not"),
    (b'{"variables": {"uuid": "u", "billsec": "30", "end_uepoch": "' + b"9" * 30 + b'"}}', "application/json",
     "variables.end_uepoch is not a time"),
    (b'{"variables": {"uuid": "u", "billsec": "30", "end_epoch": "99999999999999"}}', "application/json",
     "variables.end_epoch is not a time"),
])
def test_a_malformed_cdr_gets_a_clear_400_and_changes_nothing(container: Container, tmp_path: Path, body: bytes,
                                                              content_type: str, message: str) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        await rig.park(call)
        await rig.event(call, "channel_answer.txt")
        answer = await rig.post_cdr(body, content_type)
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_cdr" and answer.json()["message"].startswith(message)
        assert rig.session(call).status == "answered" and rig.spool.depth == 0

    run(container, tmp_path, scenario)


def test_a_cdr_without_a_switch_token_is_refused_before_it_is_read(container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        await rig.park(call)
        wrong = "Basic " + base64.b64encode(b"pbx1:guess").decode()
        for auth in ("", wrong):
            answer = await rig.post_cdr(call.cdr(30), auth=auth)
            assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
        assert rig.session(call).status == "authorized"

    run(container, tmp_path, scenario)


def test_a_cdr_of_a_channel_that_is_not_ours_is_acknowledged_and_records_nothing(
        container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        answer = await rig.post_cdr('{"variables": {"uuid": "b-leg-1", "billsec": "30"}}')
        assert answer.status_code == 200 and answer.json()["recorded"] is False
        assert rig.balance() == 100_0000

    run(container, tmp_path, scenario)


def test_a_malformed_connect_reply_closes_the_socket_and_records_nothing(
        container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        broken = b"Content-Type: command/reply\nUnique-ID: " + call.uuid.encode() + b"\nthis line has no colon\n\n"
        commands = await park(rig.outbound_port, call, channel_data=broken)
        assert commands == ["connect"]  # nothing was asked of the switch; the socket was closed
        no_callee = (f"Content-Type: command/reply\nUnique-ID: {call.uuid}\nCaller-Caller-ID-Number: 1000\n\n").encode()
        assert await park(rig.outbound_port, call, channel_data=no_callee) == ["connect"]
        spaced = (f"Content-Type: command/reply\nUnique-ID: {call.uuid}\nCaller-Caller-ID-Number: 1000\n"
                  "Caller-Destination-Number: 010%206234%205678\n\n").encode()  # would split a command
        assert await park(rig.outbound_port, call, channel_data=spaced) == ["connect"]
        assert rig.outbound.failed == 3 and rig.outbound.authorized == 0
        with pytest.raises(AggregateNotFoundError):  # no call session was ever recorded
            rig.session(call)

    run(container, tmp_path, scenario)


def test_a_malformed_event_frame_drops_the_connection_which_comes_back_and_goes_on(
        container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        await rig.park(call)
        # a Content-Length that is not a number: the client drops the connection and reconnects
        await rig.switch.push_raw(b"Content-Length: many\nContent-Type: text/event-plain\n\n")
        await rig.settle(lambda: rig.switch.auths == 2 and rig.client.connected)
        # the switch says goodbye (text/disconnect-notice): the client comes back again
        await rig.switch.disconnect_notice()
        await rig.settle(lambda: rig.switch.auths == 3 and rig.client.connected)
        assert rig.session(call).status == "authorized"  # nothing was recorded from the broken frame
        # an event without Event-Name inside a valid frame is refused the same way
        await rig.switch.push_raw(wire_frame("text/event-plain", b"Unique-ID: x\n\n"))
        await rig.settle(lambda: rig.switch.auths == 4 and rig.client.connected)
        await rig.event(call, "channel_answer.txt")  # and the next good event is reported
        assert rig.session(call).status == "answered"

    run(container, tmp_path, scenario)


def test_no_heartbeat_overtakes_an_answer_that_still_waits_in_the_spool(container: Container, tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        await rig.park(call)
        rig.reports.stop()  # the replayer is held back: the answer below stays spooled
        rig.spool.append("answer", {"call_id": call.call_id, "answered_at": call.answered.isoformat()})
        await rig.event(call, "channel_answer.txt")  # queued behind it, as everything is while the spool holds any
        await rig.event(call, "session_heartbeat.txt", at_seconds=250)
        assert rig.switch.apis("sched_hangup") == [] and rig.session(call).status == "authorized"
        rig.reports.start(interval=0.05)
        await rig.settle(lambda: rig.spool.depth == 0)
        assert rig.session(call).status == "answered" and rig.spool.rejected == 0
        await rig.event(call, "session_heartbeat.txt", at_seconds=251)
        assert rig.switch.apis("sched_hangup") == [f"sched_hangup +349 {call.uuid} ALLOTTED_TIMEOUT"]

    run(container, tmp_path, scenario)


def test_a_dial_template_without_the_number_is_refused_at_start() -> None:
    from pydantic import ValidationError

    from ringledger.config import Settings

    with pytest.raises(ValidationError, match="names {number}"):
        Settings(freeswitch_dial_template="sofia/gateway/default/1000")


def test_a_callback_leg_is_originated_through_the_switch_and_its_hangup_moved_once_bridged(
        container: Container, tmp_path: Path) -> None:
    subscriber, access = "+8613900139000", "95013"

    async def scenario(rig: Rig) -> None:
        (_, card, _), (_, refused_card, _) = container.ledger.issue_batch("callback", 2, 20_0000, "test",
                                                                          name="CB1", plan="demo")
        container.ledger.sell_cards([card, refused_card], "callback", 20_0000, "test")
        container.ledger.bind(card, subscriber, "test")
        callbacks = Callbacks(rig.charging, rig.client)  # the switch's client is the Dialer
        placed = await asyncio.to_thread(callbacks.place, "cb-1", "13900139000", access, "switch:pbx1")
        assert (placed["callback"], placed["leg_a"], placed["max_seconds"]) == (True, "cb-1-a", 90)
        (sent,) = [c for c in rig.switch.commands if c.startswith("bgapi originate")]
        uuid = rig.client.channels["cb-1-a"].uuid
        assert sent == ("bgapi originate {origination_uuid=" + uuid + ",ringledger_call_id=cb-1-a,"
                        "ringledger_granted_seconds=90,origination_caller_id_number=95013,enable_heartbeat_events=30,"
                        "execute_on_answer='sched_hangup +90 ALLOTTED_TIMEOUT'}"
                        f"sofia/gateway/default/{subscriber} {access} XML default")
        # leg A rings and is answered; its first heartbeat comes before the bridge (nothing to extend yet)
        leg_a = Call(caller=subscriber, callee=access, created=rig.clock.now, uuid=uuid, call_id="cb-1-a",
                     granted=90)
        await rig.event(leg_a, "channel_answer.txt")
        await rig.event(leg_a, "session_heartbeat.txt", at_seconds=30)
        assert rig.switch.apis("sched_hangup") == []
        # the subscriber keys the destination: both legs are held, leg A for 300 s in all; its next
        # heartbeat moves its hangup from 90 s to 300 s after its answer
        bridged = await asyncio.to_thread(callbacks.bridge, "cb-1", LOCAL, "switch:pbx1")
        assert (bridged["bridged"], bridged["leg_a_max_seconds"]) == (True, 300)
        await rig.event(leg_a, "session_heartbeat.txt", at_seconds=60)
        assert rig.switch.apis()[-3:] == [f"sched_del {uuid}", f"sched_hangup +240 {uuid} ALLOTTED_TIMEOUT",
                                          f"uuid_setvar {uuid} ringledger_granted_seconds 300"]
        # the switch will not place the next one: the callback says so and is closed, nothing held
        container.ledger.bind(refused_card, "+8613900139001", "test")
        rig.switch.bgapi_refusal = "-ERR NO_ROUTE_DESTINATION"
        failed = await asyncio.to_thread(callbacks.place, "cb-2", "13900139001", access, "switch:pbx1")
        assert (failed["callback"], failed["reason"]) == (False, "dial_failed")
        assert "cb-2-a" not in rig.client.channels

    run(container, tmp_path, scenario)
    assert trial_balance(container) == 0


def test_an_overlong_header_line_drops_the_connection_which_comes_back_and_goes_on(
        container: Container, tmp_path: Path) -> None:
    """A header line longer than the stream's limit is a broken frame like any other: the client must
    reconnect (it used to die for good, so no answer or hangup was followed again), and a park
    connection carrying one is closed without a call."""
    async def scenario(rig: Rig) -> None:
        call = rig.call()
        await rig.park(call)
        await rig.switch.push_raw(b"Content-Type: text/event-plain\nX-Pad: " + b"a" * 200_000 + b"\n\n")
        await rig.settle(lambda: rig.switch.auths == 2 and rig.client.connected)
        await rig.event(call, "channel_answer.txt")
        assert rig.session(call).status == "answered"
        other = rig.call()
        overlong = (b"Content-Type: command/reply\nUnique-ID: " + other.uuid.encode()
                    + b"\nX: " + b"b" * 200_000 + b"\n\n")
        assert await park(rig.outbound_port, other, channel_data=overlong) == ["connect"]
        with pytest.raises(AggregateNotFoundError):
            rig.session(other)

    run(container, tmp_path, scenario)
