"""Real-time charging: the switch's questions answered by the ledger.

`calls` authorizes, answers, reports and ends a call (and expires an abandoned
hold); `tariffs`, `blacklist` and `rerating` are the parts `Charging` is made
of; `requests` holds what charging is asked and what it answers.
"""

from services.charging.calls import Charging
from services.charging.requests import (
    EXPIRY_ACTOR,
    REASONS,
    SERVICES,
    CallRequest,
    ChargingPolicy,
    NoRateForCall,
    utcnow,
)
from services.charging.tariffs import RateQuote

__all__ = [
    "EXPIRY_ACTOR", "REASONS", "SERVICES", "CallRequest", "Charging", "ChargingPolicy", "NoRateForCall",
    "RateQuote", "utcnow",
]
