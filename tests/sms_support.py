"""Real SMS gateways for the tests: Kannel's boxes in the foreground, an SMPP server (smppy) in a subprocess.

Under CI=true a missing binary or package fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import http.server
import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests import support
from tests.server_process import free_port

BEARERBOX, SMSBOX = "/usr/sbin/bearerbox", "/usr/sbin/smsbox"


def require(found: bool, what: str) -> None:
    support.require(None if found else f"{what} (.ci/run installs it)")


def require_kannel() -> None:
    require(all(shutil.which(p) or Path(p).exists() for p in (BEARERBOX, SMSBOX)),
            "Kannel is not installed (Debian packages kannel and kannel-extras)")


class OperatorSmsc:
    """The operator's SMSC as Kannel's generic HTTP SMSC sees it: records each text sent, answers `ok`."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        smsc = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                # Kannel passes the text's bytes as they go to the SMSC: UCS-2 when `coding` is 2.
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query, encoding="latin-1").items()}
                raw = query.get("text", "").encode("latin-1")
                query["text"] = raw.decode("utf-16-be") if query.get("coding") == "2" else raw.decode()
                smsc.sent.append(query)
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.sent) < count:
            assert time.monotonic() < deadline, f"the SMSC got {self.sent}, waited for {count}"
            time.sleep(0.05)
        return self.sent

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def kannel_config(*, admin: int, smsbox: int, sendsms: int, mo: int, smsc: int, get_url: str,
                  user: str, password: str, logs: Path) -> str:
    return f"""group = core
admin-port = {admin}
admin-password = adminpw
admin-allow-ip = "127.0.0.1"
smsbox-port = {smsbox}
dlr-storage = internal
log-file = "{logs}/bearerbox.log"
log-level = 1
box-allow-ip = "127.0.0.1"

group = smsc
smsc = http
smsc-id = op
allowed-smsc-id = op
system-type = generic
port = {mo}
connect-allow-ip = "127.0.0.1"
send-url = "http://127.0.0.1:{smsc}/send?from=%P&to=%p&coding=%c&text=%b"
status-success-regex = "ok"

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms}
mo-recode = true
log-file = "{logs}/smsbox.log"
log-level = 1

group = sendsms-user
username = {user}
password = {password}

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{get_url}"
"""


@contextmanager
def kannel(config: str, workdir: Path, admin: int, sendsms: int) -> Iterator[None]:
    """bearerbox, then smsbox, in the foreground; stopped through the admin URL (then terminated)."""
    conf = workdir / "kannel.conf"
    conf.write_text(config)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen([BEARERBOX, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_port(admin, procs[0], workdir)
        procs.append(subprocess.Popen([SMSBOX, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_port(sendsms, procs[1], workdir)
        yield
    finally:
        try:
            httpx.get(f"http://127.0.0.1:{admin}/shutdown", params={"password": "adminpw"}, timeout=2)
        except httpx.HTTPError:
            pass
        for proc in reversed(procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _wait_port(port: int, proc: subprocess.Popen[bytes], logs: Path) -> None:
    import socket

    deadline = time.monotonic() + 15
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"Kannel exited: {_tail(logs)}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert time.monotonic() < deadline, f"Kannel did not listen on {port}: {_tail(logs)}"
        time.sleep(0.05)


def _tail(logs: Path) -> str:
    return " | ".join(p.read_text(errors="replace")[-1500:] for p in sorted(logs.glob("*.log")))


def require_smppy() -> None:
    import importlib.util

    require(importlib.util.find_spec("smppy") is not None,
            "the SMPP test server needs the PyPI package smppy (pip install -e '.[test]')")


class Smsc:
    """The SMPP server process: `say(line)` commands it, `wait(event)` reads what it saw."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.smpp_server", str(self.port)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.wait("listening")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait(self, event: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {event} from the SMSC; saw {self.seen}") from None
            self.seen.append(found)
            if found["event"] == event:
                return found

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
