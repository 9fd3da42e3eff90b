"""`make test-at` moves the wall clock of every Python process it starts, and only the wall clock."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

SHIFT = Path(__file__).resolve().parents[1] / "clock_shift"
PROBE = ("import datetime, time; "
         "print(datetime.datetime.now(datetime.UTC).isoformat()); print(time.monotonic())")


def run(at: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SHIFT), "RINGLEDGER_TEST_AT": at}
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)


def test_a_started_process_sees_the_chosen_hour_and_a_real_monotonic_clock() -> None:
    before = float(subprocess.run([sys.executable, "-c", "import time; print(time.monotonic())"],
                                  capture_output=True, text=True, check=True).stdout)
    done = run("2030-01-01T02:00:00+08:00")
    assert done.returncode == 0, done.stderr
    wall, monotonic = done.stdout.split()
    seen = datetime.fromisoformat(wall)
    assert datetime(2029, 12, 31, 18, 0, tzinfo=UTC) <= seen < datetime(2029, 12, 31, 18, 1, tzinfo=UTC)
    assert float(monotonic) >= before  # the monotonic clock is the machine's own


def test_an_instant_without_an_offset_is_refused() -> None:
    done = run("2030-01-01T02:00:00")
    assert done.returncode != 0 and "UTC offset" in done.stderr
