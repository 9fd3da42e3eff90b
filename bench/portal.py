"""Portal and auditor benchmark.

Part 1 (PostgreSQL if reachable, else SQLite): the CDR view is filled with
1,000,000 rows (100,000 with --quick) INSERTED DIRECTLY IN BULK into the
`cdrs` view table (COPY on PostgreSQL, executemany on SQLite), not produced
by events, and the hourly revenue report table likewise; then a bar owner's
"this month's CDRs for booth 3, page of 50" and "my daily statement for 30
days", and an operator's "daily revenue for 30 days", are timed over HTTP
(GraphQL through the FastAPI app in process), each against the same SQL run
directly as the baseline.

Part 2 (SQLite): a store of real events (accounts credited and debited,
saved through the library), then `audit replay` and `audit verify`
throughput in events/s.

    .venv/bin/python bench/portal.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Store, pg_available, write

BARS, BOOTHS = 200, 10


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fill_cdrs(c: Any, n: int, now: datetime) -> None:
    from projections.cdrs import COLUMNS

    rng = random.Random(7)
    start = now - timedelta(days=60)
    span = int((now - start).total_seconds())
    rows = []
    revenue: dict[tuple[str, str], int] = {}
    for i in range(n):
        at = start + timedelta(seconds=rng.randrange(span))
        bar = f"{5550000 + rng.randrange(BARS)}"
        billsec = rng.choice((0, 0, 30, 65, 125, 300, 610))
        cost = (billsec + 59) // 60 * 2000
        iso = at.isoformat()
        row = {c_: None for c_ in COLUMNS}
        row.update(id=f"{i:032x}", call_id=f"bench-{i}", status="ended", account=bar, caller="+862150001234",
                   callee="13800138000", callee_e164="+8613800138000", category="mobile", service="phonebar",
                   booth=str(1 + rng.randrange(BOOTHS)), bar=bar, plan="demo", plan_version=1, rate_name="Mobile",
                   price_per_minute=2000, rate="{}", hold=480000, max_seconds=14400, authorized_at=iso,
                   answered_at=iso if billsec else None, ended_at=iso, billsec=billsec, used_seconds=billsec,
                   used=cost, charged=cost, cost=cost, cause="normal", flags="")
        rows.append(tuple(row[c_] for c_ in COLUMNS))
        key = (at.strftime("%Y-%m-%dT%H"), "mobile")
        revenue[key] = revenue.get(key, 0) + cost
    conn = c.views.connect()
    cur = conn.cursor()
    if c.views.is_postgres:
        with cur.copy(f"COPY cdrs ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        with cur.copy("COPY report_revenue_hourly FROM STDIN") as copy:
            for (hour, category), amount in revenue.items():
                copy.write_row((hour, "phonebar", category, amount, 1))
        cur.execute("ANALYZE cdrs")
        cur.execute("ANALYZE report_revenue_hourly")
    else:
        cur.execute("BEGIN")
        cur.executemany(f"INSERT INTO cdrs VALUES ({', '.join('?' * len(COLUMNS))})", rows)
        cur.executemany("INSERT INTO report_revenue_hourly VALUES (?, 'phonebar', ?, ?, 1)",
                        [(h, cat, a) for (h, cat), a in revenue.items()])
        cur.execute("COMMIT")
        cur.execute("ANALYZE")
    conn.close()


def part_portal(kind: str, n: int, repeats: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from ringledger.container import build
    from services.api_keys import create_key
    from ringledger.server import create_app

    store = Store(kind)
    c = build(store.settings())
    try:
        bar = "5550003"
        c.ledger.open_account("phonebar", "bench", number=bar)
        owner, _ = create_key(c.ledger, "bar_owner", "bench", bar=bar)
        operator, _ = create_key(c.ledger, "operator", "bench")
        c.catch_up()
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        fill_cdrs(c, n, now)
        fill_s = time.perf_counter() - t0
        client = TestClient(create_app(c))
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        today = now.date()
        first_day = today - timedelta(days=29)
        cases = {
            "bar_owner_cdrs_booth3_page50": (
                owner,
                "query($from: DateTime!) { cdrs(filter: {booth: \"3\", from: $from}, first: 50) { edges { node "
                "{ callId caller callee authorizedAt billsec cost } } pageInfo { hasNextPage endCursor } } }",
                {"from": month.isoformat()},
                "SELECT call_id, caller, callee, authorized_at, billsec, cost FROM cdrs WHERE bar = ? AND booth = ?"
                " AND authorized_at >= ? ORDER BY authorized_at DESC, id DESC LIMIT 51",
                (bar, "3", month.isoformat()),
            ),
            "bar_owner_statement_30_days": (
                owner,
                "query($f: Date!, $t: Date!) { barStatement(from: $f, to: $t) { rows { day attempts answered "
                "minutes cost } } }",
                {"f": first_day.isoformat(), "t": today.isoformat()},
                "SELECT substr(authorized_at, 1, 13), COUNT(*), SUM(billsec), SUM(cost) FROM cdrs WHERE"
                " authorized_at >= ? AND authorized_at < ? AND bar = ? GROUP BY 1",
                ((now - timedelta(days=30)).isoformat(), now.isoformat(), bar),
            ),
            "operator_daily_revenue_30_days": (
                operator,
                "query($f: Date!, $t: Date!) { dailyRevenue(from: $f, to: $t) { rows { day service category "
                "amount } total } }",
                {"f": first_day.isoformat(), "t": today.isoformat()},
                "SELECT hour, service, category, amount FROM report_revenue_hourly WHERE hour >= ? AND hour < ?",
                ((now - timedelta(days=30)).strftime("%Y-%m-%dT%H"), now.strftime("%Y-%m-%dT%H")),
            ),
        }
        out: dict[str, Any] = {"store": kind, "cdrs": n, "cdrs_generated": "bulk INSERT/COPY into the cdrs view",
                               "fill_seconds": round(fill_s, 1)}
        for name, (token, query, variables, sql, params) in cases.items():
            headers = {"Authorization": f"Bearer {token}"}
            answer = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers).json()
            assert "errors" not in answer, answer
            http, raw = [], []
            for _ in range(repeats):
                t = time.perf_counter()
                client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
                http.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                c.views.query(sql, params)
                raw.append((time.perf_counter() - t) * 1000)
            out[name] = {
                "http_p50_ms": round(pct(http, 50), 2), "http_p99_ms": round(pct(http, 99), 2),
                "sql_p50_ms": round(pct(raw, 50), 2), "sql_p99_ms": round(pct(raw, 99), 2),
                "ratio_p50_http_vs_sql": round(pct(http, 50) / max(pct(raw, 50), 1e-6), 1),
            }
            print(f"  {kind} {name}: HTTP p50 {out[name]['http_p50_ms']} ms p99 {out[name]['http_p99_ms']} ms;"
                  f" raw SQL p50 {out[name]['sql_p50_ms']} ms")
        return out
    finally:
        c.close()
        store.drop()


def part_audit(accounts: int, per_account: int) -> dict[str, Any]:
    from ledger import house
    from ledger.accounts import Account
    from ringledger.audit.replay import replay
    from ringledger.audit.verify import verify
    from ringledger.container import build

    store = Store("sqlite")
    c = build(store.settings())
    try:
        t0 = time.perf_counter()
        for start in range(0, accounts, 50):
            batch = []
            for i in range(start, min(accounts, start + 50)):
                a = Account.open(f"{7_000_000 + i}", "subscriber", "bench")
                a.credit(per_account * 10_000, house.DEPOSITS, "bench")
                for _ in range(per_account - 2):
                    a.debit(5_000, house.revenue("direct", "local"), "bench")
                batch.append(a)
            c.ledger.save(*batch)
        events = c.ledger.recorder.max_notification_id() or 0
        write_s = time.perf_counter() - t0
        t = time.perf_counter()
        c.catch_up()
        project_s = time.perf_counter() - t
        t = time.perf_counter()
        r = replay(c.ledger, datetime.now(UTC))
        replay_s = time.perf_counter() - t
        assert r.trial_balance() == 0 and len(r.accounts) == accounts
        t = time.perf_counter()
        v = verify(c)
        verify_s = time.perf_counter() - t
        assert v.ok, v.problems
        out = {
            "store": "sqlite", "events": events, "events_written_through": "library save of Account aggregates",
            "write_events_per_s": round(events / write_s), "projector_events_per_s": round(events / project_s),
            "replay_events_per_s": round(events / replay_s), "verify_events_per_s": round(events / verify_s),
            "verify_vs_projector_ratio": round(project_s / verify_s, 2),
        }
        print(f"  sqlite audit: {events} events; projector {out['projector_events_per_s']}/s, replay "
              f"{out['replay_events_per_s']}/s, verify {out['verify_events_per_s']}/s")
        return out
    finally:
        c.close()
        store.drop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100,000 CDRs and 20,000 events")
    args = parser.parse_args()
    n, repeats = (100_000, 60) if args.quick else (1_000_000, 200)
    kind = "postgres" if pg_available() else "sqlite"
    print(f"portal: {n} CDRs on {kind} (bulk-inserted view rows), {repeats} requests per query")
    portal = part_portal(kind, n, repeats)
    audit = part_audit(200 if args.quick else 1000, 100)
    path = write("portal", {"quick": args.quick, "portal": portal, "audit": audit,
                            "targets": {"portal_http_p99_ms": 50, "audit_events_per_s_sqlite": 20_000}})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
