"""The Asterisk Manager Interface: one logged-in connection, its events, and the actions the ledger sends.

Built on `panoramisk` (asyncio AMI client): it frames messages, logs in,
pings, reconnects, and matches each reply to its action by `ActionID`.
An event that carries the `ActionID` of an action already answered (the
`OriginateResponse` of an asynchronous Originate) is handed to the event
handlers like any other.

The ports (`AsteriskCallControl`, `AsteriskDialer`) are called from worker
threads (the hooks' thread pool, the scheduler): each action is handed to
the event loop that owns the connection and waited for at most
`ACTION_TIMEOUT` seconds.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import structlog
from panoramisk import Manager

from services.ports import CallControl, GrantFollower, Origination

log = structlog.get_logger("ringledger.asterisk")

ACTION_TIMEOUT = 2.0
#: Ring time of an originated call before it counts as failed (ms).
ORIGINATE_RING_MS = 30_000
_NUMBER = re.compile(r"\+?[0-9]{1,28}")


class AmiUnavailable(Exception):
    """The manager connection is down, or Asterisk refused the action."""


@dataclass(frozen=True)
class AmiTarget:
    host: str
    port: int
    username: str
    secret: str


def parse_ami_url(url: str) -> AmiTarget:
    """`ami://user:secret@host:5038` (the secret URL-escaped)."""
    parts = urlsplit(url)
    if parts.scheme != "ami" or not parts.hostname or not parts.username:
        raise ValueError("the AMI URL is ami://user:secret@host:port")
    return AmiTarget(parts.hostname, parts.port or 5038, unquote(parts.username), unquote(parts.password or ""))


class ChannelBook:
    """Which channel carries which ledger call, learnt from AGI and Originate; bounded, thread-safe.

    Only calls this process saw start are here: after a restart a cut or a
    limit for an earlier call falls back to the next `CallControl`.
    """

    def __init__(self, size: int = 100_000) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._by_call: OrderedDict[str, str] = OrderedDict()  # call id → channel name
        self._by_uniqueid: OrderedDict[str, str] = OrderedDict()  # unique id → call id
        self._actions: OrderedDict[str, str] = OrderedDict()  # Originate ActionID → call id
        self._conferences: OrderedDict[str, str] = OrderedDict()  # originated leg → its conference

    def track(self, call_id: str, channel: str, uniqueid: str = "") -> None:
        with self._lock:
            self._put(self._by_call, call_id, channel)
            if uniqueid:
                self._put(self._by_uniqueid, uniqueid, call_id)

    def originated(self, action_id: str, call_id: str, conference_id: str | None = None) -> None:
        with self._lock:
            self._put(self._actions, action_id, call_id)
            if conference_id:
                self._put(self._conferences, call_id, conference_id)

    def conference_of(self, call_id: str) -> str | None:
        with self._lock:
            return self._conferences.get(call_id)

    def call_of_action(self, action_id: str) -> str | None:
        with self._lock:
            return self._actions.pop(action_id, None)

    def channel(self, call_id: str) -> str | None:
        with self._lock:
            return self._by_call.get(call_id)

    def call_of(self, uniqueid: str) -> str | None:
        with self._lock:
            return self._by_uniqueid.get(uniqueid)

    def hung_up(self, uniqueid: str) -> str | None:
        """The channel is gone: no action is sent to it any more. Returns its call id, if ours."""
        with self._lock:
            call = self._by_uniqueid.pop(uniqueid, None)
            if call is not None:
                self._by_call.pop(call, None)
            return call

    def _put(self, table: OrderedDict[str, str], key: str, value: str) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._size:
            table.popitem(last=False)


class AmiClient:
    """One AMI connection (panoramisk `Manager`) on the running event loop."""

    def __init__(self, target: AmiTarget, *, reconnect_seconds: int = 2, ping_seconds: int = 10) -> None:
        self.target = target
        self.manager = Manager(host=target.host, port=target.port, username=target.username,
                               secret=target.secret, events="on", reconnect_timeout=reconnect_seconds,
                               ping_delay=ping_seconds, ping_interval=ping_seconds)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.actions_sent = 0
        self.action_failures = 0

    def on(self, event: str, handler: Callable[[dict[str, str]], Any]) -> None:
        """Call `handler(headers)` for every event named `event` (headers keyed in lower case)."""
        from adapters.asterisk.models import headers_of

        self.manager.register_event(event, lambda _manager, message: handler(headers_of(message)))

    async def start(self, wait: float = 2.0) -> None:
        """Connect and log in; a switch not up yet is retried in the background (see `connected`)."""
        self.loop = asyncio.get_running_loop()
        self.manager.loop = self.loop
        self.manager.connect()
        deadline = self.loop.time() + wait
        while not self.connected and self.loop.time() < deadline:
            await asyncio.sleep(0.02)

    def close(self) -> None:
        # No reconnect after a close, whether the connection is up or a retry is pending.
        self.manager.connection_lost = lambda exc: None
        self.manager.connect = lambda *args, **kwargs: None
        self.manager.close()

    @property
    def connected(self) -> bool:
        """Logged in on a live connection."""
        protocol = self.manager.protocol
        return bool(self.manager.authenticated and protocol is not None and not getattr(protocol, "closed", True))

    async def action(self, headers: dict[str, Any]) -> dict[str, str]:
        """Send one action; its reply headers (lower-case keys). Raises AmiUnavailable on failure."""
        from adapters.asterisk.models import headers_of

        if not self.connected:
            self.action_failures += 1
            raise AmiUnavailable("the AMI connection is down")
        self.actions_sent += 1
        try:
            reply = await asyncio.wait_for(self.manager.send_action(dict(headers), as_list=False), ACTION_TIMEOUT)
        except TimeoutError:
            self.action_failures += 1
            raise AmiUnavailable(f"no reply to {headers.get('Action')} in {ACTION_TIMEOUT} s") from None
        answer = headers_of(reply if not isinstance(reply, list) else reply[0])
        if answer.get("response", "").lower() != "success":
            self.action_failures += 1
            raise AmiUnavailable(f"{headers.get('Action')} refused: {answer.get('message', '')[:120]}")
        return answer

    def action_from_thread(self, headers: dict[str, Any]) -> dict[str, str] | None:
        """`action` from a worker thread, waited for; on the loop's own thread it is only scheduled."""
        loop = self.loop
        if loop is None or loop.is_closed():
            raise AmiUnavailable("the AMI client is not running")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            task = loop.create_task(self.action(headers))
            task.add_done_callback(_log_failure)
            return None
        return asyncio.run_coroutine_threadsafe(self.action(headers), loop).result(ACTION_TIMEOUT + 1)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("ami_action_failed", error=str(task.exception())[:200])


