"""Two server processes on one PostgreSQL database: a booked conference fires once."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from ledger.conferences import Conference, conference_id
from ringledger.config import Settings
from ringledger.container import build
from services.conferences import Conferences
from services.fakes import FixedClock, RecordingCallControl, RecordingDialer
from tests.charging_support import PHONE, set_up
from tests.server_process import server
from tests.support import TEST_CLOCK_START

#: Seconds after each server's clock start (TEST_CLOCK_START) that the booking is due: both are up by then.
DUE_AFTER = 15


def placed_legs(settings: Settings, cid: str) -> tuple[str, int]:
    c = build(settings)
    try:
        conference = c.ledger.repository.get(conference_id(cid))
        assert isinstance(conference, Conference)
        return conference.status, len(conference.legs)
    finally:
        c.close()


# Several processes share one store on PostgreSQL only (SQLite serves one process).
@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_two_server_processes_fire_a_booking_once(settings: Settings) -> None:
    start = datetime.fromisoformat(TEST_CLOCK_START)
    c = build(settings)
    try:
        set_up(c)
        conferences = Conferences(c.ledger, RecordingDialer(), RecordingCallControl(), FixedClock(start))
        cid = conferences.book(initiator=PHONE, participants=["01062345678"], start_at=start + timedelta(
            seconds=DUE_AFTER), retries=0, retry_interval=60, actor="test")["conference_id"]
    finally:
        c.close()
    poll = {"RINGLEDGER_CONFERENCE_POLL_SECONDS": "0.5"}
    with server(settings, **poll), server(settings, **poll):
        deadline = time.monotonic() + 60
        while placed_legs(settings, cid) == ("booked", 0):
            assert time.monotonic() < deadline, "the booking never fired"
            time.sleep(0.5)
        time.sleep(6)  # both processes' clocks are past the booking now, and both keep polling
        assert placed_legs(settings, cid) == ("running", 1)
