"""A real server process under switch load, and the books it must leave behind.

`ServerProcess` runs `ringledger serve` on a store; `HookLoad` keeps client
threads doing authorize → end cycles with unique call ids and records every
answer (status, body, latency, phase). `check_books` then holds the books to
what the callers were told.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from ringledger.config import Settings

TOKEN = "fault-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
PHONE = "+8613800138000"
LOCAL = "01062345678"


def server_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "RINGLEDGER_DATABASE_URL": settings.database_url,
        "RINGLEDGER_DATABASE_SCHEMA": settings.database_schema,
        "RINGLEDGER_PIN_KEY": settings.pin_key,
        "RINGLEDGER_SWITCH_TOKENS": "fault=" + hashlib.sha256(TOKEN.encode()).hexdigest(),
        "RINGLEDGER_MAX_CALL_SECONDS": "60",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(self, settings: Settings) -> None:
        self.env = server_env(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ringledger.cli", "serve", "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.wait_healthy(timeout)

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            r = httpx.get(f"{self.url}/health", timeout=5)
            return r.status_code, r.json()
        except (httpx.HTTPError, ValueError):
            return 0, {}

    def wait_healthy(self, timeout: float = 60, *, level: bool = False) -> dict[str, Any]:
        """Until /health is 200 (and with `level`, the views have caught up); fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.health()
            if status == 200 and (not level or body.get("views_lag") == 0):
                return body
            assert self.proc is None or self.proc.poll() is None, "the server died"
            assert time.monotonic() < deadline, f"no recovery: /health {status} {body}"
            time.sleep(0.2)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@dataclass
class Answer:
    call_id: str
    hook: str
    status: int  # 0: no answer (connection lost, timeout)
    body: dict[str, Any]
    seconds: float
    phase: str


@dataclass
class HookLoad:
    url: str
    threads: int = 4
    phase: str = "warm"
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _seq: int = 0

    def start(self) -> None:
        for n in range(self.threads):
            t = threading.Thread(target=self._run, args=(n,), daemon=True)
            t.start()
            self._workers.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(60)

    def _post(self, http: httpx.Client, call_id: str, hook: str, path: str, body: dict[str, Any]) -> Answer:
        phase = self.phase
        started = time.perf_counter()
        try:
            r = http.post(path, json=body)
            status, data = r.status_code, r.json()
        except (httpx.HTTPError, ValueError):
            status, data = 0, {}
        answer = Answer(call_id, hook, status, data, time.perf_counter() - started, phase)
        self.answers.append(answer)
        return answer

    def _run(self, n: int) -> None:
        rnd = random.Random(n)
        with httpx.Client(base_url=self.url, headers=HEADERS, timeout=20) as http:
            i = 0
            while not self._stop.is_set():
                i += 1
                call_id = f"f{n}-{i}"
                a = self._post(http, call_id, "authorize", "/v1/calls/authorize",
                               {"call_id": call_id, "caller": PHONE, "callee": LOCAL, "service": "direct"})
                if a.status == 200 and a.body.get("authorized"):
                    self._post(http, call_id, "end", f"/v1/calls/{call_id}/end", {"billsec": rnd.randint(1, 59)})
                elif a.status != 200:
                    time.sleep(0.05)  # a refused switch backs off a little

    def latencies(self, phase: str, hook: str | None = None, status: int | None = 200) -> list[float]:
        return sorted(a.seconds for a in self.answers
                      if a.phase == phase and (hook is None or a.hook == hook) and (status is None or a.status == status))


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * 0.99))]


GRAPHQL_SENDER = """
import sys, time, httpx
url, key, path, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
body = open(path, "rb").read()
headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
deadline = time.monotonic() + seconds
with httpx.Client(timeout=60) as http:
    while time.monotonic() < deadline:
        print(http.post(url + "/graphql", content=body, headers=headers).status_code)
"""


def send_graphql(url: str, key: str, body_file: str, seconds: float) -> list[int]:
    """POST one GraphQL body again and again for `seconds`, from another process (its own CPU and GIL)."""
    out = subprocess.run([sys.executable, "-c", GRAPHQL_SENDER, url, key, body_file, str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 120, check=True).stdout
    return [int(line) for line in out.split()]
