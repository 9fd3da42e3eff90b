"""Twelve frozen months of recurring fees: both missed-call subscriptions and a lease on one account.

Each period is charged once (never twice after a restart, nor by two
processes at the same instant); a fee the balance cannot pay suspends its
subscription with arrears, and a deposit resumes it, paying the arrears.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.errors import AccountNotFound, InvalidRequest
from ledger.subscriptions import SubscriptionExists, SubscriptionNotFound, fee_revenue
from projections.runner import Projector
from projections.subscriptions import history
from ringledger.config import Settings
from ringledger.container import Container, build
from ringledger.leader import Leader
from ringledger.scheduler import fee_job
from ringledger.subscriptions import build_subscriptions
from services.fakes import FixedClock
from services.subscriptions import Subscriptions
from tests.charging_support import trial_balance

ACCOUNT = "8000000077"
OFF, BUSY, LEASE = "missed_call_off", "missed_call_busy", "lease:pbx-line"
START = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)  # 2027-01-10 10:00 in Shanghai


def local(day: str, hour: int = 0, minute: int = 30) -> datetime:
    """`day` at hour:minute in Shanghai, as a UTC instant."""
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@contextmanager
def process(settings: Settings, clock: FixedClock) -> Iterator[tuple[Container, Subscriptions]]:
    """One process on the store (as after a restart): its own container and fee service, on `clock`."""
    c = build(settings)
    try:
        yield c, build_subscriptions(c, clock)
    finally:
        c.close()


def fees_state(c: Container) -> dict[str, tuple[str, int, list[str]]]:
    subs = build_subscriptions(c, lambda: START).list(ACCOUNT)
    return {s["service"]: (s["status"], s["arrears"], s["unpaid_periods"]) for s in subs}


def balance(c: Container) -> int:
    return c.ledger.account(ACCOUNT).balance


def run_until(c: Container, fees: Subscriptions, clock: FixedClock, day: str) -> None:
    """The job at 00:30 (Shanghai) every morning after the clock's day, up to and including `day`."""
    while clock.now < local(day):
        next_day = (clock.now + timedelta(hours=8)).date() + timedelta(days=1)
        clock.now = local(next_day.isoformat())
        fee_job(c, fees)


