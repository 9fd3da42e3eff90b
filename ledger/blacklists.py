"""The operator's blacklist: numbers refused for one account, or for every account.

One aggregate holds every entry, keyed by scope (an account number, or "*"
for operator-wide) — small, rarely written, cached whole by the charging
service. Invariant: a number is blocked in a scope from its `NumberBlocked`
event until a later `NumberUnblocked` for the same scope.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from ledger.call_ids import blacklist_id
from ledger.errors import InvalidRequest

EVERYWHERE = "*"


class Blacklist(Aggregate):
    class Started(Aggregate.Created):
        actor: str

    def __init__(self, actor: str) -> None:
        self.entries: dict[str, list[str]] = {}  # scope -> E.164 numbers

    @classmethod
    def start(cls, actor: str) -> Blacklist:
        return cls._create(cls.Started, id=blacklist_id(), actor=actor)

    class NumberBlocked(Aggregate.Event):
        scope: str
        number: str
        reason: str
        actor: str

        def apply(self, blacklist: Blacklist) -> None:
            blacklist.entries.setdefault(self.scope, []).append(self.number)

    class NumberUnblocked(Aggregate.Event):
        scope: str
        number: str
        actor: str

        def apply(self, blacklist: Blacklist) -> None:
            blacklist.entries[self.scope].remove(self.number)

    def blocks(self, scope: str, number: str) -> bool:
        return number in self.entries.get(scope, ())

    def block(self, scope: str, number: str, reason: str, actor: str) -> None:
        if not scope or not number:
            raise InvalidRequest("a blacklist entry needs a scope and a number")
        if not self.blocks(scope, number):
            self.trigger_event(self.NumberBlocked, scope=scope, number=number, reason=reason, actor=actor)

    def unblock(self, scope: str, number: str, actor: str) -> None:
        if not self.blocks(scope, number):
            raise InvalidRequest(f"{number} is not blacklisted for {scope}")
        self.trigger_event(self.NumberUnblocked, scope=scope, number=number, actor=actor)
