"""Shared set-up for the phone-bar tests: a funded bar on the demo tariff, a fixed clock, a fake SMS gateway."""

from __future__ import annotations

from dataclasses import dataclass

from ringledger.container import Container
from services.charging import CallRequest, Charging, ChargingPolicy
from services.fakes import FixedClock, RecordingSmsGateway
from services.phonebar.service import PhoneBars
from tests.charging_support import PEAK, set_up

BAR = "5550001"
CALLER = "+861062340003"  # the bar's own line in Beijing
LOCAL, NATIONAL, MOBILE = "01062345678", "02112345678", "13800138000"
HONG_KONG, USA, POLICE = "+85221234567", "+14155550100", "110"


@dataclass
class Bar:
    container: Container
    charging: Charging
    bars: PhoneBars
    clock: FixedClock
    sms: RecordingSmsGateway

    def call(self, call_id: str, booth: str | None, callee: str = LOCAL) -> dict:
        return self.charging.authorize(CallRequest(call_id=call_id, caller=CALLER, callee=callee,
                                                   service="phonebar", account=BAR, booth=booth))

    def talk(self, call_id: str, booth: str | None, seconds: int, callee: str = LOCAL) -> dict:
        """A whole call: authorize, answer, `seconds` pass on the clock, hangup."""
        answer = self.call(call_id, booth, callee)
        assert answer["authorized"], answer
        self.charging.answer(call_id)
        self.clock.advance(seconds)
        return self.charging.end(call_id, seconds)


def open_bar(c: Container, deposit: int = 5000_0000) -> Bar:
    clock = FixedClock(PEAK)
    charging = set_up(c, deposit, number=BAR, phone=None, kind="phonebar",
                      policy=ChargingPolicy(refresh_seconds=0), clock=clock)
    sms = RecordingSmsGateway()
    return Bar(c, charging, PhoneBars(c.ledger, c.views, charging, c.fresh, sms), clock, sms)
