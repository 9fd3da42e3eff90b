"""Deterministic ids for call sessions, tariffs and blacklists.

Same namespace as `ledger.ids`: a switch that retries an authorize with the
same call id, or two publishers racing on one tariff, collide in the event
store instead of creating a twin.
"""

from __future__ import annotations

from uuid import UUID

from ledger.ids import derived_id


def call_id(call: str) -> UUID:
    return derived_id("call:" + call)


def tariff_id(name: str) -> UUID:
    return derived_id("tariff:" + name)


def blacklist_id() -> UUID:
    """The operator's one blacklist aggregate (entries are scoped by account or "*")."""
    return derived_id("blacklist")
