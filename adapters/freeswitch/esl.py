"""The FreeSWITCH event socket's frames, read and written by hand.

A frame is a block of `Name: value` header lines ended by a blank line,
then `Content-Length` bytes of body. `Content-Type` says what it is:
`auth/request`, `command/reply`, `api/response`, `text/event-plain` (the
body is an event: URL-encoded `Name: value` lines, a blank line, and its own
body when it has a `Content-Length`), `text/disconnect-notice`. A command
is one or more lines ended by a blank line.

Guarantees: a frame is returned whole or not at all; a frame that breaks
these rules (a header line without a colon, a `Content-Length` that is not
a number or too large, a connection that ends inside a frame) raises
`FrameError` with what was wrong; header values are never taken apart
beyond the first colon.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import unquote

#: The largest frame body accepted (events with big variable lists stay far below).
MAX_BODY = 4 * 1024 * 1024
MAX_HEADER_LINES = 2000


class FrameError(Exception):
    """A frame that does not follow the event socket's rules."""


@dataclass
class Frame:
    headers: dict[str, str]
    body: bytes = b""
    #: For an event: its own headers (URL-decoded) and its own body.
    event: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def reply(self) -> str:
        """A command/reply's `Reply-Text`, or an api/response's body, as text."""
        if self.content_type == "api/response":
            return self.body.decode("utf-8", "replace")
        return self.headers.get("Reply-Text", "")

    @property
    def ok(self) -> bool:
        return self.reply.startswith("+OK")


def _header_lines(raw: bytes, decode: bool) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise FrameError(f"header line without a name and a colon: {line[:80]!r}")
        value = value.strip()
        headers[name.strip()] = unquote(value) if decode else value
    return headers


def _length(headers: dict[str, str]) -> int:
    raw = headers.get("Content-Length")
    if raw is None:
        return 0
    if not raw.isdigit():
        raise FrameError(f"Content-Length is not a number: {raw[:40]!r}")
    length = int(raw)
    if length > MAX_BODY:
        raise FrameError(f"Content-Length {length} is more than {MAX_BODY}")
    return length


def parse_event(body: bytes) -> tuple[dict[str, str], bytes]:
    """An event-plain body: its URL-decoded headers and the body after them (if it names one)."""
    head, _, rest = body.partition(b"\n\n")
    headers = _header_lines(head, decode=True)
    if not headers.get("Event-Name"):
        raise FrameError("an event without Event-Name")
    length = _length(headers)
    if length > len(rest):
        raise FrameError(f"the event's Content-Length {length} is more than the {len(rest)} bytes left")
    return headers, rest[:length]


async def read_frame(reader: asyncio.StreamReader, *, decode_headers: bool = False) -> Frame:
    """The next frame; `decode_headers` for a frame whose header values are URL-encoded
    (the outbound `connect` reply carries the channel's variables so)."""
    lines: list[bytes] = []
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as err:
            if not lines and not err.partial:
                raise EOFError("the event socket closed") from None
            raise FrameError("the connection ended inside a frame's headers") from None
        except (asyncio.LimitOverrunError, ValueError):  # a line past the stream's limit: not a frame
            raise FrameError("a header line longer than the stream's limit") from None
        if line in (b"\n", b"\r\n"):
            if lines:
                break
            continue  # blank lines between frames
        lines.append(line)
        if len(lines) > MAX_HEADER_LINES:
            raise FrameError("a frame with too many header lines")
    headers = _header_lines(b"".join(lines), decode=decode_headers)
    length = _length(headers)
    body = b""
    if length:
        try:
            body = await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            raise FrameError(f"the connection ended inside a body of {length} bytes") from None
    frame = Frame(headers, body)
    if frame.content_type == "text/event-plain":
        frame.event, frame.body = parse_event(body)
    return frame


def command(text: str, **headers: str) -> bytes:
    """A command as sent: its line, header lines (`sendmsg`), a blank line. No line breaks inside values."""
    parts = [text, *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items())]
    for part in parts:
        if "\n" in part or "\r" in part:
            raise ValueError("an event socket command may not contain a line break")
    return ("\n".join(parts) + "\n\n").encode()
