"""Ledger benchmark: card issue, debits one at a time and grouped, view rebuild.

Runs on SQLite and (if reachable) PostgreSQL. In the same process it runs
two baselines: plain SQL `UPDATE … SET balance = balance - ? WHERE id = ?
AND balance >= ?` (what A2Billing and mod_nibblebill do), and the bare
eventsourcing library with a minimal aggregate (one event per debit, cached
aggregate, fast-forward off), so that our own overhead shows as a ratio.

    .venv/bin/python bench/ledger.py [--quick] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate  # noqa: E402

from bench.common import Store, median, pg_available, timed, write  # noqa: E402
from ledger import house  # noqa: E402
from ringledger.container import build  # noqa: E402


class BareAccount(Aggregate):
    def __init__(self) -> None:
        self.balance = 0

    class Debited(Aggregate.Event):
        amount: int

        def apply(self, account: BareAccount) -> None:
            account.balance -= self.amount

    def debit(self, amount: int) -> None:
        self.trigger_event(self.Debited, amount=amount)


class BareApp(Application[UUID]):
    name = "bare"
    snapshotting_intervals: ClassVar[dict[type, int]] = {}


def bare_issue(store: Store, n: int) -> float:
    app = BareApp(store.es_env())

    def run() -> None:
        for start in range(0, n, 1000):
            app.save(*(BareAccount() for _ in range(min(1000, n - start))))

    t = timed(run)
    app.close()
    return t


def bare_debits_one(store: Store, n: int) -> float:
    app = BareApp(store.es_env())
    acct = BareAccount()
    app.save(acct)

    def run() -> None:
        for _ in range(n):
            a = app.repository.get(acct.id)
            a.debit(1)
            app.save(a)

    t = timed(run)
    app.close()
    return t


def bare_debits_grouped(store: Store, n: int, accounts: int, group: int) -> float:
    app = BareApp(store.es_env())
    ids = []
    for start in range(0, accounts, 500):
        batch = [BareAccount() for _ in range(min(500, accounts - start))]
        app.save(*batch)
        ids += [a.id for a in batch]

    def run() -> None:
        for start in range(0, n, group):
            loaded: dict[UUID, BareAccount] = {}
            for i in range(start, start + group):
                aid = ids[i % accounts]
                a = loaded.get(aid) or loaded.setdefault(aid, app.repository.get(aid))
                a.debit(1)
            app.save(*loaded.values())

    t = timed(run)
    app.close()
    return t


def sql_setup(store: Store, accounts: int) -> Any:
    conn = store.raw_connection()
    cur = conn.cursor()
    cur.execute("CREATE TABLE IF NOT EXISTS baseline_balances (id TEXT PRIMARY KEY, balance BIGINT NOT NULL)")
    cur.execute("DELETE FROM baseline_balances")
    ph = "%s" if store.kind == "postgres" else "?"
    cur.executemany(
        f"INSERT INTO baseline_balances VALUES ({ph}, {ph})", [(f"a{i}", 10**12) for i in range(accounts)]
    )
    cur.close()
    return conn


def sql_debits(store: Store, n: int, accounts: int, group: int) -> float:
    """One transaction per `group` debits; `UPDATE … WHERE balance >= ?` each."""
    conn = sql_setup(store, accounts)
    ph = "%s" if store.kind == "postgres" else "?"
    stmt = f"UPDATE baseline_balances SET balance = balance - {ph} WHERE id = {ph} AND balance >= {ph}"

    def run() -> None:
        cur = conn.cursor()
        for start in range(0, n, group):
            cur.execute("BEGIN")
            for i in range(start, start + group):
                cur.execute(stmt, (1, f"a{i % accounts}", 1))
            cur.execute("COMMIT")
        cur.close()

    t = timed(run)
    conn.close()
    return t


def ours_issue(store: Store, n: int) -> float:
    c = build(store.settings())
    t = timed(lambda: c.ledger.issue_batch("voucher", n, 50_0000, "bench", name="B" + uuid4().hex[:8]))
    c.close()
    return t


def ours_setup_accounts(c: Any, accounts: int) -> list[str]:
    numbers = [str(9_000_000_000 + i) for i in range(accounts)]
    for number in numbers:
        c.ledger.open_account("subscriber", "bench", number=number)
        c.ledger.deposit(number, 10**12, "bench")
    return numbers


def ours_debits_one(store: Store, n: int) -> float:
    c = build(store.settings())
    [number] = ours_setup_accounts(c, 1)
    counter = house.revenue("direct", "local")

    def run() -> None:
        for _ in range(n):
            c.ledger.debit(number, 1, counter, "bench")

    t = timed(run)
    c.close()
    return t


def ours_debits_grouped(store: Store, n: int, accounts: int, group: int) -> float:
    c = build(store.settings())
    numbers = ours_setup_accounts(c, accounts)
    counter = house.revenue("direct", "local")
    commands = [c.ledger.debit_command(numbers[i % accounts], 1, counter, "bench") for i in range(n)]

    def run() -> None:
        for start in range(0, n, group):
            results = c.ledger.execute_many([(cmd, None) for cmd in commands[start : start + group]])
            assert all(isinstance(r, dict) for r in results), results

    t = timed(run)
    c.close()
    return t


def ours_rebuild(store: Store) -> tuple[float, int]:
    c = build(store.settings())
    c.projector.drop()
    c.projector.create()
    events = c.ledger.recorder.max_notification_id() or 0
    t = timed(c.projector.run)
    c.close()
    return t, events


def bench_store(kind: str, quick: bool, repeats: int) -> dict[str, Any]:
    cards = 10_000 if quick else 100_000
    one = 1_000 if quick else 10_000
    grouped, accounts, group = (2_000, 200, 100) if quick else (10_000, 1_000, 100)
    out: dict[str, Any] = {"cards": cards, "debits_one": one, "debits_grouped": grouped, "accounts": accounts,
                           "group": group}

    def med(fn: Any) -> float:
        values = []
        for _ in range(repeats):
            store = Store(kind)
            try:
                values.append(fn(store))
            finally:
                store.drop()
        return median(values)

    print(f"[{kind}] issuing {cards} cards …", flush=True)
    out["issue_seconds"] = med(lambda s: ours_issue(s, cards))
    out["bare_issue_seconds"] = med(lambda s: bare_issue(s, cards))
    print(f"[{kind}] {one} debits, one durable command each …", flush=True)
    ours = med(lambda s: ours_debits_one(s, one))
    bare = med(lambda s: bare_debits_one(s, one))
    sql1 = med(lambda s: sql_debits(s, one, 1, 1))
    out["debits_one_per_s"] = one / ours
    out["bare_debits_one_per_s"] = one / bare
    out["sql_debits_one_per_s"] = one / sql1
    print(f"[{kind}] {grouped} debits over {accounts} accounts, {group} per transaction …", flush=True)
    ours_g = med(lambda s: ours_debits_grouped(s, grouped, accounts, group))
    bare_g = med(lambda s: bare_debits_grouped(s, grouped, accounts, group))
    sql_g1 = med(lambda s: sql_debits(s, grouped, accounts, 1))
    sql_gg = med(lambda s: sql_debits(s, grouped, accounts, group))
    out["debits_grouped_per_s"] = grouped / ours_g
    out["bare_debits_grouped_per_s"] = grouped / bare_g
    out["sql_debits_one_tx_each_per_s"] = grouped / sql_g1
    out["sql_debits_grouped_per_s"] = grouped / sql_gg
    print(f"[{kind}] rebuilding views from zero …", flush=True)
    store = Store(kind)
    try:
        ours_issue(store, cards // 2)
        ours_debits_grouped(store, grouped, accounts, group)
        seconds, events = ours_rebuild(store)
    finally:
        store.drop()
    out["rebuild_events"] = events
    out["rebuild_events_per_s"] = events / seconds
    out["ratios"] = {
        "issue_vs_bare": out["bare_issue_seconds"] / out["issue_seconds"],
        "debits_one_vs_bare": out["debits_one_per_s"] / out["bare_debits_one_per_s"],
        "debits_one_vs_sql": out["debits_one_per_s"] / out["sql_debits_one_per_s"],
        "debits_grouped_vs_bare": out["debits_grouped_per_s"] / out["bare_debits_grouped_per_s"],
        "debits_grouped_vs_sql_one_tx_each": out["debits_grouped_per_s"] / out["sql_debits_one_tx_each_per_s"],
        "debits_grouped_vs_sql_grouped": out["debits_grouped_per_s"] / out["sql_debits_grouped_per_s"],
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10x smaller runs, one repeat")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    results: dict[str, Any] = {"repeats": repeats}
    for kind in args.stores.split(","):
        if kind == "postgres" and not pg_available():
            print("[postgres] not reachable; skipped")
            continue
        results[kind] = bench_store(kind, args.quick, repeats)
        r = results[kind]
        print(
            f"[{kind}] issue {r['cards']} cards: {r['issue_seconds']:.2f} s (bare {r['bare_issue_seconds']:.2f} s)\n"
            f"[{kind}] debits one at a time: {r['debits_one_per_s']:.0f}/s (bare {r['bare_debits_one_per_s']:.0f}/s,"
            f" SQL UPDATE {r['sql_debits_one_per_s']:.0f}/s)\n"
            f"[{kind}] grouped debits: {r['debits_grouped_per_s']:.0f} events/s (bare {r['bare_debits_grouped_per_s']:.0f},"
            f" SQL one tx each {r['sql_debits_one_tx_each_per_s']:.0f}, SQL grouped {r['sql_debits_grouped_per_s']:.0f})\n"
            f"[{kind}] rebuild: {r['rebuild_events_per_s']:.0f} events/s over {r['rebuild_events']} events\n"
            f"[{kind}] ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in r["ratios"].items()),
            flush=True,
        )
    print("wrote", write("ledger", results))


if __name__ == "__main__":
    main()
