"""The inbound event-socket client: FreeSWITCH's answers, heartbeats and hangups in; cuts, hangup
schedules and originates out. It is the `CallControl` and the `Dialer` of a FreeSWITCH switch.

It connects to the switch (`auth <password>`), subscribes to
`CHANNEL_ANSWER SESSION_HEARTBEAT CHANNEL_HANGUP_COMPLETE`,
and follows only the channels that carry `ringledger_call_id` (set at park
by the outbound server, or by `originate`). It reconnects by itself.

Guarantees:

* the events of one call are reported in the order they came (one call's
  answer is recorded before its end); different calls are reported at once;
* an answer or an end that the ledger cannot take now is spooled
  (`Reports`), never dropped;
* each slice the ledger grants beyond what the switch was told re-schedules
  the hangup: `sched_del <uuid>` then `sched_hangup +<seconds left> <uuid>`
  (FreeSWITCH keeps every task scheduled for a channel until it fires or is
  deleted, so the old one goes first); the switch is never told more than
  the ledger granted;
* it is a `GrantFollower`: a grant the ledger extended by itself (its grant
  timer, an interim reported over HTTP) is re-scheduled at once, after the
  commit that recorded it, the same way (`sched_del`, then `sched_hangup
  +<granted - elapsed>`), in order with that call's events; a grant no
  larger than what the switch was already told changes nothing;
* a cut the ledger decided (`CallControl.cut`, after its commit) is sent as
  `uuid_kill <uuid> <cause>`; a cut or an extension of a call id this switch
  does not carry goes to the `fallback` call control.
"""

from __future__ import annotations

import asyncio
import uuid as uuids
from collections import deque
from dataclasses import dataclass
from typing import Any

import structlog

from adapters.freeswitch.esl import Frame, FrameError, command, read_frame
from adapters.freeswitch.reports import Reports, instant
from adapters.spool import Spooled
from ledger.errors import LedgerError
from services.ports import CallControl, GrantFollower, Origination
from services.store_errors import is_store_unavailable

log = structlog.get_logger("ringledger.freeswitch")

EVENTS = "CHANNEL_ANSWER SESSION_HEARTBEAT CHANNEL_HANGUP_COMPLETE"
CALL_VAR = "ringledger_call_id"
GRANT_VAR = "ringledger_granted_seconds"
#: The name under which a grant to follow is queued with a call's events.
GRANT = "grant"
#: The hangup cause sent with a cut, by the ledger's reason.
CUT_CAUSES = {"insufficient_funds": "ALLOTTED_TIMEOUT", "max_call_seconds": "ALLOTTED_TIMEOUT"}


class SwitchError(Exception):
    """The switch refused a command (`-ERR …`), or is not connected."""


@dataclass
class Channel:
    uuid: str
    granted: int  # seconds the switch was told (counted from the answer)
    answered_us: int = 0


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _reply(frame: Frame) -> str:
    return frame.reply.strip()


#: While the switch stays unreachable, its connection failure is logged at most this often.
LOG_EVERY_SECONDS = 60.0


