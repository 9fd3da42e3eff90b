"""FreeSWITCH wired into `ringledger serve` when `RINGLEDGER_FREESWITCH_ENABLED` is true (off by default).

`prepare` (before the hooks are built) makes the event-socket client the
process's `CallControl` and `Dialer`; `install` (after) adds the JSON CDR
route and the metrics; `start`/`stop` run in the app's lifespan.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Gauge

from adapters.freeswitch.cdr import CdrReceiver, build_cdr_router
from adapters.freeswitch.inbound import EventSocketClient
from adapters.freeswitch.outbound import ParkAuthorizer
from adapters.freeswitch.reports import Reports
from adapters.spool import Spool
from ringledger.container import Container


class FreeSwitch:
    def __init__(self, container: Container) -> None:
        self.settings = container.settings
        self.container = container
        self.spool: Spool | None = None
        self.client: EventSocketClient | None = None
        self.outbound: ParkAuthorizer | None = None
        self.reports: Reports | None = None
        #: The port the outbound socket listens on once started (the setting, or the free port 0 picked).
        self.listen_port = 0

    def prepare(self) -> None:
        """Make the client the switch's ports before charging is built around them."""
        s = self.settings
        self.spool = Spool(s.freeswitch_spool_dir)
        ports = self.container.ports
        self.client = EventSocketClient(
            None, s.freeswitch_host, s.freeswitch_port, s.freeswitch_password,
            dial_template=s.freeswitch_dial_template, context=s.freeswitch_context, fallback=ports.call_control)
        self.container.ports = replace(ports, call_control=self.client, dialer=self.client)

    def install(self, app: FastAPI, hooks: Any) -> None:
        assert self.spool is not None and self.client is not None
        reports = self.reports = Reports(hooks.charging, hooks.committer, self.spool)
        self.client.reports = reports
        self.outbound = ParkAuthorizer(hooks.charging, hooks.committer, self.client,
                                       context=self.settings.freeswitch_authorized_context)
        receiver = CdrReceiver(reports, hooks.auth.switch_of)
        app.include_router(build_cdr_router(receiver))
        app.state.freeswitch = self
        _metrics(hooks.registry, self, receiver)

    async def start(self) -> None:
        assert self.reports is not None and self.client is not None and self.outbound is not None
        self.reports.start()
        await self.client.start()
        self.listen_port = await self.outbound.start(self.settings.freeswitch_listen_host,
                                                     self.settings.freeswitch_listen_port)

    async def stop(self) -> None:
        if self.outbound is not None:
            await self.outbound.stop()
        if self.client is not None:
            await self.client.stop()
        if self.spool is not None:
            self.spool.close()


def _metrics(registry: CollectorRegistry, fs: FreeSwitch, receiver: CdrReceiver) -> None:
    spool, client, outbound = fs.spool, fs.client, fs.outbound
    assert spool is not None and client is not None and outbound is not None
    Gauge("ringledger_freeswitch_connected", "1 while the inbound event socket to FreeSWITCH is up",
          registry=registry).set_function(lambda: float(client.connected))
    Gauge("ringledger_freeswitch_spool_depth", "Answers and ends (events and CDRs) waiting for the ledger",
          registry=registry).set_function(lambda: float(spool.depth))
    Gauge("ringledger_freeswitch_spool_oldest_seconds", "How long the oldest spooled report has waited",
          registry=registry).set_function(spool.oldest_age)
    Gauge("ringledger_freeswitch_spool_rejected", "Spooled reports the ledger refused for good (rejected.jsonl)",
          registry=registry).set_function(lambda: float(spool.rejected))
    Gauge("ringledger_freeswitch_cdrs_received", "JSON CDRs recorded or spooled since start",
          registry=registry).set_function(lambda: float(receiver.received))
    Gauge("ringledger_freeswitch_park_authorized", "Calls authorized at park since start",
          registry=registry).set_function(lambda: float(outbound.authorized))
    Gauge("ringledger_freeswitch_park_refused", "Calls refused (hung up) at park since start",
          registry=registry).set_function(lambda: float(outbound.refused + outbound.failed))
