"""The SMS gateway chosen by the settings (`RINGLEDGER_SMS`): logging, Kannel or SMPP, and its recorder.

A real gateway is wrapped in `SmsOutbox`, so every text it sends is an
event and a refused one is retried by the leader's job; the logging
gateway (`make run`, the tours) records nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Gauge

from adapters.http.sms_gateway import build_gateway_router, redact_access_log
from adapters.log.ports import LoggingSmsGateway
from adapters.sms.kannel import KannelGateway
from adapters.sms.smpp import SmppGateway
from ledger.application import Ledger
from projections.sms_outbox import counts
from ringledger.config import Settings
from services.clock import clock_for
from services.ports import SmsGateway
from services.sms_outbox import SmsOutbox


def build_gateway(settings: Settings, ledger: Ledger) -> tuple[SmsGateway, SmsOutbox | None]:
    """The gateway the services send through, and its outbox (None for the logging gateway)."""
    adapter: KannelGateway | SmppGateway
    if settings.sms == "kannel":
        adapter = KannelGateway(settings.kannel_sendsms_url, settings.kannel_username, settings.kannel_password,
                                sender=settings.sms_number, dlr_url=settings.kannel_dlr_url,
                                smsc=settings.kannel_smsc)
    elif settings.sms == "smpp":
        adapter = SmppGateway(settings.smpp_host, settings.smpp_port, settings.smpp_system_id,
                              settings.smpp_password, sender=settings.sms_number,
                              system_type=settings.smpp_system_type, enquire_seconds=settings.smpp_enquire_seconds,
                              send_timeout=settings.smpp_send_timeout_seconds)
    else:
        return LoggingSmsGateway(settings.sms_number), None
    outbox = SmsOutbox(ledger, adapter, clock_for(settings.clock_start), settings.sms_number)
    return outbox, outbox


def install(app: FastAPI, outbox: SmsOutbox | None, views: Any, switch_of: Any, registry: CollectorRegistry) -> None:
    """Kannel's inlets (get-url, dlr-url) and the gateway's health in /metrics."""
    if outbox is None:
        return
    gateway: Any = outbox.gateway
    if isinstance(gateway, KannelGateway):
        app.include_router(build_gateway_router(gateway, switch_of))
        redact_access_log()  # Kannel's query strings carry the token and the text
    Gauge("ringledger_sms_gateway_up", "1 while the SMS gateway takes texts (SMPP: bound; Kannel: last sendsms "
          "answered)", registry=registry).set_function(lambda: float(bool(gateway.health()["up"])))

    def waiting(state: str) -> float:
        try:
            return float(counts(views).get(state, 0))
        except Exception:  # a scrape never fails for the view's sake
            return float("nan")

    texts = Gauge("ringledger_sms_texts", "Outbound texts by state (failed: waiting for a retry)", ["state"],
                  registry=registry)
    for state in ("sending", "sent", "failed", "given_up", "delivered", "undelivered"):
        texts.labels(state).set_function(lambda s=state: waiting(s))


def start(outbox: SmsOutbox | None) -> None:
    if outbox is not None and isinstance(outbox.gateway, SmppGateway):
        outbox.gateway.start()


def stop(outbox: SmsOutbox | None) -> None:
    if outbox is None:
        return
    gateway: Any = outbox.gateway
    if isinstance(gateway, SmppGateway):
        gateway.stop()
    elif isinstance(gateway, KannelGateway):
        gateway.close()
