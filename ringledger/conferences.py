"""The conference service wired to one container: its ports, and the business clock of charging."""

from __future__ import annotations

from ringledger.container import Container
from services.charging import Charging
from services.conferences import Conferences


def build_conferences(container: Container, charging: Charging) -> Conferences:
    """Legs are dialled and cut through the container's ports; time is charging's clock (one per process)."""
    ports = container.ports
    return Conferences(container.ledger, ports.dialer, ports.call_control, charging.clock,
                       dial_plan=charging.policy.dial_plan, max_seconds=charging.policy.max_call_seconds)
