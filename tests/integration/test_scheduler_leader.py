"""Only one process runs the scheduler's jobs; another takes over when it goes."""

from __future__ import annotations

from datetime import timedelta

from ringledger.charging_service import ChargingPolicy
from ringledger.container import Container
from ringledger.leader import Leader
from ringledger.scheduler import expire_job
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
