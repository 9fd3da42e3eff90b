"""Charging wired from the settings: the policy and the business clock they choose."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ledger.application import Ledger
from ledger.money import parse_money
from ringledger.config import Settings
from services.charging import Charging, ChargingPolicy
from services.clock import clock_for
from services.ports import CallControl


def charging_policy(settings: Settings) -> ChargingPolicy:
    return ChargingPolicy(
        hold_ttl=settings.hold_ttl_seconds,
        low_balance=parse_money(settings.low_balance),
        max_call_seconds=settings.max_call_seconds,
        grant_seconds=settings.grant_seconds,
        grant_lead=settings.grant_lead_seconds,
        default_plan=settings.default_plan,
    )


def build_charging(settings: Settings, ledger: Ledger, clock: Callable[[], datetime] | None = None,
                   call_control: CallControl | None = None) -> Charging:
    """Charging on the business clock the settings choose (`clock_start`), unless one is given.

    `call_control` cuts a call whose grant ran out; without it (CLI, portal) only the switch's answer stops it.
    """
    return Charging(ledger, charging_policy(settings), clock or clock_for(settings.clock_start),
                    call_control=call_control)
