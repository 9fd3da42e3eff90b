"""The recurring-fee service wired to one container: its views, fresh reads, the operator's zone and clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ringledger.container import Container
from services.clock import clock_for
from services.subscriptions import Subscriptions


def build_subscriptions(container: Container, clock: Callable[[], datetime] | None = None) -> Subscriptions:
    """Time is `clock` (charging's, in a server: one per process) or the configured business clock."""
    return Subscriptions(container.ledger, container.views, clock or clock_for(container.settings.clock_start),
                         container.settings.timezone, container.fresh)
