"""A demo tariff that `make run` loads: what a small Chinese operator might sell.

Domestic calls are priced by category; Hong Kong, Macau, Taiwan and a few
foreign destinations by prefix, with the category rows catching the rest.
Off-peak is 21:00–07:00 Beijing time, every day.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rating.deck import parse_deck
from rating.tariffs import TariffPlan

DEMO_DECK = """\
prefix,category,name,price_per_minute,first_increment,next_increment,connect_fee,minimum_charge,peak_price,offpeak_price,offpeak_start,offpeak_end
,local,Local (same area),0.1000,60,60,0.0000,0.0000,0.1000,0.0600,21:00,07:00
,national,Domestic long distance,0.3000,6,6,0.0000,0.0000,0.3000,0.1500,21:00,07:00
,mobile,Mobile,0.2000,60,60,0.0000,0.0000,0.2000,0.1200,21:00,07:00
,special,Special and service numbers,0.0000,60,60,0.0000,0.0000,,,,
,hmt,"Hong Kong, Macau, Taiwan (other)",1.5000,30,6,0.0000,0.0000,,,,
852,,Hong Kong,1.2000,30,6,0.0000,0.0000,1.2000,0.9000,21:00,07:00
853,,Macau,1.5000,30,6,0.0000,0.0000,,,,
886,,Taiwan,1.8000,30,6,0.0000,0.0000,,,,
,international,International (rest of world),4.8000,30,6,0.1000,0.5000,,,,
1,,USA and Canada,2.4000,30,6,0.1000,0.3000,,,,
44,,United Kingdom,3.0000,30,6,0.1000,0.3000,,,,
447,,United Kingdom mobile,4.5000,30,6,0.1000,0.3000,,,,
81,,Japan,3.6000,30,6,0.1000,0.3000,,,,
"""

DEMO_EFFECTIVE_FROM = datetime(2023, 12, 31, 16, 0, tzinfo=UTC)  # 2024-01-01 00:00 Beijing


def demo_plan() -> TariffPlan:
    """Version 1 of the ``demo`` tariff, in force from 2024-01-01 00:00 Asia/Shanghai."""
    return TariffPlan(
        name="demo",
        version=1,
        effective_from=DEMO_EFFECTIVE_FROM,
        tz="Asia/Shanghai",
        fees={"missed_call_sms": 1000, "missed_call_monthly": 20000},
        rows=tuple(parse_deck(DEMO_DECK)),
    )
