"""A FreeSWITCH that stays away is logged once and then once a minute, while the client still retries fast."""

from __future__ import annotations

import asyncio
import socket

from structlog.testing import capture_logs

from adapters.freeswitch.inbound import EventSocketClient


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_switch_is_logged_once_not_at_every_retry() -> None:
    client = EventSocketClient(None, "127.0.0.1", _closed_port(), "ClueCon", reconnect_seconds=0.01)

    async def main() -> int:
        await client.start()
        await asyncio.sleep(0.5)  # dozens of tries
        await client.stop()
        return 0

    with capture_logs() as logs:
        asyncio.run(main())
    lost = [e for e in logs if e["event"] == "freeswitch_connection_lost"]
    assert len(lost) == 1, lost
    assert "ConnectionRefusedError" in lost[0]["error"] and client.connected is False
