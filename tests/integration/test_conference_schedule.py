"""Booked conferences fire once at their time, across restarts and processes; retries follow the booking."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from ledger.conferences import ConferenceNotCancellable
from ringledger.config import Settings
from ringledger.container import Container, build
from ringledger.leader import Leader
from ringledger.scheduler import conference_job
from services.conferences import Conferences
from services.fakes import FixedClock, RecordingCallControl, RecordingDialer
from tests.charging_support import PEAK, PHONE, set_up

FRIEND = "+8613900139001"
AT = PEAK + timedelta(hours=1)


@contextmanager
def process(settings: Settings, now: object) -> Iterator[tuple[Container, Conferences, RecordingDialer]]:
    """One process on the store: its own container, dialer and clock (as after a restart)."""
    c = build(settings)
    dialer = RecordingDialer()
    clock = now if isinstance(now, FixedClock) else FixedClock(now)  # type: ignore[arg-type]
    try:
        yield c, Conferences(c.ledger, dialer, RecordingCallControl(), clock), dialer
    finally:
        c.close()


def book(conferences: Conferences, retries: int = 2, interval: int = 60) -> str:
    booked = conferences.book(initiator=PHONE, participants=[FRIEND], start_at=AT, retries=retries,
                              retry_interval=interval, actor="test")
    return str(booked["conference_id"])


def test_a_booking_fires_once_at_its_time_across_restarts(settings: Settings) -> None:
    with process(settings, PEAK) as (c, conferences, dialer):
        set_up(c)
        cid = book(conferences)
        assert conference_job(c, conferences) == []  # an hour early: nothing
    # The process is gone; a new one starts a minute before the booking, then at it.
    with process(settings, AT - timedelta(minutes=1)) as (c, conferences, dialer):
        assert conference_job(c, conferences) == []
        conferences.clock.now = AT  # type: ignore[attr-defined]
        assert conference_job(c, conferences) == [f"{cid}-1"]
        (placed,) = dialer.originated
        assert (placed.call_id, placed.callee, placed.conference_id) == (f"{cid}-1", PHONE, cid)
        assert conference_job(c, conferences) == []  # the next poll: already fired
    # Another restart, later: it does not fire again.
    with process(settings, AT + timedelta(minutes=5)) as (c, conferences, dialer):
        assert conference_job(c, conferences) == []
        assert dialer.originated == []
        c.catch_up()
        assert c.views.query("SELECT COUNT(*) FROM conference_schedule")[0][0] == 0


def test_a_cancelled_booking_never_fires_and_a_started_one_cannot_be_cancelled(settings: Settings) -> None:
    with process(settings, PEAK) as (c, conferences, dialer):
        set_up(c)
        cancelled, kept = book(conferences), book(conferences)
        conferences.cancel(cancelled, "test", "meeting moved")
    with process(settings, AT + timedelta(minutes=10)) as (c, conferences, dialer):
        assert conference_job(c, conferences) == [f"{kept}-1"]
        assert [o.conference_id for o in dialer.originated] == [kept]
        with pytest.raises(ConferenceNotCancellable):
            conferences.cancel(kept, "test")
        with pytest.raises(ConferenceNotCancellable):
            conferences.cancel(cancelled, "test")


def test_a_failed_leg_is_retried_as_booked_and_then_given_up(container: Container) -> None:
    set_up(container)
    clock = FixedClock(PEAK)
    dialer = RecordingDialer()
    conferences = Conferences(container.ledger, dialer, RecordingCallControl(), clock)
    cid = book(conferences, retries=2, interval=90)
    clock.now = AT
    assert conference_job(container, conferences) == [f"{cid}-1"]
    # The initiator does not answer: called again 90 s later, twice, then the conference ends.
    conferences.leg_event(cid, f"{cid}-1", "failed", "no_answer")
    clock.advance(89)
    assert conference_job(container, conferences) == []
    clock.advance(1)
    assert conference_job(container, conferences) == [f"{cid}-2"]
    conferences.leg_event(cid, f"{cid}-2", "failed", "busy")
    clock.advance(90)
    assert conference_job(container, conferences) == [f"{cid}-3"]
    ended = conferences.leg_event(cid, f"{cid}-3", "failed", "busy")
    assert ended["status"] == "ended"
    clock.advance(3600)
    assert conference_job(container, conferences) == []
    assert [o.call_id for o in dialer.originated] == [f"{cid}-1", f"{cid}-2", f"{cid}-3"]
    assert [leg["attempt"] for leg in ended["leg_list"]] == [1, 2, 3]


def test_a_participant_who_fails_is_retried_while_the_initiator_stays(container: Container) -> None:
    set_up(container)
    clock = FixedClock(AT)
    dialer = RecordingDialer()
    conferences = Conferences(container.ledger, dialer, RecordingCallControl(), clock)
    cid = book(conferences, retries=1, interval=30)
    conference_job(container, conferences)
    joined = conferences.leg_event(cid, f"{cid}-1", "joined")
    assert joined["legs"] == [f"{cid}-2"]  # the initiator answered: the participant is called
    assert dialer.originated[-1].callee == FRIEND
    conferences.leg_event(cid, f"{cid}-2", "failed", "no_answer")
    clock.advance(30)
    assert conference_job(container, conferences) == [f"{cid}-3"]
    conferences.leg_event(cid, f"{cid}-3", "failed", "no_answer")
    clock.advance(30)
    assert conference_job(container, conferences) == []  # one retry was booked: given up
    assert conferences.leg_event(cid, f"{cid}-1", "hangup")["status"] == "ended"


def test_two_processes_racing_on_one_store_fire_a_booking_once(settings: Settings) -> None:
    with process(settings, PEAK) as (c, conferences, _):
        set_up(c)
        cids = [book(conferences) for _ in range(3)]
    with process(settings, AT) as (c1, conf1, dialer1), process(settings, AT) as (c2, conf2, dialer2):
        # Both look at once, each as if it led (no election): the version conflict keeps it to once.
        barrier = threading.Barrier(2)
        results: list[list[str]] = [[], []]

        def run(i: int, c: Container, conferences: Conferences) -> None:
            barrier.wait()
            results[i] = conference_job(c, conferences)

        threads = [threading.Thread(target=run, args=(0, c1, conf1)), threading.Thread(target=run, args=(1, c2, conf2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        placed = sorted(o.conference_id or "" for o in dialer1.originated + dialer2.originated)
        assert placed == sorted(cids)
        assert sorted(results[0] + results[1]) == sorted(f"{cid}-1" for cid in cids)


def test_with_an_elected_leader_only_the_leader_fires(settings: Settings) -> None:
    with process(settings, PEAK) as (c, conferences, _):
        set_up(c)
        cid = book(conferences)
    with process(settings, AT) as (c1, conf1, dialer1), process(settings, AT) as (c2, conf2, dialer2):
        first, second = Leader(c1.views), Leader(c2.views)
        try:
            assert first.try_lead()
            if c1.views.is_postgres:
                assert conference_job(c2, conf2, second) == []  # not elected: does nothing
                assert dialer2.originated == []
            assert conference_job(c1, conf1, first) == [f"{cid}-1"]
            assert conference_job(c2, conf2, second) == []
        finally:
            first.resign()
            second.resign()


def test_the_conference_views_rebuilt_from_zero_equal_the_live_ones(container: Container) -> None:
    from projections.runner import Projector

    set_up(container)
    clock = FixedClock(PEAK)
    conferences = Conferences(container.ledger, RecordingDialer(), RecordingCallControl(), clock)
    waiting, cancelled, cid = book(conferences), book(conferences), book(conferences, retries=1, interval=30)
    conferences.cancel(cancelled, "test", "moved")
    clock.now = AT
    for conference in (waiting, cid):
        conferences.fire(conference)
    conferences.leg_event(cid, f"{cid}-1", "joined")
    conferences.invite(cid, "01062345678", "test")
    conferences.leg_event(cid, f"{cid}-2", "failed", "busy")  # FRIEND: a retry is due in 30 s
    conferences.drop(cid, "01062345678", "test")
    container.catch_up()
    live_schedule = container.views.query("SELECT conference_id, kind, leg FROM conference_schedule ORDER BY leg")
    assert live_schedule == [(cid, "retry", f"{cid}-2")]
    scratch = Projector(container.ledger, container.views, prefix="scratch_")
    try:
        scratch.run()
        live, rebuilt = container.projector.dump(), scratch.dump()
        assert len(live["conferences"]) == 3 and len(live["conference_legs"]) == 4
        for table in ("conferences", "conference_legs", "conference_schedule"):
            assert rebuilt[table] == live[table], table
    finally:
        scratch.drop()
        scratch.close()


def test_a_booking_found_long_overdue_after_an_outage_is_recorded_as_missed_not_rung(settings: Settings) -> None:
    with process(settings, PEAK) as (c, conferences, _):
        set_up(c)
        late, missed = book(conferences), book(conferences)
    with process(settings, AT + timedelta(minutes=30)) as (c, conferences, dialer):
        assert conferences.run_due([(late, "start", "")]) == [f"{late}-1"]  # 30 min late: still started
        conferences.clock.advance(1)  # type: ignore[attr-defined]
        assert conference_job(c, conferences) == []
        assert [o.conference_id for o in dialer.originated] == [late]
        c.catch_up()
        assert c.views.query("SELECT status, end_cause FROM conferences WHERE conference_id = ?",
                             (missed,)) == [("cancelled", "missed")]
        assert c.views.query("SELECT COUNT(*) FROM conference_schedule")[0][0] == 0


def test_leg_reports_after_the_end_change_nothing_and_a_late_answer_is_refused(container: Container) -> None:
    from ledger.conferences import ConferenceNotRunning

    set_up(container)
    clock = FixedClock(AT)
    control = RecordingCallControl()
    conferences = Conferences(container.ledger, RecordingDialer(), control, clock)
    cid = book(conferences, retries=3, interval=30)
    conferences.fire(cid)
    conferences.leg_event(cid, f"{cid}-1", "joined")  # the participant's leg -2 is being called
    ended = conferences.leg_event(cid, f"{cid}-1", "hangup")
    assert ended["legs"] == [f"{cid}-2"] and control.cuts == [(f"{cid}-2", "conference_ended")]
    before = container.ledger.recorder.max_notification_id()
    # The switch reports the cut leg as failed, and the initiator's hangup again: nothing changes, no retry.
    assert conferences.leg_event(cid, f"{cid}-2", "failed", "cut")["legs"] == []
    assert conferences.leg_event(cid, f"{cid}-1", "hangup")["legs"] == []
    with pytest.raises(ConferenceNotRunning):
        conferences.leg_event(cid, f"{cid}-2", "joined")
    assert container.ledger.recorder.max_notification_id() == before
    clock.advance(60)
    assert conference_job(container, conferences) == []
