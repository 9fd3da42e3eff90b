"""FastAGI framing: the variable block Asterisk sends first, then one command line and one reply at a time.

Framed by hand: the protocol is a few line rules, and the server must bound
what it reads (line length, number of variables) and tell a dead channel
(`511`, `HANGUP`) from a command Asterisk did not accept (`510`, `520`),
which the available libraries do not distinguish.

Guarantees: a variable block is accepted only when every line is
`agi_<name>: <value>` within `MAX_LINE` bytes, at most `MAX_VARIABLES` of them,
ended by a blank line; anything else raises `AgiFrameError` before a single
command is sent, so a bad frame changes nothing. A value written with
`SET VARIABLE` never carries a quote, a backslash or a line break.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

#: Longest line read from the switch (bytes, the line break included); the stream's own limit.
MAX_LINE = 1024
MAX_VARIABLES = 64
#: Seconds a command may wait for its reply before the session is given up.
REPLY_TIMEOUT = 10.0

_VARIABLE = re.compile(r"agi_([a-z0-9_]{1,40}):(?: (.*))?")
_REPLY = re.compile(r"200 result=(-?\d+)(?: \((.*)\))?(?: (.*))?")
_SAFE_VALUE = re.compile(r"[^\"\\\r\n\x00]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\([A-Za-z0-9_]*\))?")


class AgiFrameError(Exception):
    """The switch sent something that is not FastAGI (garbage, an overlong line, too many variables)."""


class CommandRejected(Exception):
    """Asterisk answered `510` (unknown command) or `520` (usage error): a fault of ours, the channel lives."""


class ChannelGone(Exception):
    """The caller hung up: `HANGUP` arrived or a command was answered `511`."""


@dataclass(frozen=True)
class Reply:
    result: int
    data: str = ""


async def read_line(reader: asyncio.StreamReader, timeout: float) -> str | None:
    """One line without its break; None at end of stream. Overlong or non-ASCII lines raise AgiFrameError."""
    try:
        raw = await asyncio.wait_for(reader.readline(), timeout)
    except (asyncio.LimitOverrunError, ValueError):
        raise AgiFrameError(f"a line longer than {MAX_LINE} bytes") from None
    if not raw:
        return None
    if not raw.endswith(b"\n"):
        raise AgiFrameError("the stream ended inside a line")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AgiFrameError("a line that is not UTF-8") from None
    line = line.rstrip("\n").removesuffix("\r")
    if any(ord(c) < 32 for c in line):
        raise AgiFrameError("a control character inside a line")
    return line


async def read_variables(reader: asyncio.StreamReader, timeout: float = REPLY_TIMEOUT) -> dict[str, str]:
    """The `agi_*` block (names without the prefix); an empty value (`agi_accountcode: `) is ''."""
    variables: dict[str, str] = {}
    while True:
        line = await read_line(reader, timeout)
        if line is None:
            raise AgiFrameError("the connection closed before the blank line ending the variables")
        if line == "":
            if not variables:
                raise AgiFrameError("a blank line before any agi_ variable")
            return variables
        match = _VARIABLE.fullmatch(line)
        if match is None:
            raise AgiFrameError(f"not an agi_ variable line: {line[:60]!r}")
        if len(variables) >= MAX_VARIABLES:
            raise AgiFrameError(f"more than {MAX_VARIABLES} agi_ variables")
        variables[match.group(1)] = (match.group(2) or "").strip()


def quotable(value: str) -> bool:
    """Whether `SET VARIABLE` can carry the value (no quote, backslash, line break or NUL)."""
    return _SAFE_VALUE.fullmatch(value) is not None


class AgiChannel:
    """One FastAGI session after its variable block: send a command, read its reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 timeout: float = REPLY_TIMEOUT) -> None:
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.hung_up = False

    async def command(self, line: str) -> Reply:
        if self.hung_up:
            raise ChannelGone("the channel hung up")
        self.writer.write(line.encode("utf-8") + b"\n")
        await self.writer.drain()
        while True:
            reply = await read_line(self.reader, self.timeout)
            if reply is None:
                self.hung_up = True
                raise ChannelGone("the switch closed the connection")
            if reply == "HANGUP":  # sent once when the caller hangs up; the command's own reply follows
                if self.hung_up:  # never twice: a peer repeating it would hold the session forever
                    raise AgiFrameError("HANGUP sent again instead of the command's reply")
                self.hung_up = True
                continue
            if reply.startswith("511"):
                self.hung_up = True
                raise ChannelGone(reply)
            if reply.startswith("510"):
                raise CommandRejected(f"{line.split(' ', 1)[0]}: {reply}")
            if reply.startswith("520"):
                await self._skip_usage(reply)
                raise CommandRejected(f"{line}: usage error")
            match = _REPLY.fullmatch(reply)
            if match is None:
                raise AgiFrameError(f"not a FastAGI reply: {reply[:60]!r}")
            return Reply(int(match.group(1)), match.group(2) or match.group(3) or "")

    async def _skip_usage(self, first: str) -> None:
        """`520-Invalid command syntax.  Proper usage follows:` … up to `520 End of proper usage.`"""
        if not first.startswith("520-"):
            return
        for _ in range(200):
            line = await read_line(self.reader, self.timeout)
            if line is None or line.startswith("520 "):
                return

    async def set_variable(self, name: str, value: str) -> None:
        if _NAME.fullmatch(name) is None or _SAFE_VALUE.fullmatch(value) is None:
            raise ValueError(f"a channel variable {name!r} with a value AGI cannot quote")
        reply = await self.command(f'SET VARIABLE {name} "{value}"')
        if reply.result != 1:
            raise CommandRejected(f"SET VARIABLE {name} answered result={reply.result}")

    async def verbose(self, message: str) -> None:
        """A line in the Asterisk console (level 1): how a refusal's reason reaches the operator."""
        text = "".join(c for c in message if c not in '"\\')[:200]
        await self.command(f'VERBOSE "{text}" 1')
