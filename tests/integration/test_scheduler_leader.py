"""Only one process runs the scheduler's jobs; another takes over when it goes."""

from __future__ import annotations

from datetime import timedelta

from services.charging import ChargingPolicy
from ringledger.container import Container
from ringledger.leader import Leader
from ringledger.scheduler import build_scheduler, expire_job, grant_job
from tests.charging_support import PEAK, call, set_up


def test_one_leader_at_a_time_and_a_successor_when_it_goes(container: Container) -> None:
    first, second = Leader(container.views), Leader(container.views)
    try:
        assert first.try_lead() is True
        if container.views.is_postgres:
            assert second.try_lead() is False  # the lock is held by the first process's connection
            first.resign()  # the leader's connection closes (as when its process dies)
        assert second.try_lead() is True
    finally:
        first.resign()
        second.resign()


def test_only_the_leader_settles_an_abandoned_hold(container: Container) -> None:
    policy = ChargingPolicy(refresh_seconds=0, hold_ttl=600, max_call_seconds=3600)
    now = [PEAK]
    charging = set_up(container, 10_0000, policy=policy, clock=lambda: now[0])
    charging.authorize(call("lost"))
    now[0] = PEAK + timedelta(hours=2)  # long past the hold's expiry
    leader, follower = Leader(container.views), Leader(container.views)
    try:
        assert leader.try_lead()
        if container.views.is_postgres:
            assert expire_job(container, charging, charging.clock, follower) == []  # not elected: does nothing
        expired = expire_job(container, charging, charging.clock, leader)
        assert [e["call_id"] for e in expired] == ["lost"]
    finally:
        leader.resign()
        follower.resign()


def test_only_the_leader_extends_or_cuts_a_silent_call_s_grant(container: Container) -> None:
    from services.fakes import FixedClock

    clock = FixedClock(PEAK)
    policy = ChargingPolicy(refresh_seconds=0, grant_seconds=60, grant_lead=30)
    charging = set_up(container, 10_0000, policy=policy, clock=clock)
    charging.authorize(call("quiet"))
    charging.answer("quiet", PEAK)
    clock.advance(40)  # 20 s left of the first minute
    leader, follower = Leader(container.views), Leader(container.views)
    try:
        assert leader.try_lead()
        if container.views.is_postgres:
            assert grant_job(container, charging, clock, follower) == []  # not elected: does nothing
        assert [d["granted_seconds"] for d in grant_job(container, charging, clock, leader)] == [120]
    finally:
        leader.resign()
        follower.resign()


def test_the_scheduler_runs_the_grant_timer_beside_hold_expiry(container: Container) -> None:
    charging = set_up(container, 10_0000)
    scheduler = build_scheduler(container, charging, Leader(container.views))
    assert {job.id for job in scheduler.get_jobs()} == {"expire_stale_holds", "extend_grants", "phonebar_alerts",
                                                        "recurring_fees", "missed_calls"}


def test_a_resigning_leader_hands_over_at_once_and_other_schemas_never_contend(container: Container) -> None:
    # Regression: on a busy shared server, a successor asking right after the leader closed
    # its connection was refused (the server had not yet ended the old backend).
    import uuid

    from projections.db import ViewDB
    from tests.support import drop_schema

    for _ in range(20):
        first, second = Leader(container.views), Leader(container.views)
        assert first.try_lead() is True
        first.resign()
        assert second.try_lead() is True
        second.resign()
    if not container.views.is_postgres:
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    other_db = ViewDB(container.views.url, schema)
    here, there = Leader(container.views), Leader(other_db)
    try:
        assert here.try_lead() is True
        assert there.try_lead() is True  # a store in another schema elects its own leader
    finally:
        here.resign()
        there.resign()
        other_db.close()
        drop_schema(schema)


def test_a_successor_takes_over_when_the_leaders_connection_dies(container: Container) -> None:
    import time

    if not container.views.is_postgres:
        return
    first, second = Leader(container.views), Leader(container.views)
    try:
        assert first.try_lead() is True
        assert second.try_lead() is False
        first._conn.close()  # the process dies: no unlock, the server frees the lock when the backend ends
        deadline = time.monotonic() + 10
        while not second.try_lead() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.is_leader
    finally:
        first._conn = None
        first.resign()
        second.resign()