def test_twelve_months_of_fees_are_charged_once_a_period_suspended_when_unpaid_and_resumed_when_paid(
        settings: Settings) -> None:
    clock = FixedClock(START)
    with process(settings, clock) as (c, fees):
        c.ledger.open_account("subscriber", "test", number=ACCOUNT)
        c.ledger.deposit(ACCOUNT, 14_0000, "test")  # exactly the first month: 2.00 + 2.00 + 10.00
        fees.subscribe(ACCOUNT, OFF, 2_0000, "test")  # anchored on the 10th (today)
        fees.subscribe(ACCOUNT, BUSY, 2_0000, "test")
        first = fees.subscribe(ACCOUNT, LEASE, 10_0000, "test", anchor_day=31)  # due on each month's last day
        assert first["charged"] == ["2026-12"]  # the lease period begun on 2026-12-31
        assert balance(c) == 0

        # 2027-01-31: nothing left for the lease; 2027-02-10: nothing for either missed-call fee.
        run_until(c, fees, clock, "2027-02-10")
        assert fees_state(c) == {LEASE: ("suspended", 10_0000, ["2027-01"]),
                                 OFF: ("suspended", 2_0000, ["2027-02"]), BUSY: ("suspended", 2_0000, ["2027-02"])}
        run_until(c, fees, clock, "2027-03-05")  # suspended: February's lease period is not billed on the 28th
        assert fees_state(c)[LEASE] == ("suspended", 10_0000, ["2027-01"]) and balance(c) == 0

        # A deposit: the next run pays every arrear and bills the periods the day falls in.
        c.ledger.deposit(ACCOUNT, 100_0000, "test")
        run_until(c, fees, clock, "2027-03-06")
        assert fees_state(c) == {LEASE: ("active", 0, []), OFF: ("active", 0, []), BUSY: ("active", 0, [])}
        # lease: arrears 10.00 (2027-01) + February's period 10.00; each missed-call fee: arrears 2.00
        assert balance(c) == 100_0000 - 10_0000 - 10_0000 - 2_0000 - 2_0000

        run_until(c, fees, clock, "2027-07-01")
    # A restart mid-way: a new process, the job twice at the same instant, and another process beside it.
    clock.now = local("2027-07-10")
    with process(settings, clock) as (c, fees), process(settings, clock) as (c2, fees2):
        before = balance(c)
        done = fee_job(c, fees)
        assert sorted(d["service"] for d in done) == [BUSY, OFF]
        assert fee_job(c, fees) == [] and fee_job(c2, fees2) == []
        assert balance(c) == before - 4_0000
    with process(settings, clock) as (c, fees):
        run_until(c, fees, clock, "2027-09-10")
        # 6.00 was left for the lease on 2027-08-31; 2.00 on 2027-09-10: the first due (busy) is paid.
        assert fees_state(c) == {LEASE: ("suspended", 10_0000, ["2027-08"]), OFF: ("suspended", 2_0000, ["2027-09"]),
                                 BUSY: ("active", 0, [])}
        assert balance(c) == 0
        run_until(c, fees, clock, "2027-10-01")
        c.ledger.deposit(ACCOUNT, 50_0000, "test")
        run_until(c, fees, clock, "2027-10-02")
        # lease: arrears (2027-08) and the period begun on 2027-09-30; off: its arrears (2027-09)
        assert balance(c) == 50_0000 - 10_0000 - 10_0000 - 2_0000
        run_until(c, fees, clock, "2028-01-10")  # twelve months after the first fees
        # The money ran out again in December: each is suspended with its arrears shown.
        assert fees_state(c) == {LEASE: ("suspended", 10_0000, ["2027-12"]), OFF: ("suspended", 2_0000, ["2027-12"]),
                                 BUSY: ("suspended", 2_0000, ["2027-12"])}
        c.catch_up()

        rows = history(c.views, ACCOUNT)
        # Every period is paid at most once (charged on its day, or paid as arrears), never twice.
        paid = Counter((r["service"], r["period"]) for r in rows if r["outcome"] in ("charged", "paid"))
        assert paid and max(paid.values()) == 1
        # Every unpaid period was suspended once; those paid later show as paid.
        unpaid = Counter((r["service"], r["period"]) for r in rows if r["outcome"] == "unpaid")
        assert max(unpaid.values()) == 1 and (LEASE, "2027-01") in paid and (OFF, "2027-08") in paid
        # Twelve months of the missed-call subscriptions, each month billed once (January 2028 is not billed:
        # the subscription is suspended).
        months = sorted({p for s, p in paid | unpaid if s == BUSY})
        assert months == [f"2027-{m:02d}" for m in range(1, 13)]
        # What the fee revenue earned is what the account paid, and what the history says was paid.
        earned = sum(int(c.views.query("SELECT COALESCE(SUM(balance), 0) FROM gl_balances WHERE account = ?",
                                        (fee_revenue(s),))[0][0]) for s in (OFF, BUSY, LEASE))
        assert earned == sum(r["amount"] for r in rows if r["outcome"] in ("charged", "paid"))
        assert balance(c) == 14_0000 + 100_0000 + 50_0000 - earned
        assert trial_balance(c) == 0

        # The views rebuilt from the log equal the live ones.
        scratch = Projector(c.ledger, c.views, prefix="scratch_")
        try:
            scratch.run()
            live, rebuilt = c.projector.dump(), scratch.dump()
            for table in ("subscriptions", "fee_history", "gl_balances"):
                assert rebuilt[table] == live[table], table
        finally:
            scratch.drop()
            scratch.close()


def test_only_the_elected_process_charges_fees(container: Container) -> None:
    clock = FixedClock(START)
    fees = build_subscriptions(container, clock)
    container.ledger.open_account("subscriber", "test", number=ACCOUNT)
    fees.subscribe(ACCOUNT, OFF, 2_0000, "test")  # nothing to pay with: suspended at once
    container.ledger.deposit(ACCOUNT, 5_0000, "test")
    leader, follower = Leader(container.views), Leader(container.views)
    try:
        assert leader.try_lead()
        if container.views.is_postgres:
            assert fee_job(container, fees, follower) == []  # not elected: does nothing
        assert [d["outcome"] for d in fee_job(container, fees, leader)] == ["resumed"]
        assert balance(container) == 3_0000
    finally:
        leader.resign()
        follower.resign()


def test_bad_input_changes_nothing(container: Container) -> None:
    fees = build_subscriptions(container, FixedClock(START))
    container.ledger.open_account("subscriber", "test", number=ACCOUNT)
    container.ledger.deposit(ACCOUNT, 10_0000, "test")
    fees.subscribe(ACCOUNT, OFF, 2_0000, "test")
    head = container.ledger.recorder.max_notification_id()
    for call, error in [
        (lambda: fees.subscribe("8000000099", OFF, 2_0000, "test"), AccountNotFound),
        (lambda: fees.subscribe(ACCOUNT, OFF, 2_0000, "test"), SubscriptionExists),
        (lambda: fees.subscribe(ACCOUNT, "Missed Call", 2_0000, "test"), InvalidRequest),
        (lambda: fees.subscribe(ACCOUNT, BUSY, -1, "test"), InvalidRequest),
        (lambda: fees.subscribe(ACCOUNT, BUSY, 2_0000, "test", anchor_day=32), InvalidRequest),
        (lambda: fees.subscribe(ACCOUNT, BUSY, 2_0000, "test", period="weekly"), InvalidRequest),
        (lambda: fees.subscribe(ACCOUNT + "\x00", BUSY, 2_0000, "test"), InvalidRequest),
        (lambda: fees.cancel(ACCOUNT, BUSY, "test"), SubscriptionNotFound),
    ]:
        with pytest.raises(error):
            call()
    assert container.ledger.recorder.max_notification_id() == head
    assert balance(container) == 8_0000


