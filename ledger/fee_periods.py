"""Fee periods: which period an instant falls in, and the instant a period starts, in a time zone.

Pure calendar arithmetic; nothing here reads the clock. A monthly period is
keyed `YYYY-MM` and starts at local midnight of its anchor day, clamped to
the month's last day (anchor 31 starts February's period on the 28th or
29th); a daily period is keyed `YYYY-MM-DD` and starts at local midnight.
Instants are returned in UTC.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONTHLY, DAILY = "monthly", "daily"
PERIODS = (MONTHLY, DAILY)


def _day(year: int, month: int, anchor: int) -> date:
    return date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


def _month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def period_of(kind: str, at: datetime, anchor: int, tz: str) -> str:
    """The key of the period that contains `at`."""
    local = at.astimezone(ZoneInfo(tz)).date()
    if kind == DAILY:
        return local.isoformat()
    year, month = local.year, local.month
    if local < _day(year, month, anchor):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return _month_key(year, month)


def period_start(kind: str, key: str, anchor: int, tz: str) -> datetime:
    """The UTC instant at which period `key` begins (when its fee is due)."""
    if kind == DAILY:
        day = date.fromisoformat(key)
    else:
        year, month = int(key[:4]), int(key[5:7])
        day = _day(year, month, anchor)
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


def next_period(kind: str, key: str) -> str:
    if kind == DAILY:
        return (date.fromisoformat(key) + timedelta(days=1)).isoformat()
    year, month = int(key[:4]), int(key[5:7])
    return _month_key(year + 1, 1) if month == 12 else _month_key(year, month + 1)
