"""The outbound event-socket server: FreeSWITCH hands us each new call (dialplan `socket`), we authorize it.

For each connection: `connect` (the reply carries the channel's variables,
URL-encoded), then the call is authorized with the ledger (call id = the
channel's `Unique-ID`, caller = `Caller-Caller-ID-Number`, callee =
`Caller-Destination-Number`, optional `variable_ringledger_account`,
`variable_ringledger_service`, `variable_ringledger_booth`).

* Authorized: `uuid_setvar <uuid> ringledger_call_id <uuid>`,
  `uuid_setvar <uuid> ringledger_granted_seconds <granted>`,
  `uuid_setvar <uuid> execute_on_answer sched_hangup +<granted> ALLOTTED_TIMEOUT`,
  `uuid_transfer <uuid> <callee> XML <context>` (the context that bridges
  authorized calls), then `exit`. The switch hangs the call up when the
  grant ends unless the ledger extends it. Only an authorized call leaves
  the `socket` extension by this transfer: if the socket cannot be reached
  at all, the dialplan's next action (a hangup) runs, so the call fails
  closed.
* Refused (no money, unknown account, no rate …) or the ledger unreachable:
  `sendmsg` with `call-command: hangup` (`CALL_REJECTED`, or
  `TEMPORARY_FAILURE` when the store is down): the call fails closed, and
  a refused call costs nothing.
* A malformed `connect` reply: the connection is closed with a logged
  reason and nothing is recorded.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from adapters.freeswitch.esl import Frame, FrameError, command, read_frame
from adapters.freeswitch.inbound import CALL_VAR, GRANT_VAR, Channel, EventSocketClient
from adapters.freeswitch.reports import ACTOR, SWITCH
from ledger.errors import LedgerError, StoreUnavailable
from services.charging import CallRequest, Charging
from services.group_commit import GroupCommitter

log = structlog.get_logger("ringledger.freeswitch")


class ChannelDataError(ValueError):
    """A `connect` reply without what authorizing needs."""


def call_request(channel: dict[str, str]) -> CallRequest:
    uuid = channel.get("Unique-ID") or channel.get("Channel-Unique-ID") or ""
    callee = channel.get("Caller-Destination-Number", "")
    caller = channel.get("Caller-Caller-ID-Number", "")
    missing = [name for name, value in (("Unique-ID", uuid), ("Caller-Destination-Number", callee),
                                        ("Caller-Caller-ID-Number", caller)) if not value]
    if missing:
        raise ChannelDataError(f"the channel data lacks {', '.join(missing)}")
    if any(c.isspace() for c in uuid + callee):
        raise ChannelDataError("a Unique-ID or Caller-Destination-Number with white space cannot travel in a command")
    return CallRequest(call_id=uuid, caller=caller, callee=callee,
                       service=channel.get("variable_ringledger_service") or "direct",
                       account=channel.get("variable_ringledger_account") or None,
                       booth=channel.get("variable_ringledger_booth") or None, switch=SWITCH)


class ParkAuthorizer:
    def __init__(self, charging: Charging, committer: GroupCommitter, client: EventSocketClient | None = None,
                 *, context: str = "ringledger_authorized", timeout: float = 10.0) -> None:
        self.charging = charging
        self.context = context
        self.committer = committer
        self.client = client
        self.timeout = timeout
        self.authorized = 0
        self.refused = 0
        self.failed = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the port (0 picks a free one)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(self._call(reader, writer), self.timeout)
        except (TimeoutError, FrameError, ChannelDataError, EOFError, OSError) as exc:
            self.failed += 1
            log.warning("freeswitch_outbound_failed", error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            writer.close()

    async def _ask(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, text: str,
                   **headers: str) -> Frame:
        writer.write(command(text, **headers))
        await writer.drain()
        while True:
            frame = await read_frame(reader)
            if frame.content_type in ("command/reply", "api/response"):
                return frame
            if frame.content_type == "text/disconnect-notice":
                raise EOFError("the channel went away")

    async def _call(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(command("connect"))
        await writer.drain()
        channel = await read_frame(reader, decode_headers=True)
        if channel.content_type != "command/reply":
            raise FrameError(f"expected the connect reply (command/reply), got {channel.content_type!r}")
        request = call_request(channel.headers)
        uuid = request.call_id
        try:
            outcome: Any = await self.committer.submit(self.charging.authorize_command(request, actor=ACTOR))
        except LedgerError as exc:  # an invalid request (a call id too long, a control character …)
            outcome = exc
        if isinstance(outcome, LedgerError):
            cause = "TEMPORARY_FAILURE" if isinstance(outcome, StoreUnavailable) or outcome.code == "unavailable" \
                else "CALL_REJECTED"
            self.failed += 1
            log.warning("freeswitch_authorize_failed", call_id=uuid, error=outcome.code)
            await self._hangup(reader, writer, uuid, cause)
            return
        if not outcome["authorized"]:
            self.refused += 1
            await self._hangup(reader, writer, uuid, "CALL_REJECTED")
            return
        granted = int(outcome["max_seconds"])
        for text in (f"api uuid_setvar {uuid} {CALL_VAR} {uuid}",
                     f"api uuid_setvar {uuid} {GRANT_VAR} {granted}",
                     f"api uuid_setvar {uuid} execute_on_answer sched_hangup +{granted} ALLOTTED_TIMEOUT",
                     f"api uuid_transfer {uuid} {request.callee} XML {self.context}"):
            reply = await self._ask(reader, writer, text)
            if reply.reply.startswith("-ERR"):
                raise EOFError(f"the switch refused {text.split()[1]}: {reply.reply.strip()[:100]}")
        if self.client is not None:
            self.client.channels[uuid] = Channel(uuid, granted)
        self.authorized += 1
        await self._ask(reader, writer, "exit")

    async def _hangup(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, uuid: str,
                      cause: str) -> None:
        await self._ask(reader, writer, f"sendmsg {uuid}", call_command="hangup", hangup_cause=cause)
