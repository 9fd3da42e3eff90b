"""Feeds the views from the notification log, from a tracked position.

Works the same on SQLite (which has no subscriptions) and PostgreSQL: read
the next page of notifications after the tracked position, apply every
projection, and move the position, all in one view transaction. Two runners
never apply the same page: the tracking row is locked for the transaction
(`BEGIN IMMEDIATE` on SQLite, `SELECT … FOR UPDATE` on PostgreSQL).

Guarantees: the next page is read from the log before the view transaction
begins, so the SQLite write lock is held only while rows are written, never
while waiting for a connection or a read; a lost view connection is
replaced on the next step (or at once, for one retry), and the last error
stays readable (`last_error`) until a step succeeds again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application

from projections.accounts import AccountsView
from projections.apikeys import ApiKeysView
from projections.base import Projection
from projections.cards import CardsView
from projections.cdrs import CdrView
from projections.conference_schedule import ConferenceSchedule
from projections.conferences import ConferencesView
from projections.db import ViewDB, is_broken, is_connection_lost
from projections.digests import DigestChain
from projections.general_ledger import GeneralLedger
from projections.forwarding import ForwardingView
from projections.missed_calls import MissedCallsView
from projections.phonebars import PhoneBarView
from projections.reports import RevenueReport
from projections.subscriptions import SubscriptionsView
from projections.sms_outbox import SmsOutboxView
from projections.tariffs import TariffsView

PAGE = 2000
MAX_LOCAL = 100_000  # recordings kept for the next step; past this, steps read the log
DEFAULT_PROJECTIONS: list[type[Projection]] = [GeneralLedger, AccountsView, CardsView, RevenueReport, ApiKeysView, DigestChain, CdrView, TariffsView,
                                                ConferencesView, ConferenceSchedule, PhoneBarView, SubscriptionsView,
                                                ForwardingView, MissedCallsView,
                                                SmsOutboxView]


class Projector:
    def __init__(
        self,
        app: Application[Any],
        db: ViewDB,
        kinds: Sequence[type[Projection]] | None = None,
        *,
        prefix: str = "",
    ) -> None:
        self.app = app
        self.db = db
        self.prefix = prefix
        self.projections = [k(db, prefix) for k in (kinds or DEFAULT_PROJECTIONS)]
        self._held: Any = None
        self._lock = threading.Lock()
        #: The last failure of a step ("Type: message"), None once a step succeeds; when it failed.
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.failures = 0
        self._local: dict[int, Any] = {}  # notification id -> Recording saved by this process
        self._local_lock = threading.Lock()
        self.create()

    @property
    def _conn(self) -> Any:
        """The projector's own view connection, reopened when the server side has gone."""
        if self._held is None or is_broken(self._held):
            self._drop_conn()
            self._held = self.db.connect()
        return self._held

    def _drop_conn(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            try:
                held.close()
            except Exception:  # already gone
                pass

    @property
    def tracking(self) -> str:
        return self.prefix + "view_tracking"

    def create(self) -> None:
        with self.db.transaction(self._conn) as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {self.tracking} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
            for p in self.projections:
                p.create(cur)
            cur.execute(
                self.db.sql(f"INSERT INTO {self.tracking} VALUES (?, 0) ON CONFLICT (name) DO NOTHING"), ("views",)
            )

    def drop(self) -> None:
        with self.db.transaction(self._conn) as cur:
            for p in self.projections:
                p.drop(cur)
            cur.execute(f"DROP TABLE IF EXISTS {self.tracking}")

    def position(self) -> int:
        cur = self._conn.cursor()
        cur.execute(self.db.sql(f"SELECT position FROM {self.tracking} WHERE name = ?"), ("views",))
        row = cur.fetchone()
        cur.close()
        return int(row[0]) if row else 0

    def run(self, progress: Callable[[int], None] | None = None, stop: int | None = None) -> int:
        """Apply everything recorded so far (up to `stop`); returns the number of events applied.

        Without `stop` it runs up to the head of the log as it was when
        called, so a caller under constant write load gets an answer instead
        of chasing new events. A connection lost under a step is replaced and
        the step tried once more; any other failure is kept in `last_error`
        and raised.
        """
        applied = 0
        retried = False
        with self._lock:
            while True:
                try:
                    if stop is None:
                        stop = self.app.recorder.max_notification_id() or 0
                    n = self._step(stop)
                except Exception as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}".strip()[:500]
                    self.last_error_at = time.time()
                    self.failures += 1
                    if is_connection_lost(exc) or is_broken(self._held):
                        self._drop_conn()
                        if not retried:
                            retried = True
                            continue
                    raise
                self.last_error = None
                if n < 0:  # another runner moved the position meanwhile: read again
                    continue
                if not n:
                    return applied
                applied += n
                if progress is not None:
                    progress(n)

    def offer(self, recordings: Sequence[Any]) -> None:
        """Recordings this process just saved: the next step uses them instead of reading and decoding."""
        with self._local_lock:
            if len(self._local) < MAX_LOCAL:
                for r in recordings:
                    self._local[r.notification.id] = r

    def _from_local(self, position: int, stop: int | None) -> list[Any]:
        """Recordings for position+1, +2, … while this process holds every one of them."""
        taken = []
        with self._local_lock:
            for stale in [i for i in self._local if i <= position]:
                del self._local[stale]
            nxt = position + 1
            while len(taken) < PAGE and (stop is None or nxt <= stop) and nxt in self._local:
                taken.append(self._local.pop(nxt))
                nxt += 1
        return taken

    def _step(self, stop: int | None) -> int:
        """One page: read it first, then write it in one view transaction; -1 if another runner won."""
        position = self.position()
        local = self._from_local(position, stop)
        if local:
            # Ids are consecutive from the tracked position, so no other writer's event lies between.
            notes = [r.notification for r in local]
            items = [(r.notification.id, r.domain_event) for r in local]
        else:
            notes = self.app.recorder.select_notifications(
                start=position, limit=PAGE, stop=stop, inclusive_of_start=False
            )
            if not notes:
                return 0
            to_event = self.app.mapper.to_domain_event
            items = [(n.id, to_event(n)) for n in notes]
        lock = "" if not self.db.is_postgres else " FOR UPDATE"
        with self.db.transaction(self._conn) as cur:
            cur.execute(self.db.sql(f"SELECT position FROM {self.tracking} WHERE name = ?{lock}"), ("views",))
            if int(cur.fetchone()[0]) != position:
                return -1
            for p in self.projections:
                p.apply_page(cur, items, notes)
            cur.execute(
                self.db.sql(f"UPDATE {self.tracking} SET position = ? WHERE name = ?"), (notes[-1].id, "views")
            )
            return len(items)

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        out: dict[str, list[tuple[Any, ...]]] = {}
        cur = self._conn.cursor()
        for p in self.projections:
            out.update(p.dump(cur))
        cur.close()
        return out

    def close(self) -> None:
        self._drop_conn()


class Follower:
    """Runs a projector in a background thread, woken after every save."""

    def __init__(self, projector: Projector, interval: float = 0.5) -> None:
        self.projector = projector
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="projector", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self, recordings: Sequence[Any] = ()) -> None:
        self._wake.set()

    def _loop(self) -> None:
        failing = False
        while not self._stop.is_set():
            # While failing, wait the whole interval: pokes from the hooks must not spin a broken view.
            if failing:
                self._stop.wait(self.interval)
            else:
                self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.projector.run()
                failing = False
            except Exception:  # the views stop alone; the hooks keep charging and this retries
                if not failing:
                    import structlog

                    structlog.get_logger().exception("projector_failed")
                failing = True

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
