"""Charging benchmark: authorize → end cycles over HTTP against the real server.

For each store (SQLite, and PostgreSQL if reachable) it starts the real app
(`ringledger.server.create_app`, uvicorn on loopback, in a subprocess) and
drives it with 1, 16 and 64 concurrent aiohttp clients, each doing
authorize → end for a random one of 1,000 accounts. In the same run, the
baseline: a minimal FastAPI app in a subprocess doing the same cycle as two
plain SQL statements per request (a conditional `UPDATE` of the balance and
an `INSERT`/`DELETE` of the call), one transaction per request, no events.

Prints cycles/s and p50/p99 hook latency per configuration and the ratio
event-sourced / baseline; writes bench/results/charging.json.

Then the services mix (bench/charging_mix.py), on a fresh store and server:
the same client counts, each client's cycles drawn from a fixed, seeded mix
of a direct call with an interim, a phone-bar booth call, a callback and an
instant conference; cycles/s, p50/p99 per hook path, and errors (must be 0).

    .venv/bin/python bench/charging.py [--quick] [--stores sqlite,postgres] [--seconds 4]
                                       [--mix-only | --no-mix]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import BaseModel

from bench.charging_mix import MIX, SEED, drive_mix, prepare_mix
from bench.common import Store, pg_available, run_clients, write

ACCOUNTS = 1000
TOKEN = "bench-token"
CALLEE = "01062345678"
CONCURRENCY = (1, 16, 64)


# --- the servers (run in a subprocess) -------------------------------------------


class Authorize(BaseModel):
    call_id: str
    caller: str
    callee: str
    service: str
    account: str


class End(BaseModel):
    billsec: int


def serve_ledger(port: int) -> None:
    import uvicorn

    from ringledger.container import build
    from ringledger.hooks_app import tune_gc
    from ringledger.server import create_app

    container = build()
    app = create_app(container)
    tune_gc()  # as `ringledger serve` does
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_baseline(port: int, url: str, schema: str) -> None:
    """Two plain SQL statements per request, one transaction per request."""
    import threading

    import uvicorn
    from fastapi import FastAPI

    from projections.db import ViewDB

    db = ViewDB(url, schema)
    pg = db.is_postgres
    if pg:
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(conninfo=url, min_size=20, max_size=20, open=True,
                              kwargs={"options": f"-c search_path={schema}"})
    local = threading.local()

    def run(work: Any) -> Any:
        """Run `work(execute)` in one transaction; `execute(sql, params)` returns a row or a rowcount."""
        if pg:
            with pool.connection() as conn, conn.transaction():
                def execute(sql: str, params: tuple[Any, ...]) -> Any:
                    cur = conn.execute(sql.replace("?", "%s"), params)
                    return cur.fetchone() if cur.description else cur.rowcount
                return work(execute)
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = db.connect()

        def execute(sql: str, params: tuple[Any, ...]) -> Any:
            cur = conn.execute(sql, params)
            return cur.fetchone() if cur.description else cur.rowcount
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(execute)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    app = FastAPI()
    hold = 24_0000

    @app.post("/v1/calls/authorize")
    def authorize(body: Authorize) -> dict[str, Any]:
        def work(execute: Any) -> bool:
            if execute("UPDATE b_accounts SET held = held + ? WHERE number = ? AND balance - held >= ?",
                       (hold, body.account, hold)) != 1:
                return False
            execute("INSERT INTO b_calls (call_id, account, hold) VALUES (?, ?, ?)", (body.call_id, body.account, hold))
            return True

        return {"authorized": run(work), "max_seconds": 14400}

    @app.post("/v1/calls/{call_id}/end")
    def end(call_id: str, body: End) -> dict[str, Any]:
        cost = -(-body.billsec // 60) * 1000

        def work(execute: Any) -> None:
            account, held = execute("DELETE FROM b_calls WHERE call_id = ? RETURNING account, hold", (call_id,))
            execute("UPDATE b_accounts SET balance = balance - ?, held = held - ? WHERE number = ?",
                    (cost, held, account))

        run(work)
        return {"charged": cost}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- preparing the stores ------------------------------------------------------------


def account_number(i: int) -> str:
    return f"70000{i:05d}"


def prepare_ledger(store: Store) -> None:
    from rating.demo import demo_plan
    from ringledger.charging import build_charging
    from ringledger.container import build

    c = build(store.settings())
    plan = demo_plan()
    build_charging(c.settings, c.ledger).publish_plan("demo", plan.rows, plan.effective_from, "bench", tz=plan.tz)
    for start in range(0, ACCOUNTS, 250):
        opens = []
        for i in range(start, min(ACCOUNTS, start + 250)):
            number = account_number(i)

            def command(uow: Any, number: str = number) -> dict[str, Any]:
                from ledger import house
                from ledger.accounts import Account

                account = uow.add(Account.open(number, "subscriber", "bench", plan="demo"))
                account.credit(100_000_0000, house.DEPOSITS, "bench", "bench float")
                return {}

            opens.append((command, None))
        c.ledger.execute_many(opens)
    c.catch_up()
    c.close()


def prepare_baseline(store: Store) -> None:
    conn = store.raw_connection()
    conn.execute("DROP TABLE IF EXISTS b_calls")
    conn.execute("DROP TABLE IF EXISTS b_accounts")
    conn.execute("CREATE TABLE b_accounts (number TEXT PRIMARY KEY, balance BIGINT NOT NULL, held BIGINT NOT NULL)")
    conn.execute("CREATE TABLE b_calls (call_id TEXT PRIMARY KEY, account TEXT NOT NULL, hold BIGINT NOT NULL)")
    sql = "INSERT INTO b_accounts VALUES (?, ?, 0)"
    if store.kind == "postgres":
        sql = sql.replace("?", "%s")
    cur = conn.cursor()
    cur.executemany(sql, [(account_number(i), 100_000_0000) for i in range(ACCOUNTS)])
    conn.close()


# --- driving a server ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(mode: str, store: Store, log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server; with `log`, its output (the switch ports' log lines, say) goes to that file."""
    port = free_port()
    env = {
        **os.environ,
        "RINGLEDGER_DATABASE_URL": store.url,
        "RINGLEDGER_DATABASE_SCHEMA": store.schema,
        "RINGLEDGER_PIN_KEY": "22" * 32,
        "RINGLEDGER_SWITCH_TOKENS": "bench=" + hashlib.sha256(TOKEN.encode()).hexdigest(),
    }
    args = [sys.executable, __file__, "--serve", mode, "--port", str(port), "--url", store.url,
            "--schema", store.schema]
    out = open(log, "ab") if log else None  # the child keeps its own copy of the descriptor
    try:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=out)
    finally:
        if out:
            out.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, base
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{mode} server exited with {proc.returncode}") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{mode} server did not start")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def prime(base: str) -> None:
    """One cycle on every account, so that the measurement sees a warm server (steady state)."""
    import aiohttp

    auth = {"Authorization": f"Bearer {TOKEN}"}
    queue = list(range(ACCOUNTS))

    async def client(session: aiohttp.ClientSession) -> None:
        while queue:
            i = queue.pop()
            body = {"call_id": f"prime-{i}", "caller": "+8613800138000", "callee": CALLEE, "service": "direct",
                    "account": account_number(i)}
            async with session.post(f"{base}/v1/calls/authorize", json=body) as r:
                await r.read()
            async with session.post(f"{base}/v1/calls/prime-{i}/end", json={"billsec": 30}) as r:
                await r.read()

    async with aiohttp.ClientSession(headers=auth, connector=aiohttp.TCPConnector(limit=64)) as session:
        await asyncio.gather(*(client(session) for _ in range(64)))


