"""Shared set-up for the charging tests: the demo tariff, a funded account bound to a phone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from rating.demo import demo_plan
from rating.tariffs import RateRow
from services.charging import CallRequest, Charging, ChargingPolicy
from ringledger.container import Container

ACCOUNT = "8000000001"
PHONE = "+8613800138000"
LOCAL = "01062345678"  # a Beijing fixed line: category local, 0.10/min peak, 60/60
HONG_KONG = "+85221234567"  # prefix 852: 1.20/min peak, 30/6


def flat_rows(local_price: int) -> list[RateRow]:
    """A one-row tariff: local calls at `local_price` a minute, 60/60, no bands."""
    return [RateRow(name="Local", category="local", price_per_minute=local_price)]


def set_up(c: Container, balance: int = 100_0000, *, number: str = ACCOUNT, phone: str | None = PHONE,
           kind: str = "subscriber", policy: ChargingPolicy | None = None,
           clock: Callable[[], datetime] | None = None) -> Charging:
    charging = Charging(c.ledger, policy or ChargingPolicy(refresh_seconds=0), clock or (lambda: PEAK))
    if charging.tariff("demo") is None:
        plan = demo_plan()
        charging.publish_plan("demo", plan.rows, plan.effective_from, "test", tz=plan.tz)
    c.ledger.open_account(kind, "test", number=number, plan="demo")
    if balance:
        c.ledger.deposit(number, balance, "test")
    if phone:
        c.ledger.bind(number, phone, "test")
    return charging


def call(call_id: str, callee: str = LOCAL, caller: str = PHONE, **extra: str) -> CallRequest:
    return CallRequest(call_id=call_id, caller=caller, callee=callee, service=extra.pop("service", "direct"), **extra)


def trial_balance(c: Container) -> int:
    c.catch_up()
    return int(c.views.query("SELECT COALESCE(SUM(balance), 0) FROM gl_balances")[0][0])


# 2024-05-06 is a Monday; 10:00 Beijing is peak time in the demo tariff.
PEAK = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Hour:
    """A pinned business hour for a server under test, and the demo tariff's prices at it."""

    name: str
    clock_start: str  # RINGLEDGER_CLOCK_START of the server
    local: str  # price per minute of a local call
    hong_kong: str  # price per minute to prefix 852 (30/6)


#: Off-peak is 21:00-07:00 Beijing in the demo tariff.
HOURS = (
    Hour("offpeak-0200", "2024-05-06T02:00:00+08:00", local="0.0600", hong_kong="0.9000"),
    Hour("peak-1400", "2024-05-06T14:00:00+08:00", local="0.1000", hong_kong="1.2000"),
)


def allow_frozen_time(c: Container) -> None:
    """Let events carry freezegun's FakeDatetime (stored exactly like a datetime)."""
    from eventsourcing.persistence import DatetimeAsISO
    from freezegun.api import FakeDatetime

    class FakeDatetimeAsISO(DatetimeAsISO):
        type = FakeDatetime

    c.ledger.mapper.transcoder.register(FakeDatetimeAsISO())  # type: ignore[attr-defined]
