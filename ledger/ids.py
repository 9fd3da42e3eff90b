"""Deterministic aggregate ids.

A duplicate account number, card number, phone binding or operation id maps
to the same UUID, so a second creation collides in the event store instead
of creating a twin.
"""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6b1e5a52-3c52-4f7e-9d0e-2a1c7e0b9d41")


def account_id(number: str) -> UUID:
    return uuid5(NAMESPACE, "account:" + number)


def voucher_id(number: str) -> UUID:
    return uuid5(NAMESPACE, "voucher:" + number)


def batch_id(name: str) -> UUID:
    return uuid5(NAMESPACE, "batch:" + name)


def phone_id(e164: str) -> UUID:
    return uuid5(NAMESPACE, "phone:" + e164)


def operation_id(key: str) -> UUID:
    return uuid5(NAMESPACE, "operation:" + key)