async def drive(base: str, clients: int, seconds: float, tag: str) -> dict[str, Any]:
    import aiohttp

    auth = {"Authorization": f"Bearer {TOKEN}"}
    latencies: dict[str, list[float]] = {"authorize": [], "end": []}
    cycles = [0]
    refused = [0]
    measuring = [False]
    stop_at = [0.0]

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        rng = random.Random(n)
        k = 0
        while time.perf_counter() < stop_at[0]:
            k += 1
            call = f"{tag}-{n}-{k}"
            body = {"call_id": call, "caller": "+8613800138000", "callee": CALLEE, "service": "direct",
                    "account": account_number(rng.randrange(ACCOUNTS))}
            t0 = time.perf_counter()
            async with session.post(f"{base}/v1/calls/authorize", json=body) as r:
                answer = await r.json()
            t1 = time.perf_counter()
            if not answer.get("authorized"):
                refused[0] += 1
                continue
            async with session.post(f"{base}/v1/calls/{call}/end", json={"billsec": 30}) as r:
                await r.read()
                assert r.status == 200, await r.text()
            t2 = time.perf_counter()
            if measuring[0]:
                latencies["authorize"].append(t1 - t0)
                latencies["end"].append(t2 - t1)
                cycles[0] += 1

    elapsed = await run_clients(auth, clients, seconds, client, measuring, stop_at)
    ms = 1000.0
    return {
        "clients": clients,
        "cycles": cycles[0],
        "cycles_per_s": round(cycles[0] / elapsed, 1),
        "authorize_p50_ms": round(percentile(latencies["authorize"], 0.5) * ms, 2),
        "authorize_p99_ms": round(percentile(latencies["authorize"], 0.99) * ms, 2),
        "end_p50_ms": round(percentile(latencies["end"], 0.5) * ms, 2),
        "end_p99_ms": round(percentile(latencies["end"], 0.99) * ms, 2),
        "refused": refused[0],
    }


