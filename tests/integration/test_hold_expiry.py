"""When an abandoned hold expires, and what a hangup reported after expiry charges, on each store.

Guarantees pinned here: a hold with no answer or interim report for the TTL
expires TTL after its last report; an answered call's hold expires TTL after
the later of its last interim and the end of its granted time, and never
earlier; a late end records the real usage and collects what the balance
allows, never below zero, flagged for review.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory

from services.charging import Charging, ChargingPolicy
from services.clock import system_clock
from ringledger.container import Container
from ringledger.scheduler import expire_job
from tests.charging_support import ACCOUNT, allow_frozen_time, call, set_up, trial_balance

TTL = 600
# 10:00 Beijing on a Monday: peak, local calls 0.10 a minute (60/60).
START = "2024-05-06 02:00:00"


@pytest.fixture
def frozen(container: Container) -> Iterator[FrozenDateTimeFactory]:
    with freeze_time(START, tick=False) as clock:
        allow_frozen_time(container)
        yield clock


def charging_for(container: Container, balance: int = 10_0000, max_call_seconds: int = 3600) -> Charging:
    # The whole call is granted at once, so the expiry rule is seen apart from the slices.
    policy = ChargingPolicy(refresh_seconds=0, hold_ttl=TTL, max_call_seconds=max_call_seconds,
                            grant_seconds=max_call_seconds)
    return set_up(container, balance, policy=policy, clock=system_clock)


def expired_now(container: Container, charging: Charging) -> list[str]:
    return [e["call_id"] for e in expire_job(container, charging, system_clock)]


def test_a_never_answered_hold_expires_ttl_after_authorize(container: Container,
                                                           frozen: FrozenDateTimeFactory) -> None:
    charging = charging_for(container)  # grants 3600 s: the old rule kept the money 70 minutes
    assert charging.authorize(call("silent"))["max_seconds"] == 3600
    frozen.tick(timedelta(seconds=TTL - 1))
    assert expired_now(container, charging) == []
    frozen.tick(timedelta(seconds=2))
    assert expired_now(container, charging) == ["silent"]
    assert container.ledger.account(ACCOUNT).held == 0 and container.ledger.account(ACCOUNT).balance == 10_0000
    assert trial_balance(container) == 0


def test_an_interim_before_the_answer_keeps_the_hold_ttl_longer(container: Container,
                                                                 frozen: FrozenDateTimeFactory) -> None:
    charging = charging_for(container)
    charging.authorize(call("ringing"))
    frozen.tick(timedelta(seconds=500))
    charging.interim("ringing", 1)
    frozen.tick(timedelta(seconds=TTL - 1))  # 1099 s after authorize: past authorize + TTL
    assert expired_now(container, charging) == []
    frozen.tick(timedelta(seconds=2))
    assert expired_now(container, charging) == ["ringing"]


def test_an_answered_hold_expires_ttl_after_its_granted_time(container: Container,
                                                             frozen: FrozenDateTimeFactory) -> None:
    charging = charging_for(container, max_call_seconds=900)
    charging.authorize(call("talking"))
    charging.answer("talking")
    frozen.tick(timedelta(seconds=300))
    charging.interim("talking", 300)  # 0.50 used
    # Not early: the call may talk its granted 900 s, and TTL after that.
    frozen.tick(timedelta(seconds=900 + TTL - 300 - 1))
    assert expired_now(container, charging) == []
    frozen.tick(timedelta(seconds=2))
    assert expired_now(container, charging) == ["talking"]
    account = container.ledger.account(ACCOUNT)
    assert account.held == 0 and account.balance == 10_0000 - 5000
    assert trial_balance(container) == 0


def test_an_answered_hold_expires_ttl_after_a_last_interim_past_its_granted_time(
        container: Container, frozen: FrozenDateTimeFactory) -> None:
    charging = charging_for(container, max_call_seconds=900)
    charging.authorize(call("slow-switch"))
    charging.answer("slow-switch")
    frozen.tick(timedelta(seconds=1200))  # the switch reports late: after the granted time ended
    charging.interim("slow-switch", 890)
    frozen.tick(timedelta(seconds=TTL - 1))
    assert expired_now(container, charging) == []
    frozen.tick(timedelta(seconds=2))
    assert expired_now(container, charging) == ["slow-switch"]
    container.catch_up()
    # 890 s at 0.10 a minute, 60/60: 15 minutes, 1.50.
    assert container.views.query("SELECT status, billsec, charged FROM cdrs WHERE call_id = 'slow-switch'") == [
        ("expired", 890, 15000)]


def test_a_late_end_after_expiry_charges_the_real_usage_once(container: Container,
                                                             frozen: FrozenDateTimeFactory) -> None:
    charging = charging_for(container)
    charging.authorize(call("lost"))
    charging.answer("lost")
    charging.interim("lost", 120)  # 0.20 used when the switch went quiet
    frozen.tick(timedelta(seconds=3600 + TTL + 1))
    assert expired_now(container, charging) == ["lost"]
    frozen.tick(timedelta(seconds=60))
    late = charging.end("lost", 3000)  # 50 minutes: 5.00
    assert (late["charged"], late["cost"], late["flags"]) == (5_0000, 5_0000, "expired,late_end,review")
    assert late["balance"] == 5_0000
    assert charging.end("lost", 3000) == late  # a retried late end changes nothing
    account = container.ledger.account(ACCOUNT)
    assert account.balance == 5_0000 and account.held == 0
    container.catch_up()
    assert container.views.query("SELECT status, billsec, charged, flags FROM cdrs WHERE call_id = 'lost'") == [
        ("expired", 3000, 5_0000, "expired,late_end,review")]
    assert trial_balance(container) == 0


def test_a_late_end_collects_only_what_the_balance_allows(container: Container,
                                                          frozen: FrozenDateTimeFactory) -> None:
    charging = charging_for(container, balance=1_0000)  # 1.00: ten minutes
    charging.authorize(call("lost"))
    charging.answer("lost")
    charging.interim("lost", 60)  # 0.10
    frozen.tick(timedelta(seconds=600 + TTL + 1))
    assert expired_now(container, charging) == ["lost"]
    late = charging.end("lost", 3000)  # 5.00 owed, 0.90 left
    assert late["flags"] == "expired,late_end,review,uncollected"
    assert (late["cost"], late["charged"], late["balance"]) == (5_0000, 1_0000, 0)
    account = container.ledger.account(ACCOUNT)
    assert account.balance == 0 and account.held == 0
    container.catch_up()
    assert container.views.query("SELECT charged, flags FROM cdrs WHERE call_id = 'lost'") == [
        (1_0000, "expired,late_end,review,uncollected")]
    assert trial_balance(container) == 0
