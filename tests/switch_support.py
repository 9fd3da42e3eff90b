"""A real Kamailio with our configuration, and SIPp callers and callees, for tests and the switch bench.

Kamailio runs `adapters/kamailio/kamailio.cfg` in the foreground on free
loopback ports (SIP over UDP, JSON-RPC over HTTP); SIPp plays the callee
(`tests/sipp/callee.xml`, which answers every call) and the caller
(`tests/sipp/caller.xml`, which talks for a given time or until the proxy
hangs up). The caller's SIP messages are traced to a file and read back as
`Call`s: how each call ended and when.

Without the binaries the tests skip with the reason, except under `CI=true`,
where they fail: `.ci/run` installs them from Debian's packages.

For a look inside: `KAMAILIO_LOG=FILE` keeps Kamailio's log of the last run
there, and `KAMAILIO_CFG=FILE` runs another configuration (e.g. with
`debug=3`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from tests.support import require

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(os.environ.get("KAMAILIO_CFG") or ROOT / "adapters" / "kamailio" / "kamailio.cfg")
SCENARIOS = Path(__file__).resolve().parent / "sipp"
PACKAGES = "kamailio kamailio-utils-modules kamailio-extra-modules sip-tester"
#: Modules the configuration loads from the packages beyond `kamailio` itself.
EXTRA_MODULES = ("http_client.so", "jansson.so")


def _missing() -> str | None:
    kamailio, sipp = shutil.which("kamailio") or _sbin("kamailio"), shutil.which("sipp")
    if not kamailio or not sipp:
        return "kamailio or sipp is not installed"
    out = subprocess.run([kamailio, "-I"], capture_output=True, text=True).stdout
    found = re.search(r"MODULES_DIR\s+(\S+)", out)
    module_dir = Path(found.group(1)) if found else Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
    absent = [m for m in EXTRA_MODULES if not (module_dir / m).exists()]
    if absent:
        return f"the Kamailio modules {', '.join(absent)} are not installed"
    return None


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


def require_switch() -> None:
    """Skip (fail under CI=true) when Kamailio, its HTTP/JSON modules or SIPp are missing."""
    problem = _missing()
    if problem:
        require(f"{problem} (Debian packages: {PACKAGES}; .ci/run installs them)")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Kamailio:
    sip_port: int
    rpc_url: str
    log: Path

    def rpc(self, method: str, *params: object) -> dict:
        answer = httpx.post(self.rpc_url, json={"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1},
                            timeout=5)
        return answer.json()

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def kamailio(ledger_url: str, token: str, *, outbound: str, lead: int = 60, interim_every: int = 10,
             fail_open: bool = False, children: int = 4, timeout: int = 3, bypass: bool = False) -> Iterator[Kamailio]:
    """Kamailio on our configuration, relaying authorized calls to `outbound`; stopped on exit.

    `bypass`: Kamailio alone, relaying every call without asking the ledger (a benchmark's baseline).
    """
    kamailio_bin = shutil.which("kamailio") or _sbin("kamailio") or "kamailio"
    sip_port, rpc_port = free_udp_port(), free_tcp_port()
    defines = {
        "LEDGER_URL": f'"{ledger_url}"', "LEDGER_TOKEN": f'"{token}"', "OUTBOUND": f'"{outbound}"',
        "LEDGER_LEAD": str(lead), "LEDGER_INTERIM_SPEC": f'"name=ledger;interval={interim_every};mode=1;"',
        "LEDGER_FAIL_OPEN": "1" if fail_open else "0", "LEDGER_TIMEOUT": str(timeout),
        "SIP_LISTEN": f"udp:127.0.0.1:{sip_port}", "RPC_LISTEN": f"tcp:127.0.0.1:{rpc_port}",
        "CHILDREN": str(children),
    }
    if bypass:
        defines["LEDGER_BYPASS"] = "1"
    args = [kamailio_bin, "-DD", "-E", "-f", str(CONFIG)]
    for name, value in defines.items():
        args += ["-A", f"{name}={value}"]
    workdir = Path(tempfile.mkdtemp(prefix="kamailio-"))
    log = workdir / "kamailio.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    node = Kamailio(sip_port, f"http://127.0.0.1:{rpc_port}/RPC", log)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"kamailio exited: {node.logs()[-3000:]}")
            try:
                if "result" in node.rpc("core.uptime"):
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"kamailio did not start: {node.logs()[-3000:]}"
            time.sleep(0.1)
        yield node
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if os.environ.get("KAMAILIO_LOG"):
            shutil.copy(log, os.environ["KAMAILIO_LOG"])
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def callee() -> Iterator[int]:
    """A SIPp callee answering every call on a free loopback port; yields the port."""
    port = free_udp_port()
    workdir = Path(tempfile.mkdtemp(prefix="sipp-callee-"))
    proc = subprocess.Popen([shutil.which("sipp") or "sipp", "-sf", str(SCENARIOS / "callee.xml"), "-i", "127.0.0.1",
                             "-p", str(port), "-nostdin", "-max_socket", "2000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    try:
        time.sleep(0.2)
        assert proc.poll() is None, "sipp callee exited"
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Call:
    """One call as the caller saw it."""

    call_id: str
    status: int = 0  # the final answer to the INVITE
    reason: str | None = None  # X-Ringledger-Reason of a refusal
    answered: datetime | None = None
    bye_from_network: datetime | None = None  # the proxy hung up
    hung_up: datetime | None = None  # the caller hung up
    messages: list[str] = field(default_factory=list)

    @property
    def cut_after(self) -> float | None:
        """Seconds from the 200 OK to the proxy's BYE, if the proxy hung up."""
        if self.answered and self.bye_from_network:
            return (self.bye_from_network - self.answered).total_seconds()
        return None


_ENTRY = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d[\sT][\d:.]+)\s*$", re.M)


