"""The services mix of the charging benchmark: every service's hooks, drawn from a fixed, seeded mix.

Each client repeats cycles; each cycle is one of (weights in `MIX`):

* **direct**: authorize → answer → interim → end, on one of the benchmark's 1,000 accounts;
* **phonebar**: authorize (`service=phonebar`, a registered booth of one of `BARS` bars with a
  large deposit) → answer → end;
* **callback**: `POST /v1/callback/calls` → `/destination` → answer leg A and leg B → end both
  legs → the callback's end hook, on an account bound to the caller's phone;
* **conference**: an instant conference: the trigger → the initiator's leg (authorize, answer,
  `joined`) → one participant keyed in → its leg (authorize, answer, `joined`) → the initiator
  hangs up (the conference ends) → end both legs.

A cycle counts only when every step answered 2xx with the outcome a switch expects; any other
answer (or a dropped connection) is an error and ends that cycle. Latencies are kept per hook path.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.common import run_clients

#: Cycle kinds and their weights in the mix (out of 10).
MIX = (("direct", 4), ("phonebar", 3), ("callback", 2), ("conference", 1))
SEED = 20240506
SUBSCRIBERS = 200  # accounts bound to phones: callback callers and conference initiators
BARS = 16
BOOTHS = 4
ACCESS = "95013"
LOCAL = "01062345678"
CALLER = "+8613800138000"
FLOAT = 100_000_0000


def subscriber(i: int) -> tuple[str, str]:
    """(account number, bound phone) of the i-th bound subscriber."""
    return f"71000{i:05d}", f"+86139{i:08d}"


def bar_number(i: int) -> str:
    return f"72000{i:05d}"


def prepare_mix(store: Any) -> None:
    """Accounts bound to phones (callback, conference) and phone bars with booths, on a store
    that already holds the benchmark's accounts and the demo tariff."""
    from ringledger.container import build

    c = build(store.settings())
    prepare_mix_in(c)
    c.catch_up()
    c.close()


def prepare_mix_in(c: Any) -> None:
    """What `prepare_mix` adds, in an open container (the demo tariff already published)."""
    from ringledger.phonebar import build_phonebars

    for i in range(SUBSCRIBERS):
        number, phone = subscriber(i)
        c.ledger.open_account("subscriber", "bench", number=number, plan="demo")
        c.ledger.deposit(number, FLOAT, "bench")
        c.ledger.bind(number, phone, "bench")
    bars = build_phonebars(c)
    for i in range(BARS):
        c.ledger.open_account("phonebar", "bench", number=bar_number(i), plan="demo")
        c.ledger.deposit(bar_number(i), FLOAT, "bench")
        for booth in range(1, BOOTHS + 1):
            bars.add_booth(bar_number(i), str(booth), "bench")


class Failed(Exception):
    """A step answered something other than what a switch expects."""


#: POSTs a JSON body to a path of the server; answers (HTTP status, body text).
Send = Callable[[str, dict[str, Any]], Awaitable[tuple[int, str]]]


