"""Switch hook latency while the portal is sent huge and heavy GraphQL queries.

A real `ringledger serve` process on a fresh SQLite store (or PostgreSQL
with --postgres URL, into a schema of its own) under authorize → end load
from 4 client threads; phases of a few seconds each: quiet, a 5 MB GraphQL
query sent again and again (refused 413 before it is read), and a heavy
query within the limits (6,000 aliases, parsed and validated in a portal
worker). Prints the hooks' p50/p99 per phase and writes results/hooks_under_graphql.json.

    .venv/bin/python bench/hooks_under_graphql.py [--seconds 5] [--postgres URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write  # noqa: E402
from ringledger.config import Settings  # noqa: E402
from ringledger.container import build  # noqa: E402
from services.api_keys import create_key  # noqa: E402
from tests.charging_support import set_up  # noqa: E402
from tests.fault.harness import HookLoad, ServerProcess, p99, send_graphql  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rl-bench-"))
    if args.postgres:
        settings = Settings(database_url=args.postgres, database_schema="bench_" + uuid.uuid4().hex[:8],
                            pin_key="11" * 32)
    else:
        settings = Settings(database_url=f"sqlite:///{tmp}/ledger.db", pin_key="11" * 32)
    c = build(settings)
    set_up(c, 1_000_000_0000)
    key, _ = create_key(c.ledger, "operator", "bench")
    c.close()
    huge, heavy = tmp / "huge.json", tmp / "heavy.json"
    huge.write_bytes(b'{"query": "{ ' + b"a: __typename " * (5_000_000 // 14) + b'}"}')
    heavy.write_text('{"query": "{ ' + " ".join(f"a{i}: __typename" for i in range(6_000)) + ' }"}')

    server = ServerProcess(settings)
    server.start()
    load = HookLoad(server.url)
    statuses: dict[str, list[int]] = {}
    try:
        load.start()
        time.sleep(1)
        load.phase = "quiet"
        time.sleep(args.seconds)
        load.phase = "graphql-5mb"
        statuses["graphql-5mb"] = send_graphql(server.url, key, str(huge), args.seconds)
        load.phase = "graphql-heavy"
        statuses["graphql-heavy"] = send_graphql(server.url, key, str(heavy), args.seconds)
        load.phase = "done"
    finally:
        load.stop()
        server.stop()
    results = {"store": "postgresql" if args.postgres else "sqlite", "seconds_per_phase": args.seconds}
    for phase in ("quiet", "graphql-5mb", "graphql-heavy"):
        lat = load.latencies(phase)
        results[phase] = {"answers": len(lat), "p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
                          "p99_ms": round(p99(lat) * 1000, 1), "graphql_statuses": sorted(set(statuses.get(phase, [])))}
        print(f"{phase:14s} hooks answered {len(lat):5d}  p50 {results[phase]['p50_ms']} ms  "
              f"p99 {results[phase]['p99_ms']} ms  graphql {results[phase]['graphql_statuses']}")
    print("written", write("hooks_under_graphql", results))


if __name__ == "__main__":
    main()
