"""The FastAGI server: each script a dialplan step that asks the ledger and answers in channel variables.

Scripts (`AGI(agi://host:4573/<script>,<args>)`):

| script | args | sets |
| --- | --- | --- |
| `authorize` | service (default `direct`), booth; for a leg the ledger originated also its call id, conference id, number | `RL_AUTHORIZED` (1/0), `RL_REASON`, `RL_CALL_ID`, `RL_LIMIT_MS`, `RL_WARN_MS`, `RL_LOW_BALANCE`, `RL_BALANCE`, and the channel's `TIMEOUT(absolute)` and `CDR(userfield)` |
| `end` | answered seconds (`${ANSWEREDTIME}`), cause | `RL_CHARGED`, `RL_BALANCE`, `RL_BALANCE_YUAN`, `RL_BALANCE_FEN`, `RL_LOW_BALANCE` |
| `balance` | number (default: the caller) | `RL_BALANCE`, `RL_BALANCE_YUAN`, `RL_BALANCE_FEN`, `RL_LOW_BALANCE` |
| `callback` | — (the access number is the extension) | `RL_CALLBACK` (1/0), `RL_REASON` |
| `destination` | callback call id (`${RL_CALL_ID}` of leg A), keyed digits | `RL_BRIDGED` (1/0), `RL_REASON`, `RL_LEG_B`, `RL_LIMIT_MS`, `RL_WARN_MS`, `RL_LOW_BALANCE` |
| `callback_end` | callback call id, leg A seconds, leg B seconds | `RL_CHARGED`, `RL_BALANCE`, `RL_BALANCE_YUAN`, `RL_BALANCE_FEN` |
| `conference` | — | `RL_CONFERENCE` (1/0), `RL_CONFERENCE_ID`, `RL_REASON` |
| `leg` | `joined` or `hangup`, conference id, leg call id | `RL_REASON` when the report was refused |

Guarantees: every session that reaches a script sets `RL_AUTHORIZED`
(`authorize`) or the script's own yes/no variable, to `0` with a
`RL_REASON` whenever it cannot say yes: a refusal, a malformed request
(`invalid_request`), the store down (`unavailable`); a dialplan that
dials only on `1` fails closed. A caller who hangs up while the call is
being authorized has the hold released at once (ended at 0 s). A frame
that is not FastAGI is logged, counted, and the connection closed: nothing
is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from pydantic import ValidationError

from adapters.asterisk.agi_wire import MAX_LINE, AgiChannel, AgiFrameError, ChannelGone, CommandRejected, \
    quotable, read_variables
from adapters.asterisk.ami import AsteriskCallControl, ChannelBook
from adapters.asterisk.events import AsteriskCalls
from adapters.asterisk.models import USERFIELD_PREFIX, AgiCall, parse_agi_call
from adapters.spool import Spooled
from ledger.errors import InvalidRequest, LedgerError
from ledger.money import format_money
from services.charging import CallRequest, Charging
from services.group_commit import GroupCommitter
from services.store_errors import is_store_unavailable

log = structlog.get_logger("ringledger.asterisk")

#: Milliseconds before the end of the limit at which `Dial`'s `L()` plays its warning.
WARN_MS = 60_000


class Refused(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class AgiServer:
    """Listens for FastAGI sessions and runs one script per session."""

    def __init__(self, charging: Charging, committer: GroupCommitter, book: ChannelBook, calls: AsteriskCalls,
                 control: AsteriskCallControl | None = None, callbacks: Any = None, conferences: Any = None,
                 *, timeout: float = 10.0) -> None:
        self.charging = charging
        self.committer = committer
        self.book = book
        self.calls = calls
        self.control = control
        self.callbacks = callbacks
        self.conferences = conferences
        self.timeout = timeout
        self.server: asyncio.AbstractServer | None = None
        self.sessions = 0
        self.bad_frames = 0
        self.scripts: dict[str, Callable[[AgiChannel, AgiCall], Awaitable[None]]] = {
            "authorize": self.authorize, "end": self.end, "balance": self.balance, "callback": self.callback,
            "destination": self.destination, "callback_end": self.callback_end, "conference": self.conference,
            "leg": self.leg,
        }

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._session, host, port, limit=MAX_LINE)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    @property
    def listening(self) -> bool:
        return self.server is not None and self.server.is_serving()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        channel = AgiChannel(reader, writer, self.timeout)
        try:
            try:
                # The whole block within the timeout: a peer dripping lines cannot hold a session open.
                variables = await asyncio.wait_for(read_variables(reader, self.timeout), self.timeout)
            except AgiFrameError as exc:
                self.bad_frames += 1
                log.error("agi_bad_frame", error=str(exc))
                return
            try:
                call = parse_agi_call(variables)
            except (ValidationError, ValueError) as exc:
                self.bad_frames += 1
                await self._refuse_malformed(channel, variables, _first_error(exc))
                return
            script = self.scripts.get(call.script)
            if script is None:
                await channel.verbose(f"ringledger: no AGI script {call.script!r}")
                return
            await script(channel, call)
        except ChannelGone:
            log.info("agi_channel_gone")
        except CommandRejected as exc:
            log.error("agi_command_rejected", error=str(exc)[:200])
        except AgiFrameError as exc:
            self.bad_frames += 1
            log.error("agi_bad_frame", error=str(exc))
        except (TimeoutError, ConnectionError) as exc:
            log.warning("agi_session_lost", error=type(exc).__name__)
        except ValueError as exc:  # a value the answer cannot carry: no yes was sent, the dialplan refuses
            log.error("agi_invalid_value", error=str(exc)[:200])
        finally:
            writer.close()

    async def _refuse_malformed(self, channel: AgiChannel, variables: dict[str, str], message: str) -> None:
        """A well-framed request missing what a script needs: say no, and why, on the channel."""
        log.error("agi_invalid_request", error=message)
        flag = {"authorize": "RL_AUTHORIZED", "callback": "RL_CALLBACK", "destination": "RL_BRIDGED",
                "conference": "RL_CONFERENCE"}.get(variables.get("network_script", "").split("?")[0].strip("/"))
        if flag:
            await channel.set_variable(flag, "0")
        await channel.set_variable("RL_REASON", "invalid_request")
        await channel.verbose(f"ringledger: invalid AGI request: {message}")

    # --- the call --------------------------------------------------------------

    async def authorize(self, channel: AgiChannel, call: AgiCall) -> None:
        """A call about to be dialled, or a leg the ledger originated (its call id, conference and number
        given as arguments 3-5): that leg is already up, so it is answered as soon as it is authorized."""
        service = call.arg_1 or "direct"
        call_id = call.arg_3 or call.call_id
        if not quotable(call_id):  # refused before anything is held: the answer could not carry it
            await self._no(channel, "RL_AUTHORIZED", "invalid_request",
                           "the call id (argument 3) holds a quote, a backslash or a line break")
            return
        request = CallRequest(call_id, call.callerid, call.arg_5 or call.extension, service,
                              call.accountcode or None, call.arg_2 or None, None, call.arg_4 or None, "asterisk")
        try:
            command = self.charging.authorize_command(request, actor="switch:asterisk")
            outcome = await self.committer.submit(command)
        except LedgerError as exc:
            outcome = exc
        if isinstance(outcome, LedgerError):
            reason = "unavailable" if is_store_unavailable(outcome) else \
                "invalid_request" if isinstance(outcome, InvalidRequest) else outcome.code
            await self._no(channel, "RL_AUTHORIZED", reason, str(outcome))
            return
        if not outcome["authorized"]:
            await self._no(channel, "RL_AUTHORIZED", outcome["reason"], outcome.get("message") or "")
            return
        grant = int(outcome["max_seconds"])
        following = self.control is not None and self.control.ami.connected
        # L() cannot be lengthened once Dial runs: when AMI follows the grant, L() is the longest call
        # and TIMEOUT(absolute) (moved at answer and at each extension) is the grant's end.
        limit = self.charging.policy.max_call_seconds if following else grant
        try:
            await channel.set_variable("CDR(userfield)", USERFIELD_PREFIX + call_id)
            await channel.set_variable("TIMEOUT(absolute)", str(grant))
            await channel.set_variable("RL_CALL_ID", call_id)
            await channel.set_variable("RL_LIMIT_MS", str(limit * 1000))
            await channel.set_variable("RL_WARN_MS", str(min(WARN_MS, limit * 500)))
            await channel.set_variable("RL_LOW_BALANCE", "1" if outcome["low_balance"] else "0")
            await channel.set_variable("RL_BALANCE", format_money(outcome["balance"]))
            self.book.track(call_id, call.channel, call.uniqueid)
            await channel.set_variable("RL_AUTHORIZED", "1")
        except (ChannelGone, CommandRejected, AgiFrameError, ValueError):
            # The caller left, or the channel would not take the answer: the dialplan will not dial
            # (RL_AUTHORIZED is not 1), so the hold goes back now.
            await self.calls.end(_ended_unanswered(call_id))
            raise
        if call.arg_3:
            await self.calls.answered(call_id)

    async def end(self, channel: AgiChannel, call: AgiCall) -> None:
        """After `Dial` returns: charge `${ANSWEREDTIME}` now, so the balance can be announced at once."""
        billsec = _seconds(call.arg_1)
        from adapters.asterisk.events import EndReport

        outcome = await self.calls.end(EndReport(call.call_id, billsec, None, call.arg_2.lower()[:40]))
        if isinstance(outcome, Spooled):  # kept on disk, charged once the store is back: no balance to announce
            await channel.set_variable("RL_REASON", "unavailable")
            return
        if isinstance(outcome, LedgerError):
            await channel.set_variable("RL_REASON", "unavailable" if is_store_unavailable(outcome) else outcome.code)
            return
        await channel.set_variable("RL_CHARGED", format_money(int(outcome["charged"])))
        if outcome.get("balance") is not None:
            await self._balance_variables(channel, outcome["balance"], bool(outcome["low_balance"]))

    async def balance(self, channel: AgiChannel, call: AgiCall) -> None:
        number = call.arg_1 or call.callerid
        try:
            outcome = await self._sync(self.charging.balance, number)
        except Refused as exc:
            await channel.set_variable("RL_REASON", exc.reason)
            return
        await self._balance_variables(channel, outcome["balance"], bool(outcome["low_balance"]))

    async def _balance_variables(self, channel: AgiChannel, balance: int, low: bool) -> None:
        """`RL_BALANCE` as text, and in whole yuan and fen for `SayNumber`."""
        units, rest = divmod(max(0, balance), 10_000)
        await channel.set_variable("RL_BALANCE", format_money(balance))
        await channel.set_variable("RL_BALANCE_YUAN", str(units))
        await channel.set_variable("RL_BALANCE_FEN", str(rest // 100))
        await channel.set_variable("RL_LOW_BALANCE", "1" if low else "0")

    # --- callback and conference IVR steps -------------------------------------

    async def callback(self, channel: AgiChannel, call: AgiCall) -> None:
        """The subscriber rang the access number: the dialplan hangs up unanswered, leg A is originated."""
        if self.callbacks is None:
            await self._no(channel, "RL_CALLBACK", "not_configured", "no callback service here")
            return
        try:
            outcome = await self._sync(self.callbacks.place, call.call_id, call.callerid, call.extension,
                                       "switch:asterisk")
        except Refused as exc:
            await self._no(channel, "RL_CALLBACK", exc.reason, str(exc))
            return
        if not outcome.get("callback"):
            await self._no(channel, "RL_CALLBACK", outcome.get("reason") or "refused", outcome.get("message") or "")
            return
        await channel.set_variable("RL_CALLBACK", "1")

    async def destination(self, channel: AgiChannel, call: AgiCall) -> None:
        """Leg A's subscriber keyed a destination: both legs held, and the limit of leg B's Dial."""
        if self.callbacks is None or not call.arg_1 or not call.arg_2:
            await self._no(channel, "RL_BRIDGED", "invalid_request", "destination needs the call id and digits")
            return
        try:
            outcome = await self._sync(self.callbacks.bridge, call.arg_1, call.arg_2, "switch:asterisk")
        except Refused as exc:
            await self._no(channel, "RL_BRIDGED", exc.reason, str(exc))
            return
        if not outcome.get("bridged"):
            await self._no(channel, "RL_BRIDGED", outcome.get("reason") or "refused", outcome.get("message") or "")
            return
        limit = int(outcome["max_seconds"])
        warn_after = outcome.get("warn_after_seconds")
        warn_before = limit - int(warn_after) if warn_after is not None else 0
        await channel.set_variable("RL_LEG_B", str(outcome["leg_b"]))
        await channel.set_variable("RL_LIMIT_MS", str(limit * 1000))
        await channel.set_variable("RL_WARN_MS", str(max(0, warn_before) * 1000))
        await channel.set_variable("RL_LOW_BALANCE", "1" if outcome.get("low_balance") else "0")
        await channel.set_variable("RL_BRIDGED", "1")

    async def callback_end(self, channel: AgiChannel, call: AgiCall) -> None:
        if self.callbacks is None or not call.arg_1:
            await channel.set_variable("RL_REASON", "invalid_request")
            return
        leg_a = _seconds(call.arg_2) if call.arg_2 else None
        leg_b = _seconds(call.arg_3) if call.arg_3 else None
        try:
            outcome = await self._sync(self.callbacks.end, call.arg_1, leg_a, leg_b, "", "switch:asterisk")
        except Refused as exc:
            await channel.set_variable("RL_REASON", exc.reason)
            return
        await channel.set_variable("RL_CHARGED", format_money(int(outcome["charged"])))
        await self._balance_variables(channel, int(outcome["balance"]), bool(outcome.get("low_balance")))

    async def leg(self, channel: AgiChannel, call: AgiCall) -> None:
        """A conference leg's report (`joined` once in the bridge, `hangup` from the `h` extension)."""
        if self.conferences is None or not (call.arg_1 and call.arg_2 and call.arg_3):
            await channel.set_variable("RL_REASON", "invalid_request")
            return
        try:
            await self._sync(self.conferences.leg_event, call.arg_2, call.arg_3, call.arg_1, "")
        except Refused as exc:
            await channel.set_variable("RL_REASON", exc.reason)

    async def conference(self, channel: AgiChannel, call: AgiCall) -> None:
        """The initiator rang the conference access number: hung up unanswered, called back into the bridge."""
        if self.conferences is None:
            await self._no(channel, "RL_CONFERENCE", "not_configured", "no conference service here")
            return
        try:
            outcome = await self._sync(self.conferences.start_instant, call.call_id, call.callerid, "switch:asterisk")
        except Refused as exc:
            await self._no(channel, "RL_CONFERENCE", exc.reason, str(exc))
            return
        if not outcome.get("accepted"):
            await self._no(channel, "RL_CONFERENCE", outcome.get("reason") or "refused", "")
            return
        await channel.set_variable("RL_CONFERENCE_ID", str(outcome["conference_id"]))
        await channel.set_variable("RL_CONFERENCE", "1")

    # --- helpers ----------------------------------------------------------------

    async def _sync(self, function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        """A service call that reads or writes the store, off the event loop; its failures as `Refused`."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None, function, *args)
        except Exception as exc:
            if is_store_unavailable(exc):
                raise Refused("unavailable", "the ledger store is not answering") from None
            if isinstance(exc, InvalidRequest):
                raise Refused("invalid_request", str(exc)) from None
            if isinstance(exc, LedgerError):
                raise Refused(exc.code, str(exc)) from None
            raise

    async def _no(self, channel: AgiChannel, flag: str, reason: str, message: str) -> None:
        await channel.set_variable("RL_REASON", reason)
        await channel.set_variable(flag, "0")
        if message:
            await channel.verbose(f"ringledger: {reason}: {message}")


def _ended_unanswered(call_id: str) -> Any:
    from adapters.asterisk.events import EndReport

    return EndReport(call_id, 0, None, "caller_left")


def _seconds(text: str) -> int:
    """`${ANSWEREDTIME}` is empty when the call was never answered."""
    if not text:
        return 0
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise AgiFrameError(f"{text[:20]!r} is not a number of seconds")
    return int(text)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"agi_{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)[:200]