class Cycle:
    """One cycle's requests, timed per hook path; kept only if the cycle completes."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.times: list[tuple[str, float]] = []

    async def post(self, path: str, label: str, body: dict[str, Any],
                   expect: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        t0 = time.perf_counter()
        status, text = await self.send(path, body)
        self.times.append((label, time.perf_counter() - t0))
        if not 200 <= status < 300:
            raise Failed(f"{label}: HTTP {status} {text[:200]}")
        answer: dict[str, Any] = json.loads(text)
        if not expect(answer):
            raise Failed(f"{label}: unexpected answer {text[:200]}")
        return answer


def _ok(_: dict[str, Any]) -> bool:
    return True


async def direct(c: Cycle, call: str, rng: random.Random, accounts: list[str]) -> None:
    await c.post("/v1/calls/authorize", "authorize direct",
                 {"call_id": call, "caller": CALLER, "callee": LOCAL, "service": "direct",
                  "account": rng.choice(accounts)}, lambda a: a["authorized"] is True)
    await c.post(f"/v1/calls/{call}/answer", "answer", {}, lambda a: a["status"] == "answered")
    await c.post(f"/v1/calls/{call}/interim", "interim", {"used_seconds": 30}, lambda a: a["continue"] is True)
    await c.post(f"/v1/calls/{call}/end", "end", {"billsec": 45}, lambda a: "charged" in a)


async def phonebar(c: Cycle, call: str, rng: random.Random, accounts: list[str]) -> None:
    bar = bar_number(rng.randrange(BARS))
    await c.post("/v1/calls/authorize", "authorize phonebar",
                 {"call_id": call, "caller": "+861062340003", "callee": LOCAL, "service": "phonebar",
                  "account": bar, "booth": str(rng.randrange(1, BOOTHS + 1))},
                 lambda a: a["authorized"] is True and a["account"] == bar)
    await c.post(f"/v1/calls/{call}/answer", "answer", {}, lambda a: a["status"] == "answered")
    await c.post(f"/v1/calls/{call}/end", "end", {"billsec": 45}, lambda a: "charged" in a)


async def callback(c: Cycle, call: str, rng: random.Random, accounts: list[str]) -> None:
    number, phone = subscriber(rng.randrange(SUBSCRIBERS))
    await c.post("/v1/callback/calls", "callback/calls", {"call_id": call, "caller": phone, "access_number": ACCESS},
                 lambda a: a["callback"] is True and a["account"] == number)
    await c.post(f"/v1/callback/calls/{call}/destination", "callback/destination", {"destination": LOCAL},
                 lambda a: a["bridged"] is True)
    for leg in (f"{call}-a", f"{call}-b"):
        await c.post(f"/v1/calls/{leg}/answer", "answer", {}, lambda a: a["status"] == "answered")
    await c.post(f"/v1/calls/{call}-b/end", "end", {"billsec": 45}, lambda a: "charged" in a)
    await c.post(f"/v1/calls/{call}-a/end", "end", {"billsec": 75}, lambda a: "charged" in a)
    await c.post(f"/v1/callback/calls/{call}/end", "callback/end", {}, lambda a: a["status"] == "ended")


async def conference(c: Cycle, call: str, rng: random.Random, accounts: list[str]) -> None:
    number, phone = subscriber(rng.randrange(SUBSCRIBERS))
    trigger = await c.post("/v1/conferences", "conferences", {"call_id": call, "caller": phone},
                           lambda a: a["accepted"] is True and a["status"] == "running")
    cid = trigger["conference_id"]

    async def leg(name: str, callee: str) -> None:
        await c.post("/v1/calls/authorize", "authorize conference",
                     {"call_id": name, "caller": phone, "callee": callee, "service": "conference",
                      "conference_id": cid, "account": number},
                     lambda a: a["authorized"] is True and a["account"] == number)
        await c.post(f"/v1/calls/{name}/answer", "answer", {}, lambda a: a["status"] == "answered")
        await c.post(f"/v1/conferences/{cid}/legs/{name}", "conferences/legs", {"event": "joined"}, _ok)

    await leg(f"{cid}-1", phone)
    await c.post(f"/v1/conferences/{cid}/participants", "conferences/participants", {"number": LOCAL},
                 lambda a: a["legs"] == [f"{cid}-2"])
    await leg(f"{cid}-2", LOCAL)
    await c.post(f"/v1/conferences/{cid}/legs/{cid}-1", "conferences/legs",
                 {"event": "hangup", "cause": "normal_clearing"},
                 lambda a: a["status"] == "ended" and a["legs"] == [f"{cid}-2"])
    await c.post(f"/v1/calls/{cid}-2/end", "end", {"billsec": 45}, lambda a: "charged" in a)
    await c.post(f"/v1/calls/{cid}-1/end", "end", {"billsec": 50}, lambda a: "charged" in a)


KINDS = {"direct": direct, "phonebar": phonebar, "callback": callback, "conference": conference}


async def run_cycle(kind: str, send: Send, call: str, rng: random.Random,
                    accounts: list[str]) -> list[tuple[str, float]]:
    """One cycle of `kind`: the (hook path, seconds) of each step; Failed at the first unexpected answer."""
    cycle = Cycle(send)
    await KINDS[kind](cycle, call, rng, accounts)
    return cycle.times


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def drive_mix(base: str, clients: int, seconds: float, tag: str, token: str,
                    accounts: list[str]) -> dict[str, Any]:
    import aiohttp

    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    latencies: dict[str, list[float]] = {}
    cycles = {k: 0 for k in kinds}
    errors: list[str] = []
    measuring = [False]
    stop_at = [0.0]

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        async def send(path: str, body: dict[str, Any]) -> tuple[int, str]:
            async with session.post(f"{base}{path}", json=body) as r:
                return r.status, await r.text()

        rng = random.Random(SEED * 1000 + n)
        k = 0
        while time.perf_counter() < stop_at[0]:
            k += 1
            kind = rng.choices(kinds, weights)[0]
            try:
                times = await run_cycle(kind, send, f"{tag}-{n}-{k}", rng, accounts)
            except (Failed, aiohttp.ClientError, KeyError, ValueError, asyncio.TimeoutError) as exc:
                errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
                continue
            if measuring[0]:
                cycles[kind] += 1
                for label, seconds_taken in times:
                    latencies.setdefault(label, []).append(seconds_taken)

    elapsed = await run_clients({"Authorization": f"Bearer {token}"}, clients, seconds, client, measuring, stop_at)
    ms = 1000.0
    total = sum(cycles.values())
    return {
        "clients": clients,
        "cycles": total,
        "cycles_per_s": round(total / elapsed, 1),
        "cycles_by_kind": cycles,
        "requests_per_s": round(sum(len(v) for v in latencies.values()) / elapsed, 1),
        "hooks": {label: {"count": len(values), "p50_ms": round(percentile(values, 0.5) * ms, 2),
                          "p99_ms": round(percentile(values, 0.99) * ms, 2)}
                  for label, values in sorted(latencies.items())},
        "errors": len(errors),
        "error_samples": errors[:5],
    }
