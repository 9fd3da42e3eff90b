"""What instants the ledger accepts from outside: only ones every rule can compute with.

Guarantees: a business time reported by a switch or a person (an answer or
hangup instant) carries a UTC offset and lies in the years 2000 to 2099 (UTC), so
adding a call's length or a hold's time to live to it never leaves the
calendar; and a call's answer or hangup is never before its authorization,
less `CLOCK_SKEW` for a switch clock that runs a little behind ours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.errors import InvalidRequest

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
#: How far a switch's clock may run behind the ledger's before its instants are refused.
CLOCK_SKEW = timedelta(seconds=60)


def check_instant(value: Any, what: str) -> datetime:
    """`value` in UTC if it is an instant with an offset in 2000..2099, else InvalidRequest."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidRequest(f"{what} must be a date and time with a UTC offset, e.g. 2026-05-01T10:00:00+08:00")
    try:
        at = value.astimezone(UTC)
    except OverflowError:
        at = None
    if at is None or not EARLIEST <= at < LATEST:
        raise InvalidRequest(f"{what} must lie between the years 2000 and 2099")
    return at


def check_not_before(at: datetime, start: datetime | None, what: str) -> None:
    """Refuse an instant earlier than `start` by more than the allowed clock skew."""
    if start is not None and at < start - CLOCK_SKEW:
        raise InvalidRequest(f"{what} {at.isoformat()} is before the call was authorized "
                             f"({start.astimezone(UTC).isoformat()})")
