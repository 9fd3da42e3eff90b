"""PIN verification values: a keyed hash, never the PIN.

Payment systems keep a PIN verification value computed under a key held
outside the database; we do the same with HMAC-SHA256 over the card or
account number and the PIN. A stolen event store reveals no PIN without the
key, and brute force needs the key too. Hashing costs microseconds, so
issuing 100,000 cards stays fast.
"""

from __future__ import annotations

import hashlib
import hmac

from ledger.errors import InvalidPin

#: Length of the stored verification value in hex characters (128 bits).
PVV_HEX = 32
MAX_PIN_TRIES = 5


class PinHasher:
    """Computes and checks PIN verification values under one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the PIN key must be at least 16 bytes")
        self._key = key

    def pvv(self, number: str, pin: str) -> str:
        mac = hmac.new(self._key, f"{number}:{pin}".encode(), hashlib.sha256)
        return mac.hexdigest()[:PVV_HEX]

    def matches(self, number: str, pin: str, pvv: str | None) -> bool:
        if pvv is None:
            return False
        return hmac.compare_digest(self.pvv(number, pin), pvv)


def check_pin_format(pin: str, min_len: int = 6, max_len: int = 10) -> str:
    """Return `pin` if it is min_len..max_len ASCII digits, else raise InvalidPin."""
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit():
        raise InvalidPin("a PIN is digits only")
    if not min_len <= len(pin) <= max_len:
        raise InvalidPin(f"a PIN has {min_len} to {max_len} digits")
    return pin

