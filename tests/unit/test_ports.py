"""The ports a service is given: the fakes record what they were asked, the logging ones only log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import structlog

from adapters.log.ports import LoggingCallControl, LoggingDialer, LoggingSmsGateway
from services.clock import TickingClock, system_clock
from services.fakes import (
    FixedClock,
    RecordingCallControl,
    RecordingDialer,
    RecordingSmsGateway,
)
from services.ports import CallControl, Clock, Dialer, Origination, SmsGateway, Text

CALL = Origination(call_id="cb-1", caller="+8613800000001", callee="+12125550100", max_seconds=300)


@pytest.mark.parametrize("port, implementations", [
    (Dialer, (RecordingDialer(), LoggingDialer())),
    (CallControl, (RecordingCallControl(), LoggingCallControl())),
    (SmsGateway, (RecordingSmsGateway(), LoggingSmsGateway())),
    (Clock, (system_clock, TickingClock(datetime(2026, 1, 1, tzinfo=UTC)),
             FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))),
])
def test_every_implementation_fits_its_port(port: type, implementations: tuple[object, ...]) -> None:
    assert all(isinstance(i, port) for i in implementations)
    assert not isinstance(object(), port)


def test_the_fakes_record_what_they_were_asked_in_order() -> None:
    dialer, control, sms = RecordingDialer(), RecordingCallControl(), RecordingSmsGateway(number="10690001")
    received: list[Text] = []
    sms.subscribe(received.append)

    dialer.originate(CALL)
    control.cut("cb-1", "insufficient_funds")
    first, second = sms.send("+8613800000001", "balance 12.50"), sms.send("+8613800000001", "bye")
    sms.receive("+8613800000001", "BAL")

    assert dialer.originated == [CALL]
    assert control.cuts == [("cb-1", "insufficient_funds")]
    assert first != second
    assert sms.sent == [Text("10690001", "+8613800000001", "balance 12.50"), Text("10690001", "+8613800000001", "bye")]
    assert received == [Text("+8613800000001", "10690001", "BAL")]


def test_a_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    assert clock() == clock() == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    clock.advance(90)
    assert clock() == datetime(2026, 11, 28, 10, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 11, 28, 10, 0))


def test_the_logging_ports_log_each_request_and_never_a_text_body() -> None:
    sms = LoggingSmsGateway()
    with structlog.testing.capture_logs() as logs:
        LoggingDialer().originate(CALL)
        LoggingCallControl().cut("cb-1", "expired")
        ids = [sms.send("+8613800000001", "your PIN is 4821"), sms.send("+8613800000001", "again")]

    assert [e["event"] for e in logs] == ["dialer_originate", "call_control_cut", "sms_send", "sms_send"]
    assert logs[0]["callee"] == "+12125550100" and logs[1]["reason"] == "expired"
    assert len(set(ids)) == 2
    assert "4821" not in repr(logs)


def test_the_logging_gateway_hands_a_text_in_to_its_subscribers_and_keeps_the_last_texts_sent() -> None:
    sms = LoggingSmsGateway(number="10690000", keep=2)
    received: list[Text] = []
    sms.subscribe(received.append)
    with structlog.testing.capture_logs() as logs:
        sms.receive("+8613900139000", "BD 1234567890 654321")
        ids = [sms.send("+8613900139000", body) for body in ("one", "two", "three")]

    assert received == [Text("+8613900139000", "10690000", "BD 1234567890 654321")]
    assert sms.outbox() == [(ids[1], Text("10690000", "+8613900139000", "two")),
                            (ids[2], Text("10690000", "+8613900139000", "three"))]
    assert "654321" not in repr(logs)  # what comes in may carry a PIN: only its length is logged
