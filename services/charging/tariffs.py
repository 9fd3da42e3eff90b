"""Tariffs for charging: publishing a version, the cached book, the version in force, a quote."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.call_ids import tariff_id
from ledger.errors import InvalidRequest
from ledger.free_usage import FreeUsage, free_usage_id, month_of
from ledger.tariff_book import TariffBook, TariffNotFound
from ledger.unit_of_work import UnitOfWork, evict
from rating.numberplan import InvalidNumber
from rating.discounts import PercentOff
from rating.rate import price_at, rate_call
from rating.tariffs import RateRow, TariffPlan
from rating.tariffs import TariffBook as RatingBook
from services.charging.base import ChargingBase
from services.charging.requests import caller_area, classify_callee, e164_of


class Tariffs(ChargingBase):
    def publish_plan(self, name: str, rows: Sequence[RateRow], effective_from: datetime, actor: str,
                     *, tz: str | None = None, fees: dict[str, int] | None = None) -> dict[str, Any]:
        """Publish the next version of tariff `name`; refused whole if any row is invalid."""

        def command(uow: UnitOfWork) -> dict[str, Any]:
            book = uow.find(tariff_id(name), TariffBook) or uow.add(TariffBook.open(name, actor))
            try:
                plan = TariffPlan(name=name, version=book.next_version, effective_from=effective_from,
                                  rows=tuple(rows), tz=tz or "Asia/Shanghai", fees=fees or {})
            except (TypeError, ValueError) as err:
                raise InvalidRequest(str(err)) from None
            book.publish(plan.to_dict(), plan.effective_from, actor)
            return {"name": name, "version": plan.version, "effective_from": plan.effective_from.isoformat(),
                    "rows": len(plan.rows)}

        result = self.ledger.execute(command)
        with self._lock:
            self._books.pop(name, None)
        return result

    def set_discounts(self, name: str, rules: Sequence[PercentOff], actor: str, *,
                      add: bool = False) -> dict[str, Any]:
        """Replace tariff `name`'s discounts (an empty list removes them), or with `add` add to them;
        calls authorized from then on are rated with them."""

        def command(uow: UnitOfWork) -> dict[str, Any]:
            book = uow.find(tariff_id(name), TariffBook)
            if book is None or not book.plans:
                raise TariffNotFound(f"no tariff {name}")
            book.set_discounts([*(book.discounts if add else []), *(r.to_dict() for r in rules)], actor)
            return {"name": name, "discounts": list(book.discounts)}

        result = self.ledger.execute(command)
        with self._lock:
            self._books.pop(name, None)
        return result

    def set_free_minutes(self, name: str, minutes: int, actor: str) -> dict[str, Any]:
        """Set the free minutes a month each account on tariff `name` gets (0: none), for calls ending from now on."""

        def command(uow: UnitOfWork) -> dict[str, Any]:
            book = uow.find(tariff_id(name), TariffBook)
            if book is None or not book.plans:
                raise TariffNotFound(f"no tariff {name}")
            book.set_free_minutes(minutes, actor)
            return {"name": name, "free_minutes": book.free_minutes}

        result = self.ledger.execute(command)
        with self._lock:
            self._books.pop(name, None)
        return result

    def free_seconds_left(self, uow: UnitOfWork, plan: str | None, account: str, at: datetime,
                          tz: str) -> tuple[int, FreeUsage | None]:
        """Free seconds `account` has left in the month of `at` (read in `tz`) on tariff `plan`, and the
        month's usage record to note what a call uses (None when the tariff gives no free minutes)."""
        book = self.tariff(plan) if plan else None
        if book is None or not book.free_minutes:
            return 0, None
        month = month_of(at, tz)
        usage = uow.find(free_usage_id(account, month), FreeUsage) or uow.add(FreeUsage.open(account, month))
        return max(0, book.free_minutes * 60 - usage.used_seconds), usage

    def tariff(self, name: str) -> RatingBook | None:
        """Every version of tariff `name` (cached until the log shows it changed)."""
        now = time.monotonic()
        cached = self._books.get(name)
        if cached is not None and self._trusted(cached[0], now):
            return cached[1]
        evict(self.ledger, [tariff_id(name)])
        book = UnitOfWork(self.ledger).find(tariff_id(name), TariffBook)
        loaded = (RatingBook((TariffPlan.from_dict(p) for p in book.plans),
                             (PercentOff.from_dict(d) for d in book.discounts), book.free_minutes)
                  if book and book.plans else None)
        with self._lock:
            self._books[name] = (now, loaded)
        self._drop_if_stale(tariff_id(name), book, lambda: self._books.pop(name, None))
        return loaded

    def plan(self, name: str, version: int | None = None, at: datetime | None = None,
             *, upcoming: bool = False) -> TariffPlan:
        """Version `version`, else the one in force at `at` (default now); with `upcoming`, a tariff
        not yet in force at `at` gives the version that starts first."""
        book = self.tariff(name)
        if book is None:
            raise TariffNotFound(f"no tariff {name}")
        if version is not None:
            for plan in book.versions:
                if plan.version == version:
                    return plan
            raise TariffNotFound(f"tariff {name} has no version {version}")
        found = book.at(at or self.clock())
        if found is None and upcoming:
            found = book.versions[0]
        if found is None:
            raise TariffNotFound(f"tariff {name} has no version in force at {(at or self.clock()).isoformat()}")
        return found

    def quote(self, dialled: str, plan_name: str, at: datetime | None = None,
              caller: str | None = None) -> RateQuote:
        """How tariff `plan_name` prices a call to `dialled` at `at` (default: now).

        Same number classification and row choice as `authorize` (longest prefix,
        else the category row; a local number is local to `caller`'s area, default
        the home area), without an account or a hold; `row` is None when the
        version in force has no rate for the destination.
        """
        when = at or self.clock()
        plan = self.plan(plan_name, at=when)
        dial = self.policy.dial_plan
        try:
            destination = classify_callee(dialled, dial, caller_area(e164_of(caller, dial) if caller else None, dial))
        except InvalidNumber as err:
            raise InvalidRequest(str(err)) from None
        row = plan.find_rate(destination)
        book = self.tariff(plan_name)
        if row is not None and book is not None:
            row = book.discounted(row, destination.category)  # the cost quoted is what a call is charged
        return RateQuote(destination.e164, destination.category, plan, row, when)


@dataclass(frozen=True)
class RateQuote:
    """A priced destination: `price`/`cost` are `rating.rate` applied to `row` at `at` in the plan's zone."""

    e164: str
    category: str
    plan: TariffPlan
    row: RateRow | None
    at: datetime

    def price(self) -> tuple[int, str | None]:
        """Price per minute and band name in force at `at` (requires a row)."""
        assert self.row is not None
        return price_at(self.row, self.at, self.plan.zone)

    def cost(self, seconds: int) -> int:
        """The exact cost of a call of `seconds` talk seconds answered at `at` (requires a row)."""
        assert self.row is not None
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise InvalidRequest("seconds is a non-negative whole number")
        return rate_call(self.row, seconds, self.at, self.plan.zone).cost