class AsteriskCallControl:
    """`CallControl` and `GrantFollower` through AMI: `Hangup` cuts a call, `Setvar TIMEOUT(absolute)`
    moves its limit to the end of its grant. A cut or an extension of a call on no channel this process
    knows goes to `fallback` (another switch's call control, e.g. FreeSWITCH's event socket)."""

    def __init__(self, ami: AmiClient, book: ChannelBook, fallback: CallControl | None = None) -> None:
        self.ami = ami
        self.book = book
        self.fallback = fallback
        self.cuts = 0
        self.limits = 0

    def cut(self, call_id: str, reason: str) -> None:
        channel = self.book.channel(call_id)
        if channel is None:
            if self.fallback is not None:
                self.fallback.cut(call_id, reason)
            return
        log.info("asterisk_cut", call_id=call_id, channel=channel, reason=reason)
        try:  # cause 16 (normal clearing): the call ended because its money did
            self.ami.action_from_thread({"Action": "Hangup", "Channel": channel, "Cause": "16"})
            self.cuts += 1
        except Exception as exc:  # the channel's own limit still stops it at the end of its grant
            log.warning("asterisk_cut_failed", call_id=call_id, error=str(exc)[:200])

    def extended(self, call_id: str, granted_seconds: int, elapsed_seconds: int) -> None:
        channel = self.book.channel(call_id)
        if channel is None:  # another switch's call: its own call control follows the grant, if it can
            if isinstance(self.fallback, GrantFollower):
                self.fallback.extended(call_id, granted_seconds, elapsed_seconds)
            return
        self.set_limit(call_id, channel, granted_seconds - elapsed_seconds)

    def set_limit(self, call_id: str, channel: str, seconds_left: int) -> None:
        """The channel hangs up `seconds_left` from now (TIMEOUT(absolute) counts from when it is set)."""
        try:
            self.ami.action_from_thread({"Action": "Setvar", "Channel": channel, "Variable": "TIMEOUT(absolute)",
                                         "Value": str(max(1, seconds_left))})
            self.limits += 1
        except Exception as exc:  # the old limit stands: the call stops early, never late
            log.warning("asterisk_limit_failed", call_id=call_id, error=str(exc)[:200])


class AsteriskDialer:
    """`Dialer` through AMI `Originate`: the callback's leg A rings the subscriber and then runs the
    callback IVR; a conference leg rings the participant into the conference's context (`s`).

    The originated channel carries `RL_CALL_ID` (the ledger's call id of the leg) and
    `TIMEOUT(absolute)` (its grant, so it never runs past what is held); a conference leg also
    `RL_CONFERENCE_ID` and `RL_NUMBER` (the participant rung).
    """

    def __init__(self, ami: AmiClient, book: ChannelBook, *, channel: str = "Local/{number}@ringledger-out",
                 callback_context: str = "ringledger-callback",
                 conference_context: str = "ringledger-conference") -> None:
        self.ami = ami
        self.book = book
        self.channel = channel
        self.callback_context = callback_context
        self.conference_context = conference_context

    def action_for(self, call: Origination) -> dict[str, Any]:
        ring = call.callee if call.conference_id else call.caller
        shown = call.caller if call.conference_id else call.callee
        for number in (ring, shown):
            if _NUMBER.fullmatch(number) is None:
                raise ValueError(f"{number!r} cannot be dialled")
        variables = [f"RL_CALL_ID={call.call_id}", f"RL_MAX_SECONDS={call.max_seconds}",
                     f"TIMEOUT(absolute)={max(1, call.max_seconds)}"]
        if call.conference_id:
            variables += [f"RL_CONFERENCE_ID={call.conference_id}", f"RL_NUMBER={ring}"]
        return {
            "Action": "Originate", "Channel": self.channel.format(number=ring.lstrip("+")),
            "Context": self.conference_context if call.conference_id else self.callback_context,
            "Exten": "s" if call.conference_id else call.callee.lstrip("+"), "Priority": "1", "CallerID": shown,
            "Timeout": str(ORIGINATE_RING_MS), "Async": "true", "Variable": variables,
            "ActionID": f"rl-originate-{call.call_id}",
        }

    def originate(self, call: Origination) -> None:
        """Raises when Asterisk does not queue the call (the callback then fails as `dial_failed`)."""
        action = self.action_for(call)
        self.book.originated(action["ActionID"], call.call_id, call.conference_id)
        self.ami.action_from_thread(action)
        log.info("asterisk_originate", call_id=call.call_id, channel=action["Channel"])