def read_trace(path: Path) -> dict[str, Call]:
    """The caller's message trace (`-trace_msg`) as calls by Call-ID."""
    text = path.read_text(errors="replace") if path.exists() else ""
    calls: dict[str, Call] = {}
    parts = _ENTRY.split(text)
    for stamp, block in zip(parts[1::2], parts[2::2]):
        at = datetime.fromisoformat(stamp.strip().replace(" ", "T"))
        head, _, message = block.partition("\n\n")
        message = message.strip()
        found = re.search(r"^Call-ID:\s*(\S+)", message, re.M | re.I)
        if not found:
            continue
        call = calls.setdefault(found.group(1), Call(found.group(1)))
        call.messages.append(message)
        first = message.splitlines()[0] if message else ""
        received = "received" in head
        cseq = re.search(r"^CSeq:\s*\d+\s+(\w+)", message, re.M | re.I)
        method = cseq.group(1).upper() if cseq else ""
        if received and first.startswith("SIP/2.0 ") and method == "INVITE":
            code = int(first.split()[1])
            if code >= 200:
                call.status = code
                if code == 200 and call.answered is None:
                    call.answered = at
                why = re.search(r"^X-Ringledger-Reason:\s*(\S+)", message, re.M | re.I)
                call.reason = why.group(1) if why else call.reason
        elif received and first.startswith("BYE "):
            call.bye_from_network = call.bye_from_network or at
        elif not received and first.startswith("BYE "):
            call.hung_up = call.hung_up or at
    return calls


@dataclass
class CallerRun:
    returncode: int
    calls: dict[str, Call]
    output: str


def place_calls(proxy_port: int, callers: list[str], callee_number: str, *, talk_seconds: float, calls: int = 1,
                rate: float = 10, limit: int | None = None, trace: bool = True, timeout: float = 60,
                extra: list[str] | None = None, keep: Path | None = None) -> CallerRun:
    """SIPp calls `callee_number` through the proxy, `calls` times (callers taken in turn); waits for them all.

    SIPp's own files (statistics, response times asked for in `extra`) are left in `keep` if given.
    """
    workdir = keep or Path(tempfile.mkdtemp(prefix="sipp-caller-"))
    try:
        scenario = workdir / "caller.xml"
        scenario.write_text((SCENARIOS / "caller.xml").read_text().replace("TALK_MS",
                                                                          str(int(talk_seconds * 1000))))
        injection = workdir / "callers.csv"
        injection.write_text("SEQUENTIAL\n" + "".join(f"{c};\n" for c in callers))
        messages = workdir / "messages.log"
        args = [shutil.which("sipp") or "sipp", f"127.0.0.1:{proxy_port}", "-sf", str(scenario), "-inf",
                str(injection), "-s", callee_number, "-i", "127.0.0.1", "-p", str(free_udp_port()), "-m", str(calls),
                "-r", str(rate), "-l", str(limit or calls), "-nostdin", "-max_socket", "2000",
                "-timeout", f"{int(timeout)}s", "-timeout_error"]
        if trace:
            args += ["-trace_msg", "-message_file", str(messages)]
        args += extra or []
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 30, cwd=workdir)
        return CallerRun(done.returncode, read_trace(messages) if trace else {}, done.stdout[-3000:] + done.stderr)
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