def server_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a process so far; None where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_commits(base: str) -> tuple[float, float] | None:
    """(commands, transactions) group-committed so far, from the server's /metrics."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("ringledger_group_commit_size_sum", "ringledger_group_commit_size_count"):
            values[name] = float(value)
    if len(values) != 2:
        return None
    return values["ringledger_group_commit_size_sum"], values["ringledger_group_commit_size_count"]


def run_mix(kind: str, seconds: float) -> list[dict[str, Any]]:
    """The services mix on a fresh store and server, at each client count."""
    store = Store(kind)
    try:
        prepare_ledger(store)
        prepare_mix(store)
        # The logging switch ports log every call placed or cut: into a file, not over the figures.
        proc, base = start("ledger", store, log=Path(store.dir) / "server.log")
        try:
            asyncio.run(prime(base))
            rows = []
            accounts = [account_number(i) for i in range(ACCOUNTS)]
            for clients in CONCURRENCY:
                cpu0, wall0 = server_cpu(proc.pid), time.perf_counter()
                row = asyncio.run(drive_mix(base, clients, seconds, f"mix{clients}", TOKEN, accounts))
                cpu1, wall = server_cpu(proc.pid), time.perf_counter() - wall0
                row["server_cpu_pct"] = round((cpu1 - cpu0) / wall * 100) if cpu0 is not None and cpu1 else None
                rows.append(row)
                kinds = ", ".join(f"{k} {v}" for k, v in row["cycles_by_kind"].items())
                print(f"  {kind:8} mix      {clients:3} clients: {row['cycles_per_s']:8.1f} cycles/s  "
                      f"{row['requests_per_s']:8.1f} requests/s  errors {row['errors']}  "
                      f"server cpu {row['server_cpu_pct']}%  ({kinds})", flush=True)
                for label, hook in row["hooks"].items():
                    print(f"  {'':8} {'':8} {'':11}  {label:26} p50 {hook['p50_ms']:7.2f} ms  "
                          f"p99 {hook['p99_ms']:7.2f} ms  ({hook['count']})", flush=True)
                for sample in row["error_samples"]:
                    print(f"  {'':8} error: {sample}", flush=True)
            return rows
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        store.drop()


def run_store(kind: str, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("ledger", "baseline"):
        store = Store(kind)
        try:
            (prepare_ledger if mode == "ledger" else prepare_baseline)(store)
            proc, base = start(mode, store)
            try:
                asyncio.run(prime(base))
                rows = []
                for clients in CONCURRENCY:
                    cpu0, groups0 = server_cpu(proc.pid), group_commits(base) if mode == "ledger" else None
                    wall0 = time.perf_counter()
                    row = asyncio.run(drive(base, clients, seconds, f"{mode}{clients}"))
                    wall = time.perf_counter() - wall0
                    cpu1, groups1 = server_cpu(proc.pid), group_commits(base) if mode == "ledger" else None
                    # Diagnostics over the whole drive (warm-up included): server CPU and group size.
                    row["server_cpu_pct"] = round((cpu1 - cpu0) / wall * 100) if cpu0 is not None and cpu1 else None
                    if groups0 and groups1 and groups1[1] > groups0[1]:
                        row["group_mean"] = round((groups1[0] - groups0[0]) / (groups1[1] - groups0[1]), 1)
                    rows.append(row)
                    print(f"  {kind:8} {mode:8} {clients:3} clients: {row['cycles_per_s']:8.1f} cycles/s  "
                          f"authorize p50 {row['authorize_p50_ms']:6.2f} ms p99 {row['authorize_p99_ms']:6.2f} ms  "
                          f"end p50 {row['end_p50_ms']:6.2f} ms p99 {row['end_p99_ms']:6.2f} ms  "
                          f"server cpu {row['server_cpu_pct']}%"
                          + (f"  group {row['group_mean']}" if "group_mean" in row else ""), flush=True)
                out[mode] = rows
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        finally:
            store.drop()
    out["ratio"] = {
        str(a["clients"]): round(a["cycles_per_s"] / b["cycles_per_s"], 2) if b["cycles_per_s"] else None
        for a, b in zip(out["ledger"], out["baseline"])
    }
    print(f"  {kind:8} event-sourced / baseline cycles/s: "
          + ", ".join(f"{k} clients {v}x" for k, v in out["ratio"].items()), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2 s per configuration instead of 5")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--stores", default="sqlite,postgres")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--mix-only", action="store_true", help="only the services mix")
    which.add_argument("--no-mix", action="store_true", help="only the authorize → end cycles and the baseline")
    parser.add_argument("--serve", choices=("ledger", "baseline"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--url", default="")
    parser.add_argument("--schema", default="public")
    args = parser.parse_args()
    if args.serve == "ledger":
        serve_ledger(args.port)
        return
    if args.serve == "baseline":
        serve_baseline(args.port, args.url, args.schema)
        return
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    results: dict[str, Any] = {"seconds_per_configuration": seconds, "accounts": ACCOUNTS, "stores": {}}
    if not args.no_mix:
        results["mix"] = {"weights": dict(MIX), "seed": SEED}
    for kind in args.stores.split(","):
        if kind == "postgres" and not pg_available():
            print("  postgres unreachable: skipped")
            continue
        out = {} if args.mix_only else run_store(kind, seconds)
        if not args.no_mix:
            out["mix"] = run_mix(kind, seconds)
        results["stores"][kind] = out
    name = "charging-mix" if args.mix_only else "charging"
    path = write(name, results)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