def test_a_cancelled_subscription_is_never_charged_again(container: Container) -> None:
    clock = FixedClock(START)
    fees = build_subscriptions(container, clock)
    container.ledger.open_account("subscriber", "test", number=ACCOUNT)
    container.ledger.deposit(ACCOUNT, 10_0000, "test")
    fees.subscribe(ACCOUNT, BUSY, 2_0000, "test")
    assert fees.cancel(ACCOUNT, BUSY, "test", "moved away")["status"] == "cancelled"
    run_until(container, fees, clock, "2027-04-10")
    assert balance(container) == 8_0000
    assert [(s["status"], s["due_at"]) for s in fees.list(ACCOUNT)] == [("cancelled", None)]


def test_a_daily_lease_is_charged_each_local_midnight_for_its_term_then_ends(container: Container) -> None:
    clock = FixedClock(START)
    fees = build_subscriptions(container, clock)
    container.ledger.open_account("subscriber", "test", number=ACCOUNT)
    container.ledger.deposit(ACCOUNT, 50_0000, "test")
    fees.subscribe(ACCOUNT, "lease:handset", 5_0000, "test", period="daily", term=3)
    clock.now = local("2027-01-10", 23, 59)  # still the first day: nothing more
    assert fee_job(container, fees) == []
    run_until(container, fees, clock, "2027-01-15")
    lease = fees.list(ACCOUNT)[0]
    assert (lease["status"], lease["paid_periods"], lease["due_at"]) == ("ended", 3, None)
    assert [h["period"] for h in fees.history(ACCOUNT)] == ["2027-01-10", "2027-01-11", "2027-01-12"]
    assert balance(container) == 35_0000


def test_an_account_suspended_by_the_operator_pays_no_fee_and_its_subscription_waits_in_arrears(
        container: Container) -> None:
    clock = FixedClock(START)
    fees = build_subscriptions(container, clock)
    container.ledger.open_account("subscriber", "test", number=ACCOUNT)
    container.ledger.deposit(ACCOUNT, 50_0000, "test")
    fees.subscribe(ACCOUNT, OFF, 2_0000, "test")
    container.ledger.set_status(ACCOUNT, "suspend", "test", "fraud check")
    run_until(container, fees, clock, "2027-02-10")
    assert fees_state(container)[OFF] == ("suspended", 2_0000, ["2027-02"]) and balance(container) == 48_0000
    container.ledger.set_status(ACCOUNT, "resume", "test", "cleared")
    run_until(container, fees, clock, "2027-02-11")  # the account can pay again: the arrears are paid
    assert fees_state(container)[OFF] == ("active", 0, []) and balance(container) == 46_0000


def test_two_processes_charging_the_same_instant_at_once_charge_each_period_once(settings: Settings) -> None:
    clock = FixedClock(START)
    with process(settings, clock) as (c, fees):
        c.ledger.open_account("subscriber", "test", number=ACCOUNT)
        c.ledger.deposit(ACCOUNT, 20_0000, "test")
        fees.subscribe(ACCOUNT, OFF, 2_0000, "test")
        fees.subscribe(ACCOUNT, BUSY, 2_0000, "test")
    clock.now = local("2027-02-10")
    with process(settings, clock) as (c1, fees1), process(settings, clock) as (c2, fees2):
        start = threading.Barrier(2)
        done: list[list[dict[str, Any]]] = []

        def run(fees: Subscriptions) -> None:
            start.wait()
            done.append(fees.charge_due(clock.now))

        threads = [threading.Thread(target=run, args=(f,)) for f in (fees1, fees2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Each process charged what it won; between them, each period once.
        charged = sorted((d["service"], p) for results in done for d in results for p in d["charged"])
        assert charged == [(BUSY, "2027-02"), (OFF, "2027-02")]
        assert balance(c1) == 20_0000 - 4_0000 - 4_0000
        c1.catch_up()
        rows = history(c1.views, ACCOUNT)
        assert Counter((r["service"], r["period"]) for r in rows).most_common(1)[0][1] == 1
