"""`ringledger serve` with the Asterisk adapter: off by default, on by settings, its health in /metrics."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters.asterisk.ami import AsteriskCallControl
from ringledger.config import Settings
from ringledger.container import Container
from ringledger.server import create_app
from tests.asterisk_peer import FakeAmi, agi_block, agi_session, variables_set
from tests.charging_support import set_up
from tests.support import TEST_CLOCK_START


@pytest.fixture
def ami_peer() -> Iterator[tuple[FakeAmi, int]]:
    """A fake Asterisk Manager on its own event loop, in a thread (the server runs on another loop)."""
    loop = asyncio.new_event_loop()
    peer = FakeAmi()
    port = loop.run_until_complete(peer.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield peer, port
    asyncio.run_coroutine_threadsafe(peer.stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def metric(text: str, name: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


def test_the_asterisk_adapter_is_off_by_default(container: Container) -> None:
    assert Settings().agi_port is None and Settings().ami_url == ""
    app = create_app(container)
    with TestClient(app) as client:
        assert app.state.asterisk is None
        assert "ringledger_asterisk_" not in client.get("/metrics").text


def test_a_bad_ami_url_stops_the_server_at_start() -> None:
    with pytest.raises(ValueError, match="ami://user:secret@host:port"):
        Settings(ami_url="tcp://127.0.0.1:5038")


def test_serve_authorizes_over_fastagi_and_reports_both_connections_in_metrics(
        container: Container, ami_peer: tuple[FakeAmi, int], tmp_path: Path) -> None:
    _, port = ami_peer
    container.settings.agi_port = 0
    container.settings.asterisk_spool_dir = str(tmp_path / "asterisk-spool")
    container.settings.ami_url = f"ami://ringledger:s3cret@127.0.0.1:{port}"
    container.settings.clock_start = TEST_CLOCK_START
    set_up(container, 100_0000)
    app = create_app(container)
    with TestClient(app) as client:
        adapter = app.state.asterisk
        assert isinstance(app.state.charging.call_control, AsteriskCallControl)  # cuts go to Asterisk
        text = client.get("/metrics").text
        assert metric(text, "ringledger_asterisk_agi_listening") == 1.0
        assert metric(text, "ringledger_asterisk_ami_connected") == 1.0
        assert metric(text, "ringledger_asterisk_spool_depth") == 0.0  # ends wait here while the store is down
        assert (tmp_path / "asterisk-spool" / "lock").exists()
        commands, _ = asyncio.run(agi_session(adapter.agi_port, agi_block()))
        variables = variables_set(commands)
        assert variables["RL_AUTHORIZED"] == "1" and variables["TIMEOUT(absolute)"] == "300"
        assert metric(client.get("/metrics").text, "ringledger_asterisk_agi_sessions") == 1.0
    assert container.ledger.account("8000000001").available == 100_0000 - 5000
