"""In-process scheduled jobs (APScheduler 3), derived from the event log.

Jobs keep no state of their own: each run reads what is due from the views
(which are rebuilt from events), so a restart loses nothing and two runs of
the same job change things once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.background import BackgroundScheduler

from projections.cdr_reads import grants_ending, stale_calls
from projections.conference_schedule import due
from projections.sms_outbox import due_retries
from ringledger.container import Container
from ringledger.leader import Leader
from ringledger.missed_calls import build_missed_calls
from ringledger.phonebar import build_phonebars
from ringledger.subscriptions import build_subscriptions
from services.charging import Charging
from services.conferences import Conferences
from services.phonebar.service import PhoneBars
from services.missed_calls import MissedCalls
from services.subscriptions import Subscriptions

EXPIRY_INTERVAL_SECONDS = 30
ALERT_INTERVAL_SECONDS = 15
#: How often the ledger's own timer extends (or cuts) the grants of calls whose switch does not report.
GRANT_INTERVAL_SECONDS = 10
#: How often recurring fees are looked at (a fee is due from local midnight of its day; a minute late is fine).
FEE_INTERVAL_SECONDS = 60
#: How often missed-call notices past their 24 hours are lapsed, and refused texts sent again.
MISSED_CALL_SECONDS = 60


def expire_job(container: Container, charging: Charging, clock: Callable[[], datetime],
               leader: Leader | None = None) -> list[dict[str, Any]]:
    """Bring the views up to date, then settle every hold past its expiry at its last usage.

    With a `leader`, only the process holding the scheduler lock does the work.
    """
    if leader is not None and not leader.try_lead():
        return []
    container.catch_up()
    now = clock()
    expired = charging.expire_stale_holds(now, stale_calls(container.views, now))
    if expired:
        structlog.get_logger().warning("holds_expired", calls=[e["call_id"] for e in expired])
    return expired


def grant_job(container: Container, charging: Charging, clock: Callable[[], datetime],
              leader: Leader | None = None) -> list[dict[str, Any]]:
    """Extend the grant of every answered call that ends within the lead as an interim now would; cut the spent.

    A call's switch that reports interims extends its grant itself, so the
    timer finds nothing to do for it. With a `leader`, only the process
    holding the scheduler lock does the work.
    """
    if leader is not None and not leader.try_lead():
        return []
    container.catch_up()
    now = clock()
    done = charging.extend_grants(now, grants_ending(container.views, now, charging.policy.lead))
    cut = [d["call_id"] for d in done if d.get("cut")]
    if cut:
        structlog.get_logger().warning("calls_cut", calls=cut)
    return done


def conference_job(container: Container, conferences: Conferences, leader: Leader | None = None) -> list[str]:
    """Fire every booked conference whose time has come and place every leg retry that is due.

    What is due is read from the schedule view, which is rebuilt from the
    event log: a restart loses no booking. Each action is checked again on
    its conference's events, so a booking fires once however often (or in
    however many processes) this runs. Returns the legs dialled.
    """
    if leader is not None and not leader.try_lead():
        return []
    container.catch_up()
    now = conferences.clock()
    dialled = conferences.run_due(due(container.views, now), now)
    if dialled:
        container.settle_views()
        structlog.get_logger().info("conference_legs_placed", legs=dialled)
    return dialled


def fee_job(container: Container, subscriptions: Subscriptions, leader: Leader | None = None) -> list[dict[str, Any]]:
    """Charge every recurring fee whose day has come (in the operator's zone) and resume the subscriptions
    whose accounts can now pay their arrears.

    What is due is read from the subscriptions view, rebuilt from the event
    log: a restart loses no fee. Each period is charged on its subscription's
    events, so it is charged once however often (or in however many
    processes) this runs. Returns the subscriptions that changed.
    """
    if leader is not None and not leader.try_lead():
        return []
    container.catch_up()
    done = subscriptions.charge_due(subscriptions.clock())
    if done:
        container.settle_views()
        log = structlog.get_logger()
        for d in done:
            log.info("recurring_fee", account=d["account"], service=d["service"], outcome=d["outcome"],
                     charged=d["charged"], arrears=d["arrears"])
    return done


def missed_call_job(container: Container, missed_calls: MissedCalls,
                    leader: Leader | None = None) -> list[dict[str, Any]]:
    """Lapse every missed-call notice and reachable-again request that waited 24 hours (the SMS validity),
    then send what waits for a callee reported reachable (texts the gateway refused, requests made while
    the callee was reachable).

    What is due is read from the missed-calls view; each step is checked on
    its box's events, so it happens once however often (or in however many
    processes) this runs. A box reached before the job lapses its own on the way.
    """
    if leader is not None and not leader.try_lead():
        return []
    container.catch_up()
    now = missed_calls.clock()
    done = missed_calls.lapse_due(now) + missed_calls.retry_due(now)
    if done:
        container.settle_views()
        structlog.get_logger().info("missed_call_job", callees=[d["callee"] for d in done])
    return done


def alerts_job(phonebars: PhoneBars, leader: Leader | None = None) -> list[dict[str, Any]]:
    """Send the phone-bar owners' low-deposit alerts not yet sent (in the elected process only)."""
    if leader is not None and not leader.try_lead():
        return []
    sent = phonebars.send_alerts()
    if phonebars.failures:
        structlog.get_logger().warning("low_deposit_sms_failed", failures=phonebars.failures)
    return sent


