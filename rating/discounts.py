"""Tariff discounts: a percentage off the list price of a call, as its own line.

A rule takes ``basis_points`` (1/100 of a percent: 1000 = 10 %) off calls of a
plan, optionally only of one destination ``category`` and optionally only in
one time ``band`` of the tariff (the band in force at the answer instant, the
same one that prices the call). Rules do not stack: the largest matching
percentage applies.

Rounding is in the customer's favour: the discount is rounded *up* to the
next ten-thousandth, so the charge (list price - discount) is rounded down.

Nothing here reads a clock or does I/O; all arithmetic is on ints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FULL = 10_000  # basis points in 100 %
_PERCENT = re.compile(r"([0-9]{1,3})(?:\.([0-9]{1,2}))?")


@dataclass(frozen=True, slots=True)
class PercentOff:
    """``basis_points`` off calls in ``category`` (None: every category) and ``band`` (None: every band)."""

    basis_points: int
    category: str | None = None
    band: str | None = None

    def __post_init__(self) -> None:
        bp = self.basis_points
        if isinstance(bp, bool) or not isinstance(bp, int) or not 1 <= bp <= FULL:
            raise ValueError(f"a discount is 1 to {FULL} basis points (0.01 % to 100 %), got {bp!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"basis_points": self.basis_points, "category": self.category, "band": self.band}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PercentOff:
        return cls(basis_points=data["basis_points"], category=data.get("category"), band=data.get("band"))


def basis_points(percent: str) -> int:
    """``"12.5"`` → 1250: a percentage as text (ASCII digits, at most two decimals) in basis points."""
    match = _PERCENT.fullmatch(percent) if isinstance(percent, str) else None
    if match is None:
        raise ValueError(f"a percentage is written like 10 or 12.5 (at most two decimals), got {percent!r}")
    whole, frac = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(frac)


def percent_text(bp: int) -> str:
    """1250 → ``"12.50"``."""
    return f"{bp // 100}.{bp % 100:02d}"


def for_category(rules: Iterable[PercentOff], category: str) -> tuple[PercentOff, ...]:
    """The rules that can apply to a destination of ``category`` (the band is chosen at rating)."""
    return tuple(r for r in rules if r.category is None or r.category == category)


def basis_points_for(rules: Iterable[PercentOff], band: str | None) -> int:
    """The largest percentage among ``rules`` that applies in ``band`` (0 if none)."""
    return max((r.basis_points for r in rules if r.band is None or r.band == band), default=0)


def discount_of(list_cost: int, basis_points: int) -> int:
    """``ceil(list_cost * basis_points / 10000)``: rounded up, in the customer's favour."""
    return -(-(list_cost * basis_points) // FULL)


def list_budget(available: int, basis_points: int) -> int | None:
    """The largest list price whose discounted charge ``available`` pays (None: any, at 100 % off).

    The charge of list price ``L`` is ``floor(L * (10000 - bp) / 10000)``, which is at most
    ``available`` exactly when ``L * (10000 - bp) <= (available + 1) * 10000 - 1``.
    """
    keep = FULL - basis_points
    if keep <= 0:
        return None
    return ((available + 1) * FULL - 1) // keep


__all__ = ["FULL", "PercentOff", "basis_points", "basis_points_for", "percent_text", "discount_of", "for_category", "list_budget"]
