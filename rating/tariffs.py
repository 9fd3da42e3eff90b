"""Versioned tariff plans, their rate rows and time bands.

Invariants:

* every amount is an int in ten-thousandths of the currency unit and every
  duration an int of seconds (constructors refuse floats and bools);
* a `RateRow` is keyed by exactly one of a destination ``prefix`` (E.164
  digits, no ``"+"``) or a tariff ``category``; within a plan each key is
  unique, so `TariffPlan.find_rate` has one answer: the row with the longest
  matching prefix, else the row for the destination's category, else None;
* a `TariffPlan` round-trips through `TariffPlan.to_dict` /
  `TariffPlan.from_dict` using only JSON-native values, so it can be stored
  in an event;
* `select_version` answers the plan in force at an instant: the latest
  ``effective_from`` that is not after it (ties: the higher version).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rating.discounts import PercentOff, for_category
from rating.numberplan import CATEGORIES

DEFAULT_TZ = "Asia/Shanghai"
ALL_DAYS: frozenset[int] = frozenset(range(7))
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class RoutedCall(Protocol):
    """What a rate lookup needs from a destination (`rating.numberplan.Destination` fits)."""

    @property
    def e164(self) -> str: ...

    @property
    def category(self) -> str: ...


def _require_int(owner: str, name: str, value: object, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}.{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be at least {minimum}, got {value}")


def hhmm_to_minute(text: str) -> int:
    """``"07:30"`` → 450 (minutes after local midnight); refuses anything but 00:00–23:59."""
    match = _HHMM.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time of day: use HH:MM between 00:00 and 23:59")
    return int(match.group(1)) * 60 + int(match.group(2))


@dataclass(frozen=True, slots=True)
class TimeBand:
    """A price that applies from ``start`` to ``end`` local time on ``days``.

    ``days`` are weekdays, Monday = 0 … Sunday = 6, and name the day a band
    *starts*: a band with ``end`` at or before ``start`` crosses midnight and
    its early-morning part belongs to the previous day (a Friday 23:00–07:00
    band covers Saturday 03:00). ``start == end`` covers 24 hours.
    """

    name: str
    start: str
    end: str
    price_per_minute: int
    days: frozenset[int] = ALL_DAYS
    start_minute: int = field(init=False, repr=False, compare=False)
    end_minute: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_int("TimeBand", "price_per_minute", self.price_per_minute)
        days = frozenset(self.days)
        if not days or not days <= ALL_DAYS:
            raise ValueError(f"TimeBand.days must be weekdays 0–6, got {sorted(days)}")
        object.__setattr__(self, "days", days)
        object.__setattr__(self, "start_minute", hhmm_to_minute(self.start))
        object.__setattr__(self, "end_minute", hhmm_to_minute(self.end))

    def covers(self, weekday: int, minute: int) -> bool:
        """Is local ``weekday`` (Mon = 0) at ``minute`` after midnight inside this band?"""
        start, end = self.start_minute, self.end_minute
        if start < end:
            return weekday in self.days and start <= minute < end
        # Crosses midnight: the evening part today, the morning part from yesterday's start.
        if minute >= start:
            return weekday in self.days
        return minute < end and (weekday - 1) % 7 in self.days

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start": self.start,
            "end": self.end,
            "price_per_minute": self.price_per_minute,
            "days": sorted(self.days),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimeBand:
        return cls(
            name=data["name"],
            start=data["start"],
            end=data["end"],
            price_per_minute=data["price_per_minute"],
            days=frozenset(data["days"]),
        )


@dataclass(frozen=True, slots=True)
class RateRow:
    """How one destination is priced.

    ``price_per_minute`` applies when no band covers the answer instant.
    Increments: the first ``first_increment`` seconds are billed as a block,
    then whole ``next_increment`` blocks (60/60, 6/6, 30/6 …).
    """

    name: str
    price_per_minute: int
    first_increment: int = 60
    next_increment: int = 60
    connect_fee: int = 0
    minimum_charge: int = 0
    prefix: str | None = None
    category: str | None = None
    bands: tuple[TimeBand, ...] = ()
    #: Tariff discounts that may apply to this row (chosen by band at rating), see `rating.discounts`.
    discounts: tuple[PercentOff, ...] = ()

    def __post_init__(self) -> None:
        for name in ("price_per_minute", "connect_fee", "minimum_charge"):
            _require_int("RateRow", name, getattr(self, name))
        for name in ("first_increment", "next_increment"):
            _require_int("RateRow", name, getattr(self, name), minimum=1)
        if (self.prefix is None) == (self.category is None):
            raise ValueError(f"rate row {self.name!r} needs exactly one of prefix or category")
        if self.prefix is not None and not (self.prefix.isascii() and self.prefix.isdigit()):
            raise ValueError(
                f"rate row {self.name!r}: prefix {self.prefix!r} must be digits without '+'"
            )
        if self.category is not None and self.category not in CATEGORIES:
            raise ValueError(
                f"rate row {self.name!r}: category {self.category!r} is not one of {sorted(CATEGORIES)}"
            )
        object.__setattr__(self, "bands", tuple(self.bands))
        object.__setattr__(self, "discounts", tuple(self.discounts))

    @property
    def key(self) -> str:
        """``"prefix:852"`` or ``"category:mobile"`` — unique within a plan."""
        return f"prefix:{self.prefix}" if self.prefix is not None else f"category:{self.category}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "prefix": self.prefix,
            "category": self.category,
            "price_per_minute": self.price_per_minute,
            "first_increment": self.first_increment,
            "next_increment": self.next_increment,
            "connect_fee": self.connect_fee,
            "minimum_charge": self.minimum_charge,
            "bands": [band.to_dict() for band in self.bands],
            **({"discounts": [d.to_dict() for d in self.discounts]} if self.discounts else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RateRow:
        return cls(
            name=data["name"],
            prefix=data.get("prefix"),
            category=data.get("category"),
            price_per_minute=data["price_per_minute"],
            first_increment=data["first_increment"],
            next_increment=data["next_increment"],
            connect_fee=data["connect_fee"],
            minimum_charge=data["minimum_charge"],
            bands=tuple(TimeBand.from_dict(b) for b in data.get("bands", ())),
            discounts=tuple(PercentOff.from_dict(d) for d in data.get("discounts", ())),
        )


@dataclass(frozen=True, slots=True)
class TariffPlan:
    """Version ``version`` of the rate table ``name``, in force from ``effective_from``.

    ``effective_from`` is stored as an aware UTC instant; ``tz`` is the IANA
    zone in which time bands are read. ``fees`` are flat fees by name, e.g.
    ``{"missed_call_sms": 1000, "missed_call_monthly": 20000}``.
    """

    name: str
    version: int
    effective_from: datetime
    rows: tuple[RateRow, ...]
    tz: str = DEFAULT_TZ
    fees: Mapping[str, int] = field(default_factory=dict)
    _by_prefix: dict[str, RateRow] = field(init=False, repr=False, compare=False)
    _by_category: dict[str, RateRow] = field(init=False, repr=False, compare=False)
    _prefix_lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_int("TariffPlan", "version", self.version, minimum=1)
        offset = (
            self.effective_from.utcoffset() if isinstance(self.effective_from, datetime) else None
        )
        if offset is None:
            raise ValueError("TariffPlan.effective_from must be an aware datetime")
        object.__setattr__(self, "effective_from", self.effective_from.astimezone(UTC))
        try:
            object.__setattr__(self, "_zone", ZoneInfo(self.tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"TariffPlan.tz {self.tz!r} is not an IANA time zone") from None
        for fee, amount in self.fees.items():
            _require_int("TariffPlan.fees", fee, amount)
        object.__setattr__(self, "fees", dict(self.fees))
        rows = tuple(self.rows)
        object.__setattr__(self, "rows", rows)
        by_prefix: dict[str, RateRow] = {}
        by_category: dict[str, RateRow] = {}
        for row in rows:
            index = by_prefix if row.prefix is not None else by_category
            key = row.prefix if row.prefix is not None else row.category
            assert key is not None
            if key in index:
                raise ValueError(f"tariff {self.name!r} v{self.version} has two rows for {row.key}")
            index[key] = row
        object.__setattr__(self, "_by_prefix", by_prefix)
        object.__setattr__(self, "_by_category", by_category)
        lengths = sorted({len(p) for p in by_prefix}, reverse=True)
        object.__setattr__(self, "_prefix_lengths", tuple(lengths))

    @property
    def zone(self) -> ZoneInfo:
        """The zone time bands are read in."""
        return self._zone

    def find_rate(self, destination: RoutedCall) -> RateRow | None:
        """The row with the longest prefix of the destination's digits, else its category row."""
        digits = destination.e164.lstrip("+")
        by_prefix = self._by_prefix
        size = len(digits)
        for length in self._prefix_lengths:  # only lengths that some prefix has, longest first
            if length <= size:
                row = by_prefix.get(digits[:length])
                if row is not None:
                    return row
        return self._by_category.get(destination.category)

    def to_dict(self) -> dict[str, Any]:
        """JSON-native form (str, int, list, dict, None) for storing in an event."""
        return {
            "name": self.name,
            "version": self.version,
            "effective_from": self.effective_from.isoformat(),
            "tz": self.tz,
            "fees": dict(sorted(self.fees.items())),
            "rows": [row.to_dict() for row in self.rows],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TariffPlan:
        return cls(
            name=data["name"],
            version=data["version"],
            effective_from=datetime.fromisoformat(data["effective_from"]),
            tz=data.get("tz", DEFAULT_TZ),
            fees=dict(data.get("fees", {})),
            rows=tuple(RateRow.from_dict(r) for r in data["rows"]),
        )


def select_version(plans: Iterable[TariffPlan], at: datetime) -> TariffPlan | None:
    """The plan in force at ``at``: latest ``effective_from`` ≤ ``at`` (ties: higher version)."""
    if at.utcoffset() is None:
        raise ValueError("select_version needs an aware datetime")
    in_force = [p for p in plans if p.effective_from <= at]
    return max(in_force, key=lambda p: (p.effective_from, p.version), default=None)


class TariffBook:
    """All versions of one named tariff, answering which one is in force at an instant."""

    __slots__ = ("_plans", "_starts", "discounts", "free_minutes", "name")

    def __init__(self, plans: Iterable[TariffPlan], discounts: Iterable[PercentOff] = (),
                 free_minutes: int = 0) -> None:
        ordered = sorted(plans, key=lambda p: (p.effective_from, p.version))
        if not ordered:
            raise ValueError("a tariff book needs at least one plan")
        names = {p.name for p in ordered}
        if len(names) != 1:
            raise ValueError(f"a tariff book holds one tariff, got {sorted(names)}")
        versions = [p.version for p in ordered]
        if len(set(versions)) != len(versions):
            raise ValueError(f"tariff {ordered[0].name!r} has a repeated version number")
        self.name = ordered[0].name
        self._plans = tuple(ordered)
        self._starts = tuple(p.effective_from for p in ordered)
        #: The operator's tariff discounts on this tariff, whatever the version (`rating.discounts`).
        self.discounts = tuple(discounts)
        #: Free minutes a month for each account on this tariff.
        self.free_minutes = free_minutes

    @property
    def versions(self) -> tuple[TariffPlan, ...]:
        return self._plans

    def discounted(self, row: RateRow, category: str) -> RateRow:
        """``row`` carrying the discounts that may apply to a destination of ``category``."""
        rules = for_category(self.discounts, category)
        return replace(row, discounts=rules) if rules or row.discounts else row

    def at(self, instant: datetime) -> TariffPlan | None:
        """The version in force at ``instant`` (None before the first one starts)."""
        if instant.utcoffset() is None:
            raise ValueError("TariffBook.at needs an aware datetime")
        index = bisect_right(self._starts, instant)
        return self._plans[index - 1] if index else None


__all__ = [
    "ALL_DAYS",
    "DEFAULT_TZ",
    "RateRow",
    "RoutedCall",
    "TariffBook",
    "TariffPlan",
    "TimeBand",
    "hhmm_to_minute",
    "select_version",
]
