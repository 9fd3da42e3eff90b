"""The business clock a setting chooses: the system clock, or one pinned to a start that ticks on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from pydantic import ValidationError

from services.clock import TickingClock, clock_for, system_clock
from ringledger.config import Settings


def test_no_setting_reads_the_system_clock_so_freezegun_still_works() -> None:
    assert clock_for("") is system_clock
    with freeze_time("2024-05-06 18:00:00"):
        assert system_clock() == datetime(2024, 5, 6, 18, 0, tzinfo=UTC)


def test_a_pinned_clock_starts_at_its_instant_and_ticks_with_elapsed_time(monkeypatch) -> None:
    ticks = iter([100.0, 100.0, 160.5])
    monkeypatch.setattr("services.clock.time.monotonic", lambda: next(ticks))
    clock = clock_for("2026-11-28T02:00:00+08:00")
    assert isinstance(clock, TickingClock)
    start = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # 02:00 Beijing
    assert clock() == start
    assert clock() == start + timedelta(seconds=60.5)


@pytest.mark.parametrize("value", ["yesterday", "2026-11-28T10:00:00"])
def test_a_clock_start_that_is_not_an_instant_with_an_offset_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="RINGLEDGER_CLOCK_START"):
        Settings(clock_start=value)


def test_the_setting_is_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("RINGLEDGER_CLOCK_START", "2026-11-28T14:00:00+08:00")
    assert clock_for(Settings().clock_start)().astimezone(UTC).hour == 6
