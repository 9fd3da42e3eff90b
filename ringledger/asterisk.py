"""The Asterisk adapter wired from the settings: AMI ports before charging, the AGI server after it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from adapters.asterisk.adapter import AsteriskAdapter, AsteriskPorts
from adapters.spool import Spool
from ringledger.container import Container


def asterisk_ports(container: Container) -> AsteriskPorts | None:
    """With `RINGLEDGER_AMI_URL`, cuts, limits and originations go to Asterisk (other calls to the ports
    configured before)."""
    settings = container.settings
    if not settings.ami_url:
        return None
    ports = AsteriskPorts(settings.ami_url, container.ports.call_control,
                          originate_channel=settings.ami_originate_channel)
    container.ports = replace(container.ports, call_control=ports.call_control, dialer=ports.dialer)
    return ports


def build_asterisk(container: Container, ports: AsteriskPorts | None, hooks: Any) -> AsteriskAdapter | None:
    settings = container.settings
    if ports is None and settings.agi_port is None:
        return None
    adapter = AsteriskAdapter(hooks.charging, hooks.committer, zone=settings.asterisk_timezone or settings.timezone,
                              ports=ports, agi_host=settings.agi_host, agi_port=settings.agi_port,
                              callbacks=hooks.callbacks, conferences=hooks.conferences,
                              spool=Spool(settings.asterisk_spool_dir))
    _health_metrics(adapter, hooks.registry)
    return adapter


def _health_metrics(adapter: AsteriskAdapter, registry: CollectorRegistry) -> None:
    helps = {
        "asterisk_agi_listening": "1 while the FastAGI server accepts sessions",
        "asterisk_agi_sessions": "FastAGI sessions since start",
        "asterisk_ami_connected": "1 while logged in to the Asterisk Manager Interface",
        "asterisk_ami_action_failures": "AMI actions (Hangup, Setvar, Originate) not accepted since start",
        "asterisk_cdr_charged": "Calls charged from Asterisk since start",
        "asterisk_bad_frames": "AGI sessions and AMI events refused as malformed since start",
        "asterisk_ends_not_recorded": "Asterisk call ends neither recorded nor spooled (see the log)",
        "asterisk_spool_depth": "Asterisk call ends waiting in the spool for the ledger",
        "asterisk_spool_oldest_seconds": "How long the oldest spooled Asterisk end has waited",
        "asterisk_spool_rejected": "Spooled Asterisk ends the ledger refused for good (rejected.jsonl)",
    }
    for name in adapter.health():
        Gauge(f"ringledger_{name}", helps[name], registry=registry).set_function(
            lambda name=name: adapter.health().get(name, float("nan")))
