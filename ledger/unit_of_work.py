"""One command's (or one group's) loaded aggregates, saved in one transaction.

Invariant: an aggregate is loaded at most once per unit, so commands in a
group see each other's effects; `commit()` writes every pending event of
every touched aggregate atomically, and a concurrent writer shows up as an
IntegrityError (a version already taken), never as a lost update.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

if TYPE_CHECKING:
    from eventsourcing.application import Application

A = TypeVar("A", bound=Aggregate)


class UnitOfWork:
    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        self.touched: dict[UUID, Aggregate] = {}

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        agg = self.touched.get(aggregate_id)
        if agg is None:
            try:
                agg = self.app.repository.get(aggregate_id)
                sync = getattr(self.app, "sync", None)
                if sync is not None and sync.stale(aggregate_id, agg.version):
                    # Loaded while another process's newer version was being noted: reload.
                    evict(self.app, [aggregate_id])
                    agg = self.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
            self.touched[aggregate_id] = agg
        if not isinstance(agg, kind):
            return None
        return agg

    def get(self, aggregate_id: UUID, kind: type[A], missing: Callable[[], Exception]) -> A:
        """The aggregate, as `find` loads it; raises `missing()` when there is none of that kind."""
        agg = self.find(aggregate_id, kind)
        if agg is None:
            raise missing()
        return agg

    def add(self, aggregate: A) -> A:
        self.touched[aggregate.id] = aggregate
        return aggregate

    def pending_count(self) -> int:
        return sum(len(a.pending_events) for a in self.touched.values())

    def pending_events(self) -> list[Any]:
        return [e for a in self.touched.values() for e in a.pending_events]

    def commit(self) -> None:
        dirty = [a for a in self.touched.values() if a.pending_events]
        if dirty:
            self.app.save(*dirty)

    def evict(self) -> None:
        """Forget cached copies of everything this unit touched (after a conflict)."""
        evict(self.app, self.touched)


def evict(app: Application[UUID], ids: Iterable[UUID]) -> None:
    cache: Any = app.repository.cache
    if cache is None:
        return
    for aggregate_id in ids:
        try:
            cache.get(aggregate_id, evict=True)
        except KeyError:
            pass
