"""The forwarding service wired from a container: its views, fresh reads, the number plan and the zone."""

from __future__ import annotations

from ringledger.charging import build_charging
from ringledger.container import Container
from services.charging import Charging
from services.forwarding.service import Forwarding


def build_forwarding(container: Container, charging: Charging | None = None) -> Forwarding:
    engine = charging or build_charging(container.settings, container.ledger)
    return Forwarding(container.ledger, container.views, engine.normalise, container.fresh,
                      container.settings.timezone)
