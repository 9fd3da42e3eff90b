"""The Asterisk adapter as one thing to start and stop: AGI server, AMI client, their ports and health.

With a spool (`adapters.spool.Spool`), ends the store cannot take wait there and its thread replays
them once the store is back; the adapter owns the spool from `start` and closes it at `stop`.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from adapters.asterisk.agi import AgiServer
from adapters.asterisk.ami import AmiClient, AsteriskCallControl, AsteriskDialer, ChannelBook, parse_ami_url
from adapters.asterisk.events import AsteriskCalls
from adapters.spool import Spool
from services.charging import Charging
from services.group_commit import GroupCommitter
from services.ports import CallControl


class AsteriskPorts:
    """The ports an AMI connection gives (built before charging, which takes the call control)."""

    def __init__(self, ami_url: str, fallback: CallControl | None = None, *,
                 originate_channel: str = "Local/{number}@ringledger-out") -> None:
        self.book = ChannelBook()
        self.ami = AmiClient(parse_ami_url(ami_url))
        self.call_control = AsteriskCallControl(self.ami, self.book, fallback)
        self.dialer = AsteriskDialer(self.ami, self.book, channel=originate_channel)


class AsteriskAdapter:
    """FastAGI on `agi_port` (0: off) and AMI through `ports` (None: off), over one charging engine."""

    def __init__(self, charging: Charging, committer: GroupCommitter, *, zone: str,
                 ports: AsteriskPorts | None = None, agi_host: str = "127.0.0.1", agi_port: int | None = None,
                 callbacks: Any = None, conferences: Any = None, spool: Spool | None = None,
                 replay_seconds: float = 1.0) -> None:
        self.ports = ports
        self.spool = spool
        self.replay_seconds = replay_seconds
        book = ports.book if ports is not None else ChannelBook()
        control = ports.call_control if ports is not None else None
        self.calls = AsteriskCalls(charging, committer, book, control, ZoneInfo(zone), spool, conferences)
        self.agi = AgiServer(charging, committer, book, self.calls, control, callbacks, conferences) \
            if agi_port is not None else None
        self.agi_host, self.agi_port = agi_host, agi_port

    async def start(self) -> None:
        if self.spool is not None:  # ends left by an outage (and a restart) go first, new ones queue behind
            self.spool.start(self.calls.deliver_spooled, self.replay_seconds)
        if self.ports is not None:
            self.calls.install(self.ports.ami)
            await self.ports.ami.start()
        if self.agi is not None and self.agi_port is not None:
            self.agi_port = await self.agi.start(self.agi_host, self.agi_port)

    async def stop(self) -> None:
        if self.agi is not None:
            await self.agi.stop()
        if self.ports is not None:
            self.ports.ami.close()
        if self.spool is not None:
            self.spool.close()  # what still waits is on disk: the next start replays it

    def health(self) -> dict[str, int | float]:
        """Figures for /metrics: 1/0 states and counts since start (and the oldest spooled end's age in seconds)."""
        out: dict[str, int | float] = {
            "asterisk_cdr_charged": self.calls.charged,
            "asterisk_bad_frames": self.calls.bad_frames + (self.agi.bad_frames if self.agi else 0),
            "asterisk_ends_not_recorded": self.calls.not_recorded}
        if self.spool is not None:
            out.update(asterisk_spool_depth=self.spool.depth, asterisk_spool_oldest_seconds=self.spool.oldest_age(),
                       asterisk_spool_rejected=self.spool.rejected)
        if self.agi is not None:
            out.update(asterisk_agi_listening=int(self.agi.listening), asterisk_agi_sessions=self.agi.sessions)
        if self.ports is not None:
            out.update(asterisk_ami_connected=int(self.ports.ami.connected),
                       asterisk_ami_action_failures=self.ports.ami.action_failures)
        return out