def sms_retry_job(container: Container, leader: Leader | None = None) -> list[dict[str, Any]]:
    """Hand the gateway again each text it refused whose backoff is over (in the elected process only).

    What is due is read from the outbox view; each try is recorded on its
    text first, so a text is tried once however many processes run this,
    and a text the gateway accepted is never tried again.
    """
    outbox = container.sms_outbox
    if outbox is None or (leader is not None and not leader.try_lead()):
        return []
    container.catch_up()
    done = outbox.retry(due_retries(container.views, outbox.clock()))
    if done:
        container.settle_views()
        structlog.get_logger().info("sms_retried", texts=[(d["message"], d["state"]) for d in done])
    return done


def build_scheduler(container: Container, charging: Charging, leader: Leader | None = None,
                    conferences: Conferences | None = None) -> BackgroundScheduler:
    """Jobs run only in the elected process (PostgreSQL advisory lock); on SQLite, here."""
    scheduler = BackgroundScheduler(timezone=container.settings.timezone)
    leader = leader or Leader(container.views)
    scheduler.add_job(
        expire_job, "interval", seconds=EXPIRY_INTERVAL_SECONDS,
        args=(container, charging, charging.clock, leader),
        id="expire_stale_holds", max_instances=1, coalesce=True,
    )
    scheduler.add_job(
        grant_job, "interval", seconds=GRANT_INTERVAL_SECONDS,
        args=(container, charging, charging.clock, leader),
        id="extend_grants", max_instances=1, coalesce=True,
    )
    if conferences is not None:
        scheduler.add_job(
            conference_job, "interval", seconds=container.settings.conference_poll_seconds,
            args=(container, conferences, leader),
            id="conferences", max_instances=1, coalesce=True,
        )
    scheduler.add_job(
        fee_job, "interval", seconds=FEE_INTERVAL_SECONDS,
        args=(container, build_subscriptions(container, charging.clock), leader),
        id="recurring_fees", max_instances=1, coalesce=True,
    )
    scheduler.add_job(
        missed_call_job, "interval", seconds=MISSED_CALL_SECONDS,
        args=(container, build_missed_calls(container, charging), leader),
        id="missed_calls", max_instances=1, coalesce=True,
    )
    scheduler.add_job(
        alerts_job, "interval", seconds=ALERT_INTERVAL_SECONDS, args=(build_phonebars(container, charging), leader),
        id="phonebar_alerts", max_instances=1, coalesce=True,
    )
    if container.sms_outbox is not None:
        scheduler.add_job(
            sms_retry_job, "interval", seconds=container.settings.sms_retry_poll_seconds, args=(container, leader),
            id="sms_retries", max_instances=1, coalesce=True,
        )
    scheduler.add_listener(lambda _event: leader.resign(), EVENT_SCHEDULER_SHUTDOWN)
    return scheduler
