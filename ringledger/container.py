"""Builds the ledger, its views and the projector from one Settings object."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from adapters.kamailio.control import KamailioCallControl
from adapters.log.ports import LoggingCallControl, LoggingDialer, LoggingSmsGateway
from ledger.application import Ledger
from ledger.freshness import CacheSync
from ledger.pins import PinHasher
from projections.db import ViewDB
from projections.log_changes import LogChanges
from projections.runner import Projector
from ringledger.config import Settings
from ringledger.sms import build_gateway
from services.ports import Ports


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
    #: The switch and the SMS gateway: ports that only log, unless the settings choose an SMS gateway.
    ports: Ports = field(default_factory=lambda: logging_ports())
    #: What records and retries the texts of a real SMS gateway (`RINGLEDGER_SMS`); None when texts are only logged.
    sms_outbox: Any = None

    def catch_up(self) -> int:
        return self.projector.run()

    def fresh(self) -> None:
        """Cache and views no older than the store: what any process recorded before this call is seen.

        A view that cannot apply an event is left where it stopped (its lag shows in /health);
        the caller still gets an answer.
        """
        self.ledger.fresh()
        head = self.ledger.recorder.max_notification_id() or 0
        rows = self.views.query(f"SELECT position FROM {self.projector.tracking} WHERE name = ?", ("views",))
        if rows and int(rows[0][0]) >= head:
            return
        try:
            self.projector.run(stop=head)
        except Exception:
            structlog.get_logger().exception("views_catch_up_failed")

    def settle_views(self) -> None:
        """After a committed command: bring the views up to date if they can be.

        What was committed is the answer; a view that cannot follow stops
        alone and says so in /health, never in the caller's answer.
        """
        try:
            self.projector.run()
        except Exception:
            structlog.get_logger().warning("views_behind_after_commit", error=self.projector.last_error)

    def close(self) -> None:
        if self.ledger.sync is not None:
            self.ledger.sync.close()
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
    ledger.house_balance = _house_balance(views, projector)
    # Everything in the log before now is newer than this process's (empty) cache.
    ledger.sync = CacheSync(ledger, LogChanges(views, ledger.recorder.events_table_name),
                            ledger.recorder.max_notification_id() or 0)
    ledger.after_save.append(ledger.sync.saved)
    container = Container(settings, ledger, views, projector)
    if settings.kamailio_rpc_url:  # calls are cut through Kamailio (dlg.end_dlg)
        container.ports = replace(container.ports, call_control=KamailioCallControl(settings.kamailio_rpc_url))
    if settings.sms != "log":
        sms, container.sms_outbox = build_gateway(settings, ledger)
        container.ports = Ports(dialer=container.ports.dialer, call_control=container.ports.call_control, sms=sms)
    return container


def logging_ports() -> Ports:
    return Ports(dialer=LoggingDialer(), call_control=LoggingCallControl(), sms=LoggingSmsGateway())


def _house_balance(views: ViewDB, projector: Projector) -> Callable[[str], int]:
    """A house account's balance as the general-ledger view holds it now.

    The view may trail the log by the events of the last moments; the bound
    it guards (the declared money maximum) has about 9,200 times that much
    room below what a view column holds, so a trailing read cannot let a
    column overflow. It never runs the projector itself: inside a command that
    would widen the window in which a busy account's save conflicts.
    """

    def read(name: str) -> int:
        rows = views.query("SELECT balance FROM gl_balances WHERE account = ?", (name,))
        return int(rows[0][0]) if rows else 0

    return read