class EventSocketClient:
    def __init__(self, reports: Reports | None, host: str, port: int, password: str, *,
                 dial_template: str = "sofia/gateway/default/{number}", context: str = "default",
                 fallback: CallControl | None = None, reconnect_seconds: float = 1.0,
                 command_timeout: float = 5.0, heartbeat_seconds: int = 30) -> None:
        #: Set before `start` when the charging it reports to is built after the client (composition).
        self.reports = reports
        self.host, self.port, self.password = host, port, password
        self.dial_template = dial_template
        self.context = context
        self.fallback = fallback
        self.reconnect_seconds = reconnect_seconds
        self.command_timeout = command_timeout
        #: Heartbeats of an originated leg: each is an interim report that may extend (and re-schedule) it.
        self.heartbeat_seconds = heartbeat_seconds
        self.connected = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.channels: dict[str, Channel] = {}  # call id → channel
        self.events_handled = 0
        self._writer: asyncio.StreamWriter | None = None
        self._waiting: deque[asyncio.Future[Frame]] = deque()
        self._send_lock = asyncio.Lock()
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    # --- connection -----------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="freeswitch-inbound")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
        tails = list(self._tails.values())
        if tails:  # the reports under way finish (each handles its own errors)
            await asyncio.wait(tails)

    async def wait_connected(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def _run(self) -> None:
        failures, reported = 0, 0.0  # tries in a row that failed; when that was last logged (monotonic)
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except (TimeoutError, OSError, EOFError, FrameError, SwitchError) as exc:
                failures = 0 if self._was_connected else failures + 1
                now = asyncio.get_running_loop().time()
                # The first failure is logged, then one line a minute while the switch stays away,
                # not one a second (the reconnect stays fast).
                if failures <= 1 or now - reported >= LOG_EVERY_SECONDS:
                    log.warning("freeswitch_connection_lost", error=f"{type(exc).__name__}: {exc}"[:200],
                                failed_tries=max(failures, 1))
                    reported = now
            finally:
                self._disconnected()
            await asyncio.sleep(self.reconnect_seconds)

    @property
    def _was_connected(self) -> bool:
        return self.connected

    def _disconnected(self) -> None:
        self.connected = False
        self._ready.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(SwitchError("the event socket closed before the reply"))

    async def _session(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        greeting = await read_frame(reader)
        if greeting.content_type != "auth/request":
            raise SwitchError(f"expected auth/request, got {greeting.content_type!r}")
        writer.write(command(f"auth {self.password}"))
        await writer.drain()
        accepted = await read_frame(reader)
        if not accepted.ok:
            raise SwitchError(f"auth refused: {_reply(accepted)}")
        self._writer = writer
        reading = asyncio.create_task(self._read(reader))
        try:
            subscribed = await self._send(f"event plain {EVENTS}")
            if not subscribed.ok:
                raise SwitchError(f"event subscription refused: {_reply(subscribed)}")
            self.connected = True
            self._ready.set()
            log.info("freeswitch_connected", host=self.host, port=self.port)
            await reading
        finally:
            reading.cancel()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            frame = await read_frame(reader)
            kind = frame.content_type
            if kind in ("command/reply", "api/response"):
                if self._waiting:
                    future = self._waiting.popleft()
                    if not future.done():
                        future.set_result(frame)
                else:
                    log.warning("freeswitch_unexpected_reply", reply=_reply(frame)[:100])
            elif kind == "text/event-plain":
                self._dispatch(frame.event)
            elif kind == "text/disconnect-notice":
                raise EOFError("the switch said it is disconnecting")
            else:
                log.warning("freeswitch_unknown_frame", content_type=kind[:60])

    async def _send(self, text: str, **headers: str) -> Frame:
        writer = self._writer
        if writer is None:
            raise SwitchError("not connected to FreeSWITCH")
        assert self.loop is not None
        future: asyncio.Future[Frame] = self.loop.create_future()
        async with self._send_lock:  # replies come back in the order the commands went out
            self._waiting.append(future)
            writer.write(command(text, **headers))
            await writer.drain()
        return await asyncio.wait_for(future, self.command_timeout)

    async def api(self, text: str) -> str:
        """Run an API command; its answer (`+OK …`), or `SwitchError` on `-ERR`."""
        answer = _reply(await self._send(f"api {text}"))
        if answer.startswith("-ERR"):
            raise SwitchError(f"{text.split()[0]}: {answer}")
        return answer

    # --- the ports (called from any thread) -------------------------------------------

    def _call_soon(self, coro: Any, wait: bool) -> Any:
        if self.loop is None:
            coro.close()
            raise SwitchError("the FreeSWITCH client is not running")
        if wait and _on_loop(self.loop):
            coro.close()
            raise SwitchError("a blocking switch command was called on the event loop; call it from a thread")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(self.command_timeout + 1) if wait else future

    def cut(self, call_id: str, reason: str) -> None:
        """`CallControl`: hang the call up now (`uuid_kill`)."""
        channel = self.channels.get(call_id)
        if channel is None:
            if self.fallback is not None:
                self.fallback.cut(call_id, reason)
            return
        self._call_soon(self.kill(channel.uuid, reason), wait=False)

    def extended(self, call_id: str, granted_seconds: int, elapsed_seconds: int) -> None:
        """`GrantFollower`: the call's grant now runs `granted_seconds` from its answer, `elapsed_seconds`
        of which are gone: its hangup moves there now (queued behind the call's events, not waited for)."""
        channel = self.channels.get(call_id)
        if channel is None:
            if isinstance(self.fallback, GrantFollower):
                self.fallback.extended(call_id, granted_seconds, elapsed_seconds)
            return
        loop = self.loop
        if loop is None or loop.is_closed():
            return  # not running: the hangup scheduled at the switch stands (early, never late)
        try:
            loop.call_soon_threadsafe(lambda: self._queue(call_id, self._follow(call_id, granted_seconds,
                                                                                elapsed_seconds)))
        except RuntimeError:  # the loop closed meanwhile: as above
            log.warning("freeswitch_grant_not_followed", call_id=call_id, granted=granted_seconds)

    async def _follow(self, call_id: str, granted: int, elapsed: int) -> None:
        channel = self.channels.get(call_id)
        if channel is None or granted <= channel.granted:
            return  # hung up meanwhile, or the switch was told as much already (by a heartbeat's interim)
        await self.reschedule(channel, granted - elapsed, granted)
        log.info("freeswitch_grant_followed", uuid=channel.uuid, granted=granted, left=granted - elapsed)

    async def kill(self, uuid: str, reason: str) -> None:
        try:
            await self.api(f"uuid_kill {uuid} {CUT_CAUSES.get(reason, 'MANAGER_REQUEST')}")
        except (TimeoutError, SwitchError) as exc:
            log.warning("freeswitch_kill_failed", uuid=uuid, error=str(exc)[:200])

    def originate(self, call: Origination) -> None:
        """`Dialer`: ring `caller`, and on answer connect `callee` (or join the conference).

        The leg's call id travels as the channel variable `ringledger_call_id`,
        the hangup is scheduled at its `max_seconds` from the answer, and the
        leg sends heartbeats: once the ledger grants it more (a callback's leg A
        when it is bridged), the next heartbeat moves the hangup.
        Raises `SwitchError` when the switch does not accept it.
        """
        self._call_soon(self.originate_async(call), wait=True)

    async def originate_async(self, call: Origination) -> str:
        uuid = str(uuids.uuid4())
        for value in (call.call_id, call.caller, call.callee, call.conference_id or ""):
            if any(c in value for c in " ,{}'\"\n\r\t"):
                raise SwitchError(f"{value!r} cannot travel in a dial string")
        shown = call.callee if call.conference_id is None else call.caller
        variables = ",".join([
            f"origination_uuid={uuid}", f"{CALL_VAR}={call.call_id}", f"{GRANT_VAR}={call.max_seconds}",
            f"origination_caller_id_number={shown}", f"enable_heartbeat_events={self.heartbeat_seconds}",
            f"execute_on_answer='sched_hangup +{call.max_seconds} ALLOTTED_TIMEOUT'",
        ])
        if call.conference_id is not None:
            target = f"{self.dial_template.format(number=call.callee)} &conference({call.conference_id})"
        else:
            target = f"{self.dial_template.format(number=call.caller)} {call.callee} XML {self.context}"
        self.channels[call.call_id] = Channel(uuid, call.max_seconds)
        answer = _reply(await self._send(f"bgapi originate {{{variables}}}{target}"))
        if not answer.startswith("+OK"):
            self.channels.pop(call.call_id, None)
            raise SwitchError(f"originate refused: {answer}")
        return uuid

    @property
    def _reports(self) -> Reports:
        assert self.reports is not None, "the client reports to nobody"
        return self.reports

    # --- events -------------------------------------------------------------------------

    def _dispatch(self, event: dict[str, str]) -> None:
        call_id = event.get(f"variable_{CALL_VAR}")
        name = event.get("Event-Name", "")
        if not call_id or name not in ("CHANNEL_ANSWER", "SESSION_HEARTBEAT", "CHANNEL_HANGUP_COMPLETE"):
            return  # not a channel of ours (a bridged B leg, another application's call)
        self._queue(call_id, self._handle_event(call_id, name, event), name)

    def _queue(self, call_id: str, work: Any, name: str = GRANT) -> None:
        """Run `work` after what is already under way for the call (on the loop's thread)."""
        previous = self._tails.get(call_id)
        task = asyncio.create_task(self._handle(previous, call_id, name, work))
        self._tails[call_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tails.get(call_id) is done:
                del self._tails[call_id]

        task.add_done_callback(forget)

    async def _handle_event(self, call_id: str, name: str, event: dict[str, str]) -> None:
        if name == "CHANNEL_ANSWER":
            await self._answered(call_id, event)
        elif name == "SESSION_HEARTBEAT":
            await self._heartbeat(call_id, event)
        else:
            await self._hung_up(call_id, event)

    async def _handle(self, previous: asyncio.Task[None] | None, call_id: str, name: str, work: Any) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            await work
        except Exception as exc:  # one call's trouble never stops the others'
            level = "warning" if isinstance(exc, (LedgerError, ValueError, SwitchError)) else "error"
            getattr(log, level)("freeswitch_event_failed", event=name, call_id=call_id,
                                error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            if name != GRANT:
                self.events_handled += 1

    def _channel(self, call_id: str, event: dict[str, str]) -> Channel:
        channel = self.channels.get(call_id)
        uuid = event.get("Unique-ID", "")
        if channel is None or (uuid and channel.uuid != uuid):
            granted = event.get(f"variable_{GRANT_VAR}", "")
            channel = Channel(uuid, int(granted) if granted.isdigit() else 0)
            self.channels[call_id] = channel
        answered = event.get("Caller-Channel-Answered-Time", "")
        if answered.isdigit() and int(answered):
            channel.answered_us = int(answered)
        return channel

    async def _answered(self, call_id: str, event: dict[str, str]) -> None:
        channel = self._channel(call_id, event)
        outcome = await self._reports.answer(call_id, instant(channel.answered_us or None))
        if isinstance(outcome, dict) and outcome.get("max_seconds", 0) and outcome["max_seconds"] < channel.granted:
            # answered in a dearer band: the grant shrank, and so does the schedule
            await self.reschedule(channel, outcome["max_seconds"])

    async def _heartbeat(self, call_id: str, event: dict[str, str]) -> None:
        channel = self._channel(call_id, event)
        now = event.get("Event-Date-Timestamp", "")
        if not channel.answered_us or not now.isdigit():
            return
        if self._reports.spool.depth:  # its answer may still wait in the spool: no interim may overtake it
            return
        used = max(0, (int(now) - channel.answered_us) // 1_000_000)
        try:
            outcome = await self._reports.interim(call_id, used)
        except Exception as exc:
            if is_store_unavailable(exc):  # nothing more is granted: the scheduled hangup stands
                log.warning("freeswitch_heartbeat_unanswered", call_id=call_id)
                return
            raise
        granted = int(outcome["granted_seconds"])
        if outcome["continue"] and granted > channel.granted:
            await self.reschedule(channel, granted - used, granted)

    async def reschedule(self, channel: Channel, seconds_left: int, granted: int | None = None) -> None:
        """Move the channel's hangup to `seconds_left` from now (the old schedule is deleted first)."""
        await self.api(f"sched_del {channel.uuid}")
        await self.api(f"sched_hangup +{max(1, seconds_left)} {channel.uuid} ALLOTTED_TIMEOUT")
        channel.granted = granted if granted is not None else seconds_left
        await self.api(f"uuid_setvar {channel.uuid} {GRANT_VAR} {channel.granted}")

    async def _hung_up(self, call_id: str, event: dict[str, str]) -> None:
        self._channel(call_id, event)
        raw = event.get("variable_billsec", "0") or "0"
        if not raw.isdigit():
            raise ValueError(f"variable_billsec is not a whole number: {raw[:20]!r}")
        ended = instant(event.get("Caller-Channel-Hangup-Time") or event.get("Event-Date-Timestamp"))
        cause = (event.get("Hangup-Cause") or event.get("variable_hangup_cause") or "").lower()
        outcome = await self._reports.end(call_id, int(raw), ended, cause)
        self.channels.pop(call_id, None)
        if isinstance(outcome, Spooled):
            log.info("freeswitch_end_spooled", call_id=call_id, seq=outcome.seq)
