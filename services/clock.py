"""Where business time comes from: the system clock, or a clock pinned to a configured start.

`RINGLEDGER_CLOCK_START` (an ISO instant with its offset) makes every clock
built in this process start at that instant and tick with real elapsed time,
so a test can pin the hour of a server it starts in another process. Without
it the system clock is read at each call (freezegun in-process still works).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, as a UTC instant."""
    return datetime.now(UTC)


def parse_start(text: str) -> datetime:
    """An ISO instant with an offset (`2026-11-28T10:00:00+08:00`); a naive one is refused."""
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"RINGLEDGER_CLOCK_START must be an ISO instant, got {text!r}") from None
    if start.tzinfo is None:
        raise ValueError(f"RINGLEDGER_CLOCK_START needs an offset (e.g. +08:00), got {text!r}")
    return start.astimezone(UTC)


class TickingClock:
    """Starts at `start` when built and advances with the monotonic clock: never jumps, never stops."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._origin)


def clock_for(start: str) -> Clock:
    """The business clock for a `clock_start` setting ("" = the system clock).

    A pinned clock starts when it is built: build it once per process (the
    server's hooks, scheduler and portal share the one in `Charging.clock`).
    """
    return TickingClock(parse_start(start)) if start else system_clock
