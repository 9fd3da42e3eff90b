"""Real-time charging: the switch's questions answered by the ledger."""

from services.charging.calls import (
    EXPIRY_ACTOR,
    REASONS,
    SERVICES,
    CallRequest,
    Charging,
    ChargingPolicy,
    NoRateForCall,
    RateQuote,
    utcnow,
)

__all__ = [
    "EXPIRY_ACTOR", "REASONS", "SERVICES", "CallRequest", "Charging", "ChargingPolicy", "NoRateForCall",
    "RateQuote", "utcnow",
]
