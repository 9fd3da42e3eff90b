"""The Conference aggregate's rules, without a store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.conferences import (
    Conference,
    ConferenceNotCancellable,
    ConferenceNotRunning,
    ParticipantNotFound,
)
from ledger.errors import InvalidRequest

AT = datetime(2024, 5, 6, 3, 0, tzinfo=UTC)
ME, A, B = "+8613800138000", "+861062345678", "+862150001234"


def booked(retries: int = 1, interval: int = 60) -> Conference:
    return Conference.book("c1", "booked", "8000000001", ME, [A, B], AT, retries, interval, "test")


def test_a_booking_fires_at_its_time_and_only_once() -> None:
    c = booked()
    assert c.fire(AT - timedelta(seconds=1), "s") == []
    assert c.fire(AT, "s") == ["c1-1"]
    assert c.fire(AT, "s") == []
    assert c.status == "running" and c.legs["c1-1"]["number"] == ME


def test_the_participants_are_called_when_the_initiator_answers() -> None:
    c = booked()
    c.fire(AT, "s")
    assert c.joined("c1-1", AT) == ["c1-2", "c1-3"]
    assert [c.legs[leg]["number"] for leg in ("c1-2", "c1-3")] == [A, B]
    assert c.joined("c1-2", AT) == []  # a participant's answer calls nobody


def test_a_failed_leg_is_retried_after_the_interval_as_often_as_booked_and_once_per_failure() -> None:
    c = booked(retries=1, interval=60)
    c.fire(AT, "s")
    c.joined("c1-1", AT)
    c.failed("c1-2", "busy", AT)
    assert c.retry("c1-2", AT + timedelta(seconds=59)) == []
    assert c.retry("c1-2", AT + timedelta(seconds=60)) == ["c1-4"]
    assert c.retry("c1-2", AT + timedelta(seconds=61)) == []  # that failure was retried already
    c.failed("c1-4", "busy", AT + timedelta(seconds=70))
    assert c.legs["c1-4"]["retry_at"] is None  # attempt 2 of 1 + 1 retry: no more
    assert c.status == "running"  # a participant's last failure does not end the conference


def test_the_initiators_last_failure_ends_the_conference() -> None:
    c = booked(retries=0)
    c.fire(AT, "s")
    assert c.failed("c1-1", "no_answer", AT) == []
    assert c.status == "ended"


def test_the_initiators_hangup_ends_it_and_names_the_live_legs_to_cut() -> None:
    c = booked()
    c.fire(AT, "s")
    c.joined("c1-1", AT)
    c.joined("c1-2", AT)
    assert c.hung_up("c1-1", "normal", AT) == ["c1-2", "c1-3"]
    assert c.status == "ended"
    with pytest.raises(ConferenceNotRunning):
        c.invite("+8613900139000", "test", AT)


def test_a_participant_hangup_leaves_the_conference_running() -> None:
    c = booked()
    c.fire(AT, "s")
    c.joined("c1-1", AT)
    assert c.hung_up("c1-2", "normal", AT) == []
    assert c.status == "running"


def test_only_a_booking_not_started_can_be_cancelled_and_then_never_fires() -> None:
    c = booked()
    c.cancel("test", "moved")
    assert c.fire(AT, "s") == []
    with pytest.raises(ConferenceNotCancellable):
        c.cancel("test", "again")
    started = booked()
    started.fire(AT, "s")
    with pytest.raises(ConferenceNotCancellable):
        started.cancel("test", "too late")


def test_invite_and_drop_during_the_conference() -> None:
    c = booked()
    c.fire(AT, "s")
    c.joined("c1-1", AT)
    with pytest.raises(InvalidRequest):
        c.invite(A, "test", AT)  # already being called
    assert c.invite("+8613900139000", "test", AT) == ["c1-4"]
    assert c.drop(A, "test") == ["c1-2"]
    assert A not in c.participants and c.legs["c1-2"]["status"] == "dropped"
    with pytest.raises(ParticipantNotFound):
        c.drop(A, "test")


@pytest.mark.parametrize(("participants", "retries", "interval"), [
    ([A, A], 0, 0), ([ME], 0, 0), ([f"+86139001390{i:02d}" for i in range(21)], 0, 0),
    ([A], -1, 0), ([A], 11, 0), ([A], 0, -1), ([A], 0, 3601)])
def test_a_booking_out_of_bounds_is_refused(participants: list[str], retries: int, interval: int) -> None:
    with pytest.raises(InvalidRequest):
        Conference.book("c1", "booked", "8000000001", ME, participants, AT, retries, interval, "test")
