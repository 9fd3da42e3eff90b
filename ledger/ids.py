"""Deterministic aggregate ids.

A duplicate account number, card number, phone binding or operation id maps
to the same UUID, so a second creation collides in the event store instead
of creating a twin.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from ledger.errors import InvalidRequest

NAMESPACE = UUID("6b1e5a52-3c52-4f7e-9d0e-2a1c7e0b9d41")


def derived_id(name: str) -> UUID:
    """The id for `name`; text that is not valid Unicode (a lone surrogate) is refused, not a crash."""
    try:
        return uuid5(NAMESPACE, name)
    except UnicodeEncodeError:
        raise InvalidRequest(f"{name.split(':', 1)[0]} must be valid text (no lone surrogates)") from None


def account_id(number: str) -> UUID:
    return derived_id("account:" + number)


def voucher_id(number: str) -> UUID:
    return derived_id("voucher:" + number)


def batch_id(name: str) -> UUID:
    return derived_id("batch:" + name)


def phone_id(e164: str) -> UUID:
    return derived_id("phone:" + e164)


def operation_id(key: str) -> UUID:
    return derived_id("operation:" + key)
