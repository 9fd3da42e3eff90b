"""A peer that speaks Asterisk's wire protocols frame by frame, for the adapter's tests.

No Asterisk package exists here: this peer plays the switch from the recorded
frames in `tests/fixtures/asterisk/` (an Asterisk 22 FastAGI variable block,
AMI banner, login reply and call events). AGI lines end in LF; AMI lines in
CRLF, messages ended by a blank line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "asterisk"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def ami_frames(name: str) -> list[str]:
    """The messages of an AMI fixture (one per blank-line-separated block), lines joined with CRLF."""
    blocks = [b for b in fixture(name).split("\n\n") if b.strip()]
    return ["\r\n".join(b.strip("\n").split("\n")) + "\r\n\r\n" for b in blocks]


def agi_block(name: str = "agi_authorize.txt", **changes: str) -> str:
    """The recorded variable block, with `agi_<key>` values replaced (or added before the blank line)."""
    lines = fixture(name).rstrip("\n").split("\n")
    for key, value in changes.items():
        prefix = f"agi_{key}:"
        for i, line in enumerate(lines):
            if line.startswith(prefix):
                lines[i] = f"{prefix} {value}"
                break
        else:
            lines.append(f"{prefix} {value}")
    return "\n".join(lines) + "\n\n"


Answer = Callable[[str], list[str]]


def accept_all(command: str) -> list[str]:
    """Asterisk's replies to the commands the adapter sends: SET VARIABLE and VERBOSE answer result=1."""
    if command.startswith(("SET VARIABLE ", "VERBOSE ")):
        return ["200 result=1"]
    return ["510 Invalid or unknown command"]


async def agi_session(port: int, block: str | bytes, answer: Answer = accept_all,
                      timeout: float = 10.0) -> tuple[list[str], bool]:
    """Connect to the FastAGI server as Asterisk does, send `block`, answer each command with `answer`.

    Returns the command lines received, and whether the server closed the connection.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(block.encode() if isinstance(block, str) else block)
    await writer.drain()
    commands: list[str] = []
    closed = False
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                closed = True
                break
            command = line.decode().rstrip("\n")
            commands.append(command)
            for reply in answer(command):
                writer.write(reply.encode() + b"\n")
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        # The server closed while our lines were still unread: its kernel answers with a reset, not an end.
        closed = True
    finally:
        writer.close()
    return commands, closed


def variables_set(commands: list[str]) -> dict[str, str]:
    """`SET VARIABLE NAME "value"` lines as a dict."""
    out: dict[str, str] = {}
    for command in commands:
        if command.startswith("SET VARIABLE "):
            name, _, value = command[len("SET VARIABLE "):].partition(" ")
            out[name] = value.strip('"')
    return out


class FakeAmi:
    """An AMI server as Asterisk 22 runs it: banner, Login, Ping, actions answered by ActionID, events pushed."""

    def __init__(self, secret: str = "s3cret") -> None:
        self.secret = secret
        self.actions: list[dict[str, list[str]]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.AbstractServer | None = None
        self.logged_in = asyncio.Event()
        self.action_seen = asyncio.Event()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        banner, login_reply, *after_login = ami_frames("ami_login.txt")[0].split("\r\n", 1) + \
            ami_frames("ami_login.txt")[1:]
        writer.write((banner + "\r\n").encode())
        await writer.drain()
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                action: dict[str, list[str]] = {}
                for line in raw.decode().split("\r\n"):
                    if ": " in line:
                        key, value = line.split(": ", 1)
                        action.setdefault(key, []).append(value)
                name = action.get("Action", [""])[0].lower()
                action_id = action.get("ActionID", [""])[0]
                if name == "login":
                    if action.get("Secret", [""])[0] != self.secret:
                        writer.write(f"Response: Error\r\nActionID: {action_id}\r\n"
                                     "Message: Authentication failed\r\n\r\n".encode())
                        await writer.drain()
                        continue
                    writer.write(login_reply.format(action_id=action_id).encode())
                    for frame in after_login:
                        writer.write(frame.encode())
                    self.writers.append(writer)
                    self.logged_in.set()
                elif name == "ping":
                    writer.write(f"Response: Success\r\nActionID: {action_id}\r\nPing: Pong\r\n"
                                 "Timestamp: 1795598906.000000\r\n\r\n".encode())
                else:
                    self.actions.append(action)
                    self.action_seen.set()
                    message = "Originate successfully queued" if name == "originate" else \
                        "Channel Hungup" if name == "hangup" else "Variable Set"
                    writer.write(f"Response: Success\r\nActionID: {action_id}\r\nMessage: {message}\r\n\r\n"
                                 .encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            return

    async def push(self, *frames: str) -> None:
        """Send events to every logged-in client."""
        for writer in self.writers:
            for frame in frames:
                writer.write(frame.encode())
            await writer.drain()

    def sent(self, name: str) -> list[dict[str, list[str]]]:
        return [a for a in self.actions if a.get("Action", [""])[0].lower() == name.lower()]
