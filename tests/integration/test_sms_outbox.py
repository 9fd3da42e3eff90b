"""Outbound texts as events, on each store: queued, tried, sent or failed, retried with backoff, reported.

The gateway here is a recording one that refuses while told to (the real
Kannel and SMPP gateways are in tests/integration/test_sms_kannel.py and
test_sms_smpp.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from ledger.outbound_sms import MAX_ATTEMPTS, SmsNotFound, sms_id
from projections.sms_outbox import due_retries, outbox
from ringledger.container import Container, build
from ringledger.leader import Leader
from ringledger.scheduler import sms_retry_job
from services.fakes import FixedClock
from services.ports import DeliveryReport, Text
from services.sms_outbox import SmsOutbox

START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
PHONE = "+8613900139001"


class FlakyGateway:
    """Accepts texts (gateway ids g-1, g-2 …) unless `down`; counts every hand-over."""

    name = "test"

    def __init__(self) -> None:
        self.down = False
        self.handed: list[tuple[str, str, str]] = []
        self._reports: list[Callable[[DeliveryReport], object]] = []
        self._lock = threading.Lock()

    def send_tracked(self, recipient: str, body: str, reference: str) -> str:
        if self.down:
            raise ConnectionError("gateway unreachable")
        with self._lock:
            self.handed.append((recipient, body, reference))
            return f"g-{len(self.handed)}"

    def subscribe(self, handler: Callable[[Text], None]) -> None:
        pass

    def subscribe_reports(self, handler: Callable[[DeliveryReport], object]) -> None:
        self._reports.append(handler)

    def report(self, report: DeliveryReport) -> None:
        for handler in self._reports:
            handler(report)

    def health(self) -> dict[str, object]:
        return {"up": not self.down}


def wired(container: Container, clock: FixedClock) -> tuple[SmsOutbox, FlakyGateway]:
    gateway = FlakyGateway()
    container.sms_outbox = SmsOutbox(container.ledger, gateway, clock, "10690000")
    return container.sms_outbox, gateway


def events_of(container: Container, message: str) -> list[str]:
    """The names of the events recorded on a text, in order."""
    return [type(e).__name__ for e in container.ledger.events.get(sms_id(message))]


def test_a_text_the_gateway_accepts_is_sent_once_and_its_delivery_report_is_recorded(container: Container) -> None:
    clock = FixedClock(START)
    sms, gateway = wired(container, clock)
    message = sms.send(PHONE, "余额 12.0000 元")
    assert gateway.handed == [(PHONE, "余额 12.0000 元", message)]
    assert sms.state(message)["state"] == "sent"

    # The SMSC took it (8), then the handset got it (1); a late duplicate changes nothing.
    gateway.report(DeliveryReport(reference=message, gateway_id=None, mask=8))
    gateway.report(DeliveryReport(reference=None, gateway_id="g-1", mask=1))  # found by the gateway's id
    gateway.report(DeliveryReport(reference=message, gateway_id=None, mask=2))
    assert sms.state(message)["state"] == "delivered"
    assert events_of(container, message) == ["Queued", "Attempted", "Sent", "Reported", "Reported"]

    # The retry job has nothing to do with it, however often it runs.
    container.catch_up()
    clock.advance(86_400)
    assert sms_retry_job(container) == []
    assert len(gateway.handed) == 1
    (row,) = outbox(container.views, PHONE)
    assert (row["state"], row["attempts"], row["gateway_id"], row["report"]) == ("delivered", 1, "g-1", "delivered")


def test_a_refused_text_is_retried_with_a_doubling_backoff_then_given_up(container: Container) -> None:
    clock = FixedClock(START)
    sms, gateway = wired(container, clock)
    gateway.down = True
    message = sms.send(PHONE, "hello")
    assert gateway.handed == []
    state = sms.state(message)
    assert state["state"] == "failed" and state["retry_at"] == (START + timedelta(seconds=30)).isoformat()

    # Not due yet: nothing is tried.
    container.catch_up()
    clock.advance(29)
    assert sms_retry_job(container) == []
    waits = []
    tried_at = START
    for attempt in range(2, MAX_ATTEMPTS + 1):
        due = datetime.fromisoformat(sms.state(message)["retry_at"])
        waits.append((due - tried_at).total_seconds())
        clock.now = tried_at = due
        container.catch_up()
        (done,) = sms_retry_job(container)
        assert done["attempts"] == attempt
    # 30 s, 60 s, 120 s … doubling between tries, then given up after the sixth; nothing went out.
    assert waits == [30, 60, 120, 240, 480]
    assert gateway.handed == []
    assert sms.state(message)["state"] == "given_up"
    assert sms.state(message)["retry_at"] is None
    container.catch_up()
    assert due_retries(container.views, clock() + timedelta(days=30)) == []


def test_a_text_refused_while_the_gateway_was_down_goes_out_once_when_it_is_back(container: Container) -> None:
    clock = FixedClock(START)
    sms, gateway = wired(container, clock)
    gateway.down = True
    message = sms.send(PHONE, "hello")
    gateway.down = False
    container.catch_up()
    clock.advance(31)
    # Two processes run the job at the same instant: the text is handed over once.
    other = build(container.settings)
    try:
        other.sms_outbox = SmsOutbox(other.ledger, gateway, clock, "10690000")
        results: list[object] = []
        threads = [threading.Thread(target=lambda c=c: results.append(sms_retry_job(c)))
                   for c in (container, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.close()
    assert [h[2] for h in gateway.handed] == [message]
    assert sms.state(message)["state"] == "sent"
    clock.advance(7200)
    container.catch_up()
    assert sms_retry_job(container) == [] and len(gateway.handed) == 1


def test_a_report_for_a_text_never_sent_is_refused_and_records_nothing(container: Container) -> None:
    sms, gateway = wired(container, FixedClock(START))
    before = container.ledger.recorder.max_notification_id() or 0
    with pytest.raises(SmsNotFound):
        gateway.report(DeliveryReport(reference="sms-" + "0" * 32, gateway_id=None, mask=1))
    with pytest.raises(SmsNotFound):
        gateway.report(DeliveryReport(reference=None, gateway_id="nobody", mask=1))
    assert (container.ledger.recorder.max_notification_id() or 0) == before


def test_the_retry_job_runs_only_in_the_leader(container: Container) -> None:
    clock = FixedClock(START)
    sms, gateway = wired(container, clock)
    gateway.down = True
    sms.send(PHONE, "hello")
    gateway.down = False
    clock.advance(300)
    container.catch_up()
    leader = Leader(container.views)
    follower = Leader(container.views)
    try:
        assert leader.try_lead()
        if container.settings.is_postgres:  # on SQLite every process leads (one process per store)
            assert sms_retry_job(container, follower) == []
            assert gateway.handed == []
        assert len(sms_retry_job(container, leader)) == 1
    finally:
        leader.resign()
        follower.resign()
    assert len(gateway.handed) == 1


def test_the_outbox_view_rebuilt_from_zero_equals_the_live_one(container: Container) -> None:
    from projections.runner import Projector

    clock = FixedClock(START)
    sms, gateway = wired(container, clock)
    delivered = sms.send(PHONE, "one")
    gateway.report(DeliveryReport(reference=delivered, gateway_id=None, mask=1))
    gateway.down = True
    sms.send(PHONE, "two")  # failed, waiting for its retry
    gateway.down = False
    sms.send("+8613900139002", "three")
    container.catch_up()
    scratch = Projector(container.ledger, container.views, prefix="scratch_")
    try:
        scratch.run()
        live, rebuilt = container.projector.dump(), scratch.dump()
        assert sorted(r[4] for r in live["sms_outbox"]) == ["delivered", "failed", "sent"]
        assert rebuilt["sms_outbox"] == live["sms_outbox"]
    finally:
        scratch.drop()
        scratch.close()
