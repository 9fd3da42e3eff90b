"""The live booth board: each booth's state, the number dialled, the time on the call and what the
walk-in customer owes for it so far, computed at read time from the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ledger.accounts import Account
from ledger.application import Ledger
from ledger.ids import account_id
from ledger.tariff_book import TariffNotFound
from ledger.unit_of_work import UnitOfWork
from projections import phonebar_reads as reads
from projections.db import ViewDB
from rating.numberplan import Destination
from rating.rate import rate_call
from rating.tariffs import RateRow, TariffPlan
from services.charging.requests import rate_row_of

IDLE, DIALLING, TALKING = "idle", "dialling", "talking"


class BoardReads:
    ledger: Ledger
    views: ViewDB
    fresh: Callable[[], None]
    clock: Callable[[], datetime]
    plan: Callable[..., TariffPlan]

    def board(self, bar: str) -> list[dict[str, Any]]:
        """One row per booth (the defined ones, or for a bar without, the booths of its open calls).

        `running` is the answered call's price for the seconds so far at the bar's retail tariff
        (`priced_at` "retail"), or at the operator's rate when the bar has no retail tariff for it.
        """
        self.fresh()
        uow = UnitOfWork(self.ledger)
        self._bar(uow, bar)  # type: ignore[attr-defined]  # refuses what is not a phone bar
        account = uow.find(account_id(bar), Account)
        retail_plan = account.retail_plan if account is not None else None
        now = self.clock()
        calls = {c["booth"]: c for c in reads.open_calls(self.views, bar)}  # the latest call of a booth wins
        names = [b["name"] for b in reads.booths(self.views, bar)] or sorted(n for n in calls if n is not None)
        return [self._row(name, calls.get(name), retail_plan, now) for name in names]

    def _row(self, booth: str, call: dict[str, Any] | None, retail_plan: str | None,
             now: datetime) -> dict[str, Any]:
        if call is None:
            return {"booth": booth, "state": IDLE, "call_id": None, "dialled": None, "destination": None,
                    "started_at": None, "answered_at": None, "elapsed": 0, "running": 0, "priced_at": None}
        answered = datetime.fromisoformat(call["answered_at"]) if call["answered_at"] else None
        started = datetime.fromisoformat(call["authorized_at"])
        elapsed = max(0, int((now - (answered or started)).total_seconds()))
        running, priced_at = 0, None
        if answered is not None:
            row, tz, priced_at = self._retail_row(call, retail_plan, answered)
            running = rate_call(row, elapsed, answered, tz).cost if elapsed else 0
        return {"booth": booth, "state": TALKING if answered else DIALLING, "call_id": call["call_id"],
                "dialled": call["callee"], "destination": call["destination_name"], "started_at": call["authorized_at"],
                "answered_at": call["answered_at"], "elapsed": elapsed, "running": running, "priced_at": priced_at}

    def _retail_row(self, call: dict[str, Any], retail_plan: str | None,
                    at: datetime) -> tuple[RateRow, str, str]:
        if retail_plan:
            try:
                plan = self.plan(retail_plan, at=at)
            except TariffNotFound:
                plan = None
            row = plan.find_rate(Destination(call["callee_e164"], call["category"], None, "")) if plan else None
            if plan is not None and row is not None:
                return row, plan.tz, "retail"
        rate = call["rate"]
        return rate_row_of(rate), rate.get("tz", "Asia/Shanghai"), "wholesale"
