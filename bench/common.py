"""Shared helpers for the benchmarks: fresh stores, timing, JSON output."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
PG_URL = os.environ.get("RINGLEDGER_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


class Store:
    """A fresh, empty store: an SQLite file in a temp dir or a PostgreSQL schema."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.schema = "bench_" + uuid.uuid4().hex[:10]
        self.dir = tempfile.mkdtemp(prefix="rlbench")
        if kind == "postgres":
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')

    @property
    def url(self) -> str:
        return PG_URL if self.kind == "postgres" else f"sqlite:///{self.dir}/ledger.db"

    def settings(self) -> Any:
        from ringledger.config import Settings

        return Settings(database_url=self.url, database_schema=self.schema, pin_key="22" * 32)

    def es_env(self) -> dict[str, str]:
        """eventsourcing env for a bare library application on the same kind of store."""
        return self.settings().eventsourcing_env() | (
            {"SQLITE_DBNAME": f"{self.dir}/bare.db"} if self.kind == "sqlite" else {}
        )

    def raw_connection(self) -> Any:
        from projections.db import ViewDB

        return ViewDB(self.url, self.schema).connect()

    def drop(self) -> None:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def write(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    data = {"benchmark": name, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


async def run_clients(headers: dict[str, str], clients: int, seconds: float,
                      client: Callable[[int, Any], Awaitable[None]], measuring: list[bool],
                      stop_at: list[float]) -> float:
    """Run `clients` copies of `client(n, session)` until `stop_at`, measuring `seconds` after a warm-up.

    `measuring[0]` is true while the measured window is open; returns the
    window's length in seconds.
    """
    import aiohttp

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        warmup = min(1.0, seconds / 3)
        stop_at[0] = time.perf_counter() + warmup + seconds
        tasks = [asyncio.ensure_future(client(n, session)) for n in range(clients)]
        await asyncio.sleep(warmup)
        measuring[0] = True
        t_start = time.perf_counter()
        await asyncio.sleep(seconds)
        measuring[0] = False
        elapsed = time.perf_counter() - t_start
        await asyncio.gather(*tasks)
    return elapsed
