"""A real `ringledger serve` in a process of its own, on a free loopback port, sharing the test's store."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from ringledger.config import Settings
from tests.support import settings_env

TOKEN = "fresh-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`ringledger ARGS…` in its own process on the same store."""
    return subprocess.run([sys.executable, "-m", "ringledger.cli", *args],
                          env={**settings_env(settings), "RINGLEDGER_POOL_SIZE": "2"},
                          capture_output=True, text=True, timeout=120)


@contextmanager
def server(settings: Settings, port: int | None = None, **extra_env: str) -> Iterator[httpx.Client]:
    """A server process (on `port`, or a free one); yields a client for it (bearer token set). Stopped on exit."""
    port = port or free_port()
    env = {**settings_env(settings), "RINGLEDGER_SWITCH_TOKENS": "t=" + hashlib.sha256(TOKEN.encode()).hexdigest(),
           "RINGLEDGER_POOL_SIZE": "2", **extra_env}  # the PostgreSQL server is shared: few connections each
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "ringledger.cli", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=log, text=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise AssertionError(f"server exited: {log.read()[-2000:]}")
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield client
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
