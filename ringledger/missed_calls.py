"""The missed-call notification service wired to one container: views, SMS gateway, charging's clock and numbers."""

from __future__ import annotations

from ringledger.container import Container
from services.charging import Charging
from services.missed_calls import MissedCalls


def build_missed_calls(container: Container, charging: Charging) -> MissedCalls:
    return MissedCalls(container.ledger, container.views, charging, container.ports.sms, charging.clock,
                       container.settings.timezone, container.fresh)
