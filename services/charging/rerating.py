"""Rerating: finished calls priced again under another tariff; each difference a new credit or debit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ledger import house
from ledger.application import Command
from ledger.charging import ENDED, EXPIRED, CallNotOpen, CallSession
from ledger.errors import LedgerError
from ledger.free_usage import FreeUsage, free_usage_id, month_of
from ledger.unit_of_work import UnitOfWork
from rating.rate import rate_call
from services.charging.requests import NoRateForCall, RatedDestination
from services.charging.tariffs import Tariffs


class Rerating(Tariffs):
    def rerate_command(self, call: str, plan_name: str, version: int | None, actor: str) -> Command:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            session = self._session(uow, call)
            if session.status not in (ENDED, EXPIRED):
                raise CallNotOpen(f"call {call} is {session.status}; only finished calls are rerated")
            assert session.rated_at is not None
            plan = self.plan(plan_name, version, at=session.rated_at)
            destination = RatedDestination(session.callee_e164, session.category)
            row = plan.find_rate(destination)
            if row is None:
                raise NoRateForCall(f"tariff {plan.name} v{plan.version} has no rate for {destination.e164}")
            book = self.tariff(plan_name)
            assert book is not None
            row = book.discounted(row, session.category)
            cost = rate_call(row, session.billsec, session.rated_at, plan.zone, self._free_used(uow, session)).cost
            difference = cost - session.cost
            if difference == 0 and (plan.name, plan.version) == (session.plan, session.plan_version):
                return {"call_id": call, "changed": False, "difference": 0}
            account = self._account(uow, session)
            counter = house.revenue(session.service, session.category)
            memo = f"rerate call {call} to {plan.name} v{plan.version}"
            if difference > 0:
                account.debit(difference, counter, actor, memo)
            elif difference < 0:
                account.credit(-difference, counter, actor, memo)
            session.rerate(plan=plan.name, plan_version=plan.version, rate={**row.to_dict(), "tz": plan.tz},
                           billsec=session.billsec, cost=cost, actor=actor)
            return {"call_id": call, "changed": True, "difference": difference, "cost": cost}

        return command

    @staticmethod
    def _free_used(uow: UnitOfWork, session: CallSession) -> int:
        """The free seconds the call used when it ended: a rerate keeps them with the call."""
        if session.account is None or session.rated_at is None:
            return 0
        month = month_of(session.rated_at, str(session.rate.get("tz", "Asia/Shanghai")))
        usage = uow.find(free_usage_id(session.account, month), FreeUsage)
        return usage.calls.get(session.call_id, 0) if usage is not None else 0

    def rerate(self, calls: Iterable[str], plan_name: str, version: int | None, actor: str) -> dict[str, Any]:
        """Re-price finished calls; each difference is a new credit or debit, never an edit."""
        self.plan(plan_name, version, upcoming=True)  # an unknown plan or version fails before anything runs
        rerated, unchanged, difference = 0, 0, 0
        skipped: list[dict[str, str]] = []
        calls = list(calls)
        for start in range(0, len(calls), 256):
            part = calls[start : start + 256]
            outcomes = self.ledger.execute_many([(self.rerate_command(c, plan_name, version, actor), None)
                                                 for c in part])
            for call, outcome in zip(part, outcomes):
                if isinstance(outcome, LedgerError):
                    skipped.append({"call_id": call, "reason": outcome.code, "message": str(outcome)})
                elif outcome["changed"]:
                    rerated += 1
                    difference += outcome["difference"]
                else:
                    unchanged += 1
        return {"selected": len(calls), "rerated": rerated, "unchanged": unchanged, "difference": difference,
                "skipped": skipped}
