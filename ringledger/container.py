"""Builds the ledger, its views and the projector from one Settings object."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ledger.application import Ledger
from ledger.pins import PinHasher
from projections.db import ViewDB
from projections.runner import Projector
from ringledger.config import Settings


@contextmanager
def _setting_up(settings: Settings) -> Iterator[None]:
    """One process at a time creates the schema, tables and types (PostgreSQL advisory lock).

    Several API processes starting together otherwise deadlock on each
    other's CREATE … IF NOT EXISTS statements. On SQLite there is nothing to
    serialise: the file's own lock does it.
    """
    if not settings.is_postgres:
        yield
        return
    conn = ViewDB(settings.database_url, settings.database_schema).connect()  # creates the schema
    try:
        conn.execute("SELECT pg_advisory_lock(hashtext('ringledger-setup'), hashtext(current_schema()))")
        yield
    finally:
        conn.close()  # releases the lock


class RingLedger(Ledger):
    """The ledger with a hook run after every save (wakes the projector in a server)."""

    def __init__(self, env: dict[str, str], *, pin_hasher: PinHasher) -> None:
        super().__init__(env, pin_hasher=pin_hasher)
        self.after_save: list[Any] = []

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        for callback in self.after_save:
            callback(recordings)
        return recordings


@dataclass
class Container:
    settings: Settings
    ledger: RingLedger
    views: ViewDB
    projector: Projector

    def catch_up(self) -> int:
        return self.projector.run()

    def settle_views(self) -> None:
        """After a committed command: bring the views up to date if they can be.

        What was committed is the answer; a view that cannot follow stops
        alone and says so in /health, never in the caller's answer.
        """
        try:
            self.projector.run()
        except Exception:
            import structlog

            structlog.get_logger().warning("views_behind_after_commit", error=self.projector.last_error)

    def close(self) -> None:
        self.projector.close()
        self.views.close()
        self.ledger.close()


def build(settings: Settings | None = None) -> Container:
    settings = settings or Settings()
    with _setting_up(settings):
        ledger = RingLedger(settings.eventsourcing_env(), pin_hasher=PinHasher(settings.pin_key_bytes()))
        views = ViewDB(settings.database_url, settings.database_schema)
        projector = Projector(ledger, views)
    ledger.after_save.append(projector.offer)
    return Container(settings, ledger, views, projector)
