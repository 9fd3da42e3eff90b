"""A subscriber changes their own PIN (by phone through the hook, or through the portal): one rule for both.

The old PIN is checked first; a wrong one is recorded and counts toward the
lockout like any wrong try, and the PIN is not changed. A malformed PIN (old
or new) is refused before anything is counted. PINs are never logged or
returned.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import PinLocked, WrongPin
from ledger.pins import MAX_PIN_TRIES
from services.charging import Charging


def change_pin(charging: Charging, number: str, old_pin: str | None, new_pin: str, actor: str) -> dict[str, Any]:
    """Change the PIN of an account (by account number or a bound phone number); raises WrongPin or
    PinLocked when the old PIN does not open it. Without `old_pin` it is an operator's reset (it
    lifts a lockout)."""
    account = charging.balance(number)["account"]
    charging.ledger.change_pin(account, new_pin, actor, old_pin=old_pin)
    return {"account": account, "changed": True, "reason": None, "tries_left": MAX_PIN_TRIES}


def change_pin_answer(charging: Charging, number: str, old_pin: str, new_pin: str, actor: str) -> dict[str, Any]:
    """`change_pin` for an IVR: a wrong or locked old PIN is an answer (`changed` false), not an error."""
    try:
        return change_pin(charging, number, old_pin, new_pin, actor)
    except (WrongPin, PinLocked) as err:
        account = charging.balance(number)["account"]
        left = max(0, MAX_PIN_TRIES - charging.ledger.account(account).pin_failures)
        return {"account": account, "changed": False, "reason": err.code, "tries_left": left}
