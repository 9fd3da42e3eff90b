"""The PostgreSQL event recorder, with a store outage answered in one pool wait, not ten.

The library retries every read and write up to ten times, 0.2 s apart, on
any `OperationalError`, and a pool check-out that finds no connection waits
the pool timeout before it raises one. With the database gone, one read
could then take ten pool timeouts, and a switch would hear its 503 after
its own timeout. Here a failure is retried once, and only when it came fast
(a pooled connection the server dropped, replaced on the retry); a failure
that took a pool timeout, or the second one, is raised as it is.

Selected by the setting `APPLICATION_RECORDER_TOPIC` (see `ringledger.config`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder

F = TypeVar("F", bound=Callable[..., Any])

#: A failure faster than this was a dropped connection, not a wait for one.
FAST_FAILURE_SECONDS = 0.5


def once_more_if_fast(func: F) -> F:
    plain = getattr(func, "__wrapped__", func)  # the library's retry decorator, taken off

    @wraps(plain)
    def call(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return plain(*args, **kwargs)
        except (InterfaceError, OperationalError):
            if time.monotonic() - started > FAST_FAILURE_SECONDS:
                raise
        return plain(*args, **kwargs)

    return call  # type: ignore[return-value]


class BoundedPostgresRecorder(PostgresApplicationRecorder):
    select_events = once_more_if_fast(PostgresAggregateRecorder.select_events)
    insert_events = once_more_if_fast(PostgresApplicationRecorder.insert_events)
    select_notifications = once_more_if_fast(PostgresApplicationRecorder.select_notifications)
    max_notification_id = once_more_if_fast(PostgresApplicationRecorder.max_notification_id)
