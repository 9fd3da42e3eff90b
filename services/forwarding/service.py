"""The forwarding service: a business registers its number and profile, sets its schedule and blacklist,
and reads its calls, its bill and its agents' statistics.

Commands record events on the `Business` aggregate (`ledger.forwarding`);
reads come from the forwarding view (`projections.forwarding_reads`),
brought up to the store first (`fresh`). Numbers are normalised by the one
number plan (`Charging.normalise`); the schedule is in the zone the
business was registered in (the operator's).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from ledger.accounts import Account
from ledger.application import Ledger
from ledger.errors import AccountNotFound, InvalidRequest
from ledger.forwarding import Business, BusinessExists, BusinessNotFound, business_id
from ledger.ids import account_id
from ledger.text import check_text
from ledger.unit_of_work import UnitOfWork
from projections import forwarding_reads as reads
from projections.db import ViewDB


class Forwarding:
    def __init__(self, ledger: Ledger, views: ViewDB, normalise: Callable[[str], str], fresh: Callable[[], None],
                 timezone: str) -> None:
        self.ledger, self.views, self.normalise, self.fresh, self.timezone = ledger, views, normalise, fresh, timezone

    def number(self, raw: str) -> str:
        check_text(raw, "a phone number", 64, required=True)
        return self.normalise(raw)

    def register(self, number: str, account: str, actor: str, *, presented: str | None = None,
                 greeting: str = "", agents: list[str] | None = None, distribution: str = "even") -> dict[str, Any]:
        """Register a business's forwarded number, paid for by `account` (an account that exists)."""
        e164 = self.number(number)
        check_text(account, "an account number", 20, required=True)
        agent_numbers = [self.number(a) for a in agents or []]
        shown = self.number(presented) if presented else e164

        def command(uow: UnitOfWork) -> dict[str, Any]:
            if uow.find(business_id(e164), Business) is not None:
                raise BusinessExists(f"{e164} is already registered for forwarding")
            if uow.find(account_id(account), Account) is None:
                raise AccountNotFound(f"no account {account}")
            business = uow.add(Business.register(e164, account, self.timezone, actor))
            business.set_profile(shown, greeting, agent_numbers, distribution, actor)
            return business.profile()

        return self.ledger.execute(command)

    def _change(self, business: str, change: Callable[[Business], None]) -> dict[str, Any]:
        e164 = self.number(business)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            found = uow.find(business_id(e164), Business)
            if found is None:
                raise BusinessNotFound(f"no forwarding profile for {e164}")
            change(found)
            return found.profile()

        return self.ledger.execute(command)

    def set_profile(self, business: str, actor: str, *, presented: str | None = None, greeting: str | None = None,
                    agents: list[str] | None = None, distribution: str | None = None) -> dict[str, Any]:
        """Change what is given (None keeps it); agents are replaced as a whole list, in their tie order."""
        shown = self.number(presented) if presented else None
        agent_numbers = None if agents is None else [self.number(a) for a in agents]
        if greeting is not None:
            check_text(greeting, "a greeting", 200)

        def change(b: Business) -> None:
            b.set_profile(shown or b.presented, b.greeting if greeting is None else greeting,
                          b.agents if agent_numbers is None else agent_numbers,
                          distribution or b.distribution, actor)

        return self._change(business, change)

    def set_schedule(self, business: str, rules: Any, actor: str) -> dict[str, Any]:
        """The weekly hours the number is forwarded at (an empty list: always)."""
        return self._change(business, lambda b: b.set_schedule(rules, actor))

    def set_blacklist(self, business: str, numbers: list[str], prefixes: list[str], actor: str) -> dict[str, Any]:
        """Callers refused: whole numbers (normalised to E.164) and prefixes of E.164 digits."""
        if not isinstance(numbers, (list, tuple)) or not isinstance(prefixes, (list, tuple)):
            raise InvalidRequest("blocked numbers and prefixes are lists")
        e164s = [self.number(n) for n in numbers]
        return self._change(business, lambda b: b.set_blacklist(e164s, prefixes, actor))

    def mark_agent(self, business: str, agent: str, busy: bool, actor: str) -> dict[str, Any]:
        """An agent marked busy (away) gets no call until marked free again."""
        e164 = self.number(agent)
        return self._change(business, lambda b: b.mark_agent(e164, busy, actor))

    # --- reads ----------------------------------------------------------------

    def profile(self, business: str) -> dict[str, Any]:
        e164 = self.number(business)
        self.ledger.fresh()
        found = UnitOfWork(self.ledger).find(business_id(e164), Business)
        if found is None:
            raise BusinessNotFound(f"no forwarding profile for {e164}")
        return found.profile()

    def calls(self, business: str, *, agent: str | None = None, day: date | None = None,
              limit: int = 500) -> list[dict[str, Any]]:
        e164 = self.profile(business)["number"]
        self.fresh()
        return reads.calls(self.views, e164, agent=self.number(agent) if agent else None,
                           day=day.isoformat() if day else None, limit=limit)

    def statistics(self, business: str, day_from: date | None = None, day_to: date | None = None) -> list[dict[str, Any]]:
        profile = self.profile(business)
        _in_order(day_from, day_to)
        self.fresh()
        return reads.statistics(self.views, profile["number"], profile["agents"], _day(day_from), _day(day_to))

    def bill(self, business: str, day_from: date | None = None, day_to: date | None = None) -> dict[str, Any]:
        """What the business paid for forwarded calls on the days given (all without), and its balance now."""
        profile = self.profile(business)
        _in_order(day_from, day_to)
        self.fresh()
        totals = reads.bill(self.views, profile["number"], _day(day_from), _day(day_to))
        account = self.ledger.account(profile["account"])
        return {"business": profile["number"], "account": profile["account"], "from": _day(day_from),
                "to": _day(day_to), **totals, "balance": account.balance, "available": account.available}


def _in_order(day_from: date | None, day_to: date | None) -> None:
    """A range whose end is before its start is a typo, not an empty period."""
    if isinstance(day_from, date) and isinstance(day_to, date) and day_to < day_from:
        raise InvalidRequest(f"the last day ({day_to.isoformat()}) is before the first ({day_from.isoformat()})")


def _day(d: date | None) -> str | None:
    if d is not None and not isinstance(d, date):
        raise InvalidRequest("a day is YYYY-MM-DD")
    return d.isoformat() if d else None
