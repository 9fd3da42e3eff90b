"""Keeping a process's aggregate cache as fresh as the store, whichever process wrote.

The cache is kept without fast-forward (a cached aggregate is not re-read on
every `get`), so another process's events would otherwise stay invisible to
this one until a save collides. `CacheSync.catch_up()` reads the notification
log past the position it last saw (one indexed query: position, aggregate id,
version; no event bodies) and evicts every cached aggregate that is older
than the store.

Guarantees:

* after `catch_up()` returns, no cached aggregate is older than what the
  store had committed when it was called (the log is read in position order,
  and positions are committed in order on both stores);
* an aggregate loaded from the store while `catch_up()` ran is still caught:
  the newest version seen for each recently changed id is remembered, and
  `stale()` tells a reader to reload a copy older than it.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

#: (position, aggregate id, version) of stored events after a position, in order, at most `limit`.
Changes = Callable[[int, int], Sequence[tuple[int, Any, int]]]
PAGE = 5000
REMEMBERED = 50_000


class CacheSync:
    def __init__(self, app: Any, changes: Changes, start: int) -> None:
        self.app = app
        self.changes = changes
        self.position = start
        self._listeners: list[weakref.WeakMethod[Callable[[set[UUID]], None]]] = []
        self._latest: dict[UUID, int] = {}
        self._lock = threading.Lock()
        self._began = float("-inf")  # when the last read of the log began

    def catch_up(self) -> int:
        """Evict what the store holds newer versions of; returns how many log entries were read.

        Callers arriving together share one read: a read that began after a
        caller asked serves that caller too.
        """
        asked = time.monotonic()
        read = 0
        with self._lock:
            if self._began > asked:
                return 0
            began = time.monotonic()
            while True:
                rows = self.changes(self.position, PAGE)
                if not rows:
                    break
                changed: set[UUID] = set()
                for _, raw_id, version in rows:
                    oid = raw_id if isinstance(raw_id, UUID) else UUID(str(raw_id))
                    if self._latest.get(oid, 0) < version:
                        self._latest.pop(oid, None)
                        self._latest[oid] = version
                    changed.add(oid)
                self.position = int(rows[-1][0])
                read += len(rows)
                self._evict_older(changed)
                self._tell(changed)
                if len(rows) < PAGE:
                    break
            self._began = began  # only a read that completed serves those who asked before it
            if len(self._latest) > REMEMBERED:
                for oid in list(self._latest)[: len(self._latest) - REMEMBERED // 2]:
                    del self._latest[oid]
        return read

    def saved(self, recordings: Sequence[Any]) -> None:
        """This process's own save: skip reading it back when it follows straight on the position read.

        Only ids that continue the position without a gap are skipped, so no
        other writer's event can lie among them. A busy lock means a read is
        under way: it will read these too.
        """
        ids = sorted(r.notification.id for r in recordings if getattr(r, "notification", None) is not None)
        if not ids or ids[-1] - ids[0] + 1 != len(ids) or not self._lock.acquire(blocking=False):
            return
        try:
            if ids[0] == self.position + 1:
                self.position = ids[-1]
                # Other readers in this process (another charging engine) still hear of the change.
                self._tell({r.notification.originator_id for r in recordings})
        finally:
            self._lock.release()

    def close(self) -> None:
        close = getattr(self.changes, "close", None)
        if close is not None:
            close()

    def subscribe(self, method: Callable[[set[UUID]], None]) -> None:
        """Call the bound `method` with the ids of every batch of changes read (held weakly)."""
        with self._lock:
            self._listeners.append(weakref.WeakMethod(method))

    def stale(self, aggregate_id: UUID, version: int) -> bool:
        """True if the log has shown a version of `aggregate_id` newer than `version`."""
        return self._latest.get(aggregate_id, 0) > version

    def _tell(self, changed: set[UUID]) -> None:
        for ref in list(self._listeners):
            listener = ref()
            if listener is None:
                self._listeners.remove(ref)
            else:
                listener(changed)

    def _evict_older(self, ids: set[UUID]) -> None:
        cache: Any = self.app.repository.cache
        if cache is None:
            return
        for oid in ids:
            try:
                cached = cache.get(oid)
            except KeyError:
                continue
            if cached.version < self._latest.get(oid, 0):
                try:
                    cache.get(oid, evict=True)
                except KeyError:
                    pass
