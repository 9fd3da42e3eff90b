"""A FreeSWITCH in the test: it speaks the event socket frame by frame, as the switch does.

`FakeSwitch` is the switch's inbound event socket (port 8021 of a real
one): `auth/request`, `auth` → `command/reply`, `event plain …`, `api …` →
`api/response`, `bgapi …` → `command/reply` with a Job-UUID, events pushed
as `text/event-plain` with URL-encoded bodies and Content-Length, and
`text/disconnect-notice`. It records every command it was sent.

`park()` is the switch's side of an outbound socket (dialplan `socket`):
it connects to our server, answers `connect` with the channel's data, and
answers each command until `exit` or a hangup.

The frames come from `tests/fixtures/freeswitch/` (see its README). This
module writes frames itself and never uses the adapter's own framing.
"""

from __future__ import annotations

import asyncio
import json
import uuid as uuids
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from string import Template
from urllib.parse import quote

FIXTURES = Path(__file__).parent / "fixtures" / "freeswitch"
PASSWORD = "ClueCon"


def fixture(name: str, **values: object) -> str:
    return Template((FIXTURES / name).read_text()).substitute({k: str(v) for k, v in values.items()})


def wire_frame(content_type: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines.append(f"Content-Type: {content_type}")
    return ("\n".join(lines) + "\n\n").encode() + body


def micros(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000


@dataclass
class Call:
    """One channel as the fixtures describe it: times from `created` (the pinned business clock)."""

    caller: str
    callee: str
    created: datetime
    uuid: str = field(default_factory=lambda: str(uuids.uuid4()))
    call_id: str = ""
    granted: int = 0
    answered_after: int = 2  # seconds of ringing

    def __post_init__(self) -> None:
        self.call_id = self.call_id or self.uuid

    @property
    def answered(self) -> datetime:
        return self.created + timedelta(seconds=self.answered_after)

    def values(self, billsec: int = 0, at: datetime | None = None) -> dict[str, object]:
        hangup = self.answered + timedelta(seconds=billsec)
        encoded = quote(self.caller, safe="")
        return dict(uuid=self.uuid, call_id=quote(self.call_id, safe=""), caller=encoded, caller_encoded=encoded,
                    callee=quote(self.callee, safe=""), granted=self.granted,
                    now_us=micros(at or self.created), created_us=micros(self.created),
                    answered_us=micros(self.answered), hangup_us=micros(hangup),
                    created_s=int(self.created.timestamp()), answered_s=int(self.answered.timestamp()),
                    hangup_s=int(hangup.timestamp()), billsec=billsec, duration=billsec + self.answered_after)

    def event(self, name: str, billsec: int = 0, at: datetime | None = None) -> bytes:
        return fixture(name, **self.values(billsec, at)).encode()

    def cdr(self, billsec: int) -> str:
        return fixture("cdr.json", **self.values(billsec))


class FakeSwitch:
    """The switch's inbound event socket."""

    def __init__(self, password: str = PASSWORD) -> None:
        self.password = password
        self.commands: list[str] = []
        self.auths = 0
        self.subscriptions: list[str] = []
        self.api_answers: dict[str, str] = {}  # first word of an api command → its answer
        self.bgapi_refusal: str | None = None  # when set, every bgapi is refused with it
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.AbstractServer | None = None
        self.connected = asyncio.Event()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for w in self._writers:
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def apis(self, word: str | None = None) -> list[str]:
        sent = [c.removeprefix("api ") for c in self.commands if c.startswith("api ")]
        return [c for c in sent if word is None or c.split()[0] == word]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(wire_frame("auth/request"))
        await writer.drain()
        try:
            while True:
                raw = await reader.readuntil(b"\n\n")
                text = raw.decode().strip()
                self.commands.append(text)
                if text.startswith("auth "):
                    ok = text == f"auth {self.password}"
                    writer.write(wire_frame("command/reply", Reply_Text="+OK accepted" if ok else "-ERR invalid"))
                    if not ok:
                        await writer.drain()
                        writer.close()
                        return
                    self.auths += 1
                elif text.startswith("event plain"):
                    self.subscriptions.append(text)
                    writer.write(wire_frame("command/reply", Reply_Text="+OK event listener enabled plain"))
                    self._writers.append(writer)
                    self.connected.set()
                elif text.startswith("api "):
                    word = text.split()[1]
                    answer = self.api_answers.get(word, "+OK\n")
                    writer.write(wire_frame("api/response", answer.encode()))
                elif text.startswith("bgapi ") and self.bgapi_refusal:
                    writer.write(wire_frame("command/reply", Reply_Text=self.bgapi_refusal))
                elif text.startswith("bgapi "):
                    writer.write(wire_frame("command/reply", Reply_Text="+OK Job-UUID: " + str(uuids.uuid4()),
                                            Job_UUID=str(uuids.uuid4())))
                else:
                    writer.write(wire_frame("command/reply", Reply_Text="-ERR command not found"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            return
        finally:
            if writer in self._writers:
                self._writers.remove(writer)

    async def push(self, body: bytes) -> None:
        """An event to every subscribed client, as `text/event-plain` (the body's own Content-Length)."""
        for w in list(self._writers):
            w.write(wire_frame("text/event-plain", body))
            await w.drain()

    async def push_raw(self, data: bytes) -> None:
        for w in list(self._writers):
            w.write(data)
            await w.drain()

    async def disconnect_notice(self) -> None:
        self.connected.clear()
        for w in list(self._writers):
            w.write(wire_frame("text/disconnect-notice", b"Disconnected, goodbye.\nSee you at ClueCon!\n",
                               Controlled_Session_UUID=""))
            await w.drain()
            w.close()
        self._writers.clear()


async def park(port: int, call: Call, *, channel_data: bytes | None = None) -> list[str]:
    """The switch hands `call` to our outbound server; returns the commands it got, in order."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got: list[str] = []
    try:
        while True:
            try:
                raw = await asyncio.wait_for(reader.readuntil(b"\n\n"), 10)
            except (asyncio.IncompleteReadError, ConnectionResetError):
                return got  # our server closed the connection (a reset when our lines were still unread)
            text = raw.decode().strip()
            got.append(text)
            if text == "connect":
                writer.write(channel_data if channel_data is not None
                             else fixture("connect_reply.txt", **call.values()).encode().rstrip(b"\n")
                             + b"\nContent-Type: command/reply\n\n")
            elif text.startswith("api "):
                writer.write(wire_frame("api/response", b"+OK\n"))
            elif text.startswith("sendmsg"):
                writer.write(wire_frame("command/reply", Reply_Text="+OK"))
            elif text == "exit":
                writer.write(wire_frame("command/reply", Reply_Text="+OK bye"))
                writer.write(wire_frame("text/disconnect-notice", b"Disconnected, goodbye.\n"))
            else:
                writer.write(wire_frame("command/reply", Reply_Text="-ERR command not found"))
            try:
                await writer.drain()
            except (ConnectionResetError, BrokenPipeError):
                return got
    finally:
        writer.close()


def form_body(cdr: str) -> bytes:
    """mod_json_cdr's `encode` form: the JSON as field `cdr`, URL-encoded."""
    return ("cdr=" + quote(cdr, safe="")).encode()


def cdr_json(cdr: str) -> dict[str, object]:
    return json.loads(cdr)  # type: ignore[no-any-return]
