"""Balances and holds of every account at an instant, from the event log alone.

Nothing here reads a view: every account is rebuilt by applying its own
events (the domain's `apply`, exactly as the aggregate does) in log order,
keeping only events recorded at or before the instant; house accounts are
summed from the postings of the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import resolve_topic

from ledger.accounts import Account
from ledger.application import Ledger
from ledger.house import is_house

PAGE = 5000


@dataclass
class Replay:
    as_of: datetime
    position: int = 0  # last notification applied
    events: int = 0  # notifications read
    applied: int = 0  # events at or before as_of that changed a balance, a hold or an account
    accounts: dict[UUID, Account] = field(default_factory=dict)
    ledger: dict[str, int] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for account in sorted(self.accounts.values(), key=lambda a: a.number):
            out.append({
                "number": account.number,
                "kind": account.kind,
                "status": account.status,
                "balance": account.balance,
                "held": account.held,
                "available": account.available,
                "holds": {hold: amount for hold, (amount, _) in sorted(account.holds.items())},
            })
        return out

    def house(self) -> dict[str, int]:
        return {k: v for k, v in sorted(self.ledger.items()) if is_house(k)}

    def trial_balance(self) -> int:
        return sum(self.ledger.values())


def replay(app: Ledger, as_of: datetime, progress: Callable[[int], None] | None = None) -> Replay:
    if as_of.utcoffset() is None:
        raise ValueError("replay needs an instant with a time zone")
    result = Replay(as_of)
    kinds: dict[str, tuple[bool, bool]] = {}  # topic -> (account event, has postings)
    late: set[UUID] = set()  # aggregates with an event after as_of: later ones are skipped too
    to_event = app.mapper.to_domain_event
    after = 0
    while True:
        notes = app.recorder.select_notifications(start=after, limit=PAGE, inclusive_of_start=False)
        if not notes:
            return result
        for n in notes:
            kind = kinds.get(n.topic)
            if kind is None:
                cls = resolve_topic(n.topic)
                kind = kinds[n.topic] = (issubclass(cls, Account.Event), hasattr(cls, "postings"))
            if not (kind[0] or kind[1]) or n.originator_id in late:
                continue
            event: Any = to_event(n)
            if event.timestamp > as_of:
                late.add(event.originator_id)
                continue
            if kind[0]:
                result.accounts[event.originator_id] = event.mutate(result.accounts.get(event.originator_id))
            if kind[1]:
                for gl_account, amount in event.postings():
                    result.ledger[gl_account] = result.ledger.get(gl_account, 0) + amount
            result.applied += 1
            result.position = n.id
        result.events += len(notes)
        after = notes[-1].id
        if progress is not None:
            progress(len(notes))
