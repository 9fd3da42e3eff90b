"""Shared set-up for the forwarding tests: a business on the demo tariff with seven agents, a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass

from ringledger.container import Container
from services.charging import CallRequest, Charging, ChargingPolicy
from services.fakes import FixedClock
from services.forwarding.service import Forwarding
from tests.charging_support import PEAK, set_up

ACCOUNT = "7100000001"  # the business's paying account
NUMBER = "+861062340000"  # the business's own number in Beijing, forwarded to the platform
#: Seven agents' Beijing lines: a local call from the business's area (0.10 a minute at peak, 60/60).
AGENTS = [f"+8610623456{i:02d}" for i in range(1, 8)]
CUSTOMER = "+8613900139000"


@dataclass
class Shop:
    container: Container
    charging: Charging
    forwarding: Forwarding
    clock: FixedClock

    def offer(self, call_id: str, caller: str = CUSTOMER, forwarded_from: str = NUMBER) -> dict:
        """The switch's authorize for a call forwarded from the business's number."""
        return self.charging.authorize(CallRequest(call_id=call_id, caller=caller, callee=forwarded_from,
                                                   service="forward", forwarded_from=forwarded_from))


def open_shop(c: Container, deposit: int = 500_0000, agents: list[str] | None = None) -> Shop:
    clock = FixedClock(PEAK)
    charging = set_up(c, deposit, number=ACCOUNT, phone=None, policy=ChargingPolicy(refresh_seconds=0),
                      clock=clock)
    forwarding = Forwarding(c.ledger, c.views, charging.normalise, c.fresh, c.settings.timezone)
    forwarding.register(NUMBER, ACCOUNT, "test", greeting="您好，这里是示范公司", agents=AGENTS if agents is None else agents)
    return Shop(c, charging, forwarding, clock)
