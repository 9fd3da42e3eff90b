"""A store outage is answered after one pool wait: the recorder retries a lost connection once, never ten times."""

from __future__ import annotations

import time

import pytest
from eventsourcing.persistence import OperationalError

from ledger.postgres_recorder import FAST_FAILURE_SECONDS, BoundedPostgresRecorder, once_more_if_fast


def failing(seconds: float, failures: int) -> tuple[list[int], object]:
    calls: list[int] = []

    def read() -> str:
        calls.append(1)
        if len(calls) <= failures:
            time.sleep(seconds)
            raise OperationalError("terminating connection due to administrator command")
        return "rows"

    return calls, once_more_if_fast(read)


def test_a_dropped_connection_is_replaced_and_the_read_answers() -> None:
    calls, read = failing(0.0, 1)
    assert read() == "rows"  # type: ignore[operator]
    assert len(calls) == 2


def test_a_store_that_stays_down_is_reported_after_the_second_try() -> None:
    calls, read = failing(0.0, 10)
    with pytest.raises(OperationalError):
        read()  # type: ignore[operator]
    assert len(calls) == 2


def test_a_failure_that_already_waited_for_a_connection_is_not_tried_again() -> None:
    calls, read = failing(FAST_FAILURE_SECONDS + 0.05, 10)
    with pytest.raises(OperationalError):
        read()  # type: ignore[operator]
    assert len(calls) == 1


def test_every_store_call_of_the_hooks_is_bounded() -> None:
    for name in ("select_events", "insert_events", "select_notifications", "max_notification_id"):
        method = getattr(BoundedPostgresRecorder, name)
        assert method.__code__ is once_more_if_fast(lambda: None).__code__, name


def test_the_postgres_store_is_built_with_the_bounded_recorder() -> None:
    from eventsourcing.utils import resolve_topic

    from ringledger.config import Settings

    env = Settings(database_url="postgresql://postgres@127.0.0.1:5432/x").eventsourcing_env()
    assert resolve_topic(env["APPLICATION_RECORDER_TOPIC"]) is BoundedPostgresRecorder
