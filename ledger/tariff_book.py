"""Published tariff plans: one `TariffBook` aggregate per plan name.

Invariants: versions are numbered 1, 2, 3 … in publication order and never
change once published (a correction is a new version); each version's
payload is `rating.tariffs.TariffPlan.to_dict()` — JSON-native, so an
auditor reads the exact prices a call was rated with; the version in force
at an instant is the one with the latest `effective_from` not after it
(ties: the higher version).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.call_ids import tariff_id
from ledger.errors import InvalidRequest, NotFound
from ledger.text import check_text
from rating.discounts import PercentOff
from rating.numberplan import CATEGORIES

MAX_DISCOUNTS = 50
MAX_FREE_MINUTES = 31 * 24 * 60  # a whole month


class TariffBook(Aggregate):
    class Opened(Aggregate.Created):
        name: str
        actor: str

    #: Tariff discounts of this plan (`rating.discounts.PercentOff` dicts), whatever the version.
    discounts: tuple[dict[str, Any], ...] = ()
    #: Free minutes a month for each account on this tariff (0: none).
    free_minutes: int = 0

    def __init__(self, name: str, actor: str) -> None:
        self.name = name
        self.plans: list[dict[str, Any]] = []  # index = version - 1
        self.discounts = ()

    @classmethod
    def open(cls, name: str, actor: str) -> TariffBook:
        if not name or len(name) > 40 or not name.replace("-", "").replace("_", "").isalnum():
            raise InvalidRequest("a tariff name is 1-40 letters, digits, '-' or '_'")
        return cls._create(cls.Opened, id=tariff_id(name), name=name, actor=actor)

    class TariffPlanPublished(Aggregate.Event):
        version: int
        effective_from: datetime
        plan: dict[str, Any]
        actor: str

        def apply(self, book: TariffBook) -> None:
            book.plans.append(self.plan)

    @property
    def next_version(self) -> int:
        return len(self.plans) + 1

    def publish(self, plan: dict[str, Any], effective_from: datetime, actor: str) -> None:
        """Record `plan` (a TariffPlan dict carrying this book's name and next version)."""
        if effective_from.utcoffset() is None:
            raise InvalidRequest("effective_from must be an aware instant")
        if plan.get("name") != self.name:
            raise InvalidRequest(f"plan {plan.get('name')!r} cannot be published in tariff {self.name!r}")
        if plan.get("version") != self.next_version:
            raise InvalidRequest(f"tariff {self.name} expects version {self.next_version}, got {plan.get('version')}")
        self.trigger_event(
            self.TariffPlanPublished,
            version=self.next_version,
            effective_from=effective_from,
            plan=plan,
            actor=actor,
        )

    class DiscountsSet(Aggregate.Event):
        """The operator replaced the plan's tariff discounts with `discounts` (an empty list: none)."""

        discounts: list[dict[str, Any]]
        actor: str

        def apply(self, book: TariffBook) -> None:
            book.discounts = tuple(self.discounts)

    def set_discounts(self, discounts: list[dict[str, Any]], actor: str) -> None:
        """Replace the discounts; each is checked as a `PercentOff` with a known category and a band name."""
        for rule in discounts:
            try:
                checked = PercentOff.from_dict(rule)
            except (KeyError, TypeError, ValueError) as err:
                raise InvalidRequest(f"a discount rule is invalid: {err}") from None
            if checked.category is not None and checked.category not in CATEGORIES:
                raise InvalidRequest(f"a discount category is one of {', '.join(sorted(CATEGORIES))}")
            if checked.band is not None:
                check_text(checked.band, "a band name", 40)
        if len(discounts) > MAX_DISCOUNTS:
            raise InvalidRequest(f"a tariff has at most {MAX_DISCOUNTS} discount rules")
        self.trigger_event(self.DiscountsSet, discounts=[PercentOff.from_dict(r).to_dict() for r in discounts],
                           actor=actor)

    class FreeMinutesSet(Aggregate.Event):
        """The operator set the free minutes a month each account on this tariff gets (0: none)."""

        minutes: int
        actor: str

        def apply(self, book: TariffBook) -> None:
            book.free_minutes = self.minutes

    def set_free_minutes(self, minutes: int, actor: str) -> None:
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= MAX_FREE_MINUTES:
            raise InvalidRequest(f"free minutes a month are 0 to {MAX_FREE_MINUTES}, got {minutes!r}")
        self.trigger_event(self.FreeMinutesSet, minutes=minutes, actor=actor)

    def plan_version(self, number: int) -> dict[str, Any]:
        if not 1 <= number <= len(self.plans):
            raise TariffNotFound(f"tariff {self.name} has no version {number}")
        return self.plans[number - 1]

    def in_force(self, at: datetime) -> dict[str, Any] | None:
        best: dict[str, Any] | None = None
        best_key: tuple[datetime, int] | None = None
        for plan in self.plans:
            start = datetime.fromisoformat(plan["effective_from"])
            if start <= at and (best_key is None or (start, plan["version"]) > best_key):
                best, best_key = plan, (start, plan["version"])
        return best


class TariffNotFound(NotFound):
    code = "unknown_tariff"
