"""The phone-bar service wired from a container: its views, fresh reads, SMS gateway and charging engine."""

from __future__ import annotations

from ringledger.charging import build_charging
from ringledger.container import Container
from services.charging import Charging
from services.phonebar.service import PhoneBars


def build_phonebars(container: Container, charging: Charging | None = None) -> PhoneBars:
    engine = charging or build_charging(container.settings, container.ledger)
    return PhoneBars(container.ledger, container.views, engine, container.fresh, container.ports.sms)
