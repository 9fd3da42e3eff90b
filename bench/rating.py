"""Rating throughput: price N synthetic CDRs in process, report CDRs/s.

What is timed: for each CDR, `TariffPlan.find_rate` (longest prefix, then
category) and `rate_call` (increments, band at the answer instant in
Asia/Shanghai, connect fee, minimum) and summing the cost. Number
classification (phonenumbers) is not timed: CDRs carry already-classified
destinations, as the ledger stores them.

Baseline, same process, same CDRs (a prefix of them): the naive lookup —
scan every prefix row longest-first with ``str.startswith`` — followed by
the same `rate_call`; both must produce the same total.

Usage: .venv/bin/python bench/rating.py [--n N] [--runs R] [--baseline-n M]
Writes bench/results/rating.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import phonenumbers

from rating.demo import demo_plan
from rating.numberplan import Destination
from rating.rate import rate_call
from rating.tariffs import RateRow, TariffPlan, TimeBand

RESULTS = Path(__file__).resolve().parent / "results" / "rating.json"
DOMESTIC = ("local", "national", "mobile", "special")
HMT = {"852", "853", "886"}
Cdr = tuple[Destination, int, datetime]


def wholesale_plan(rng: random.Random) -> TariffPlan:
    """The demo plan plus a wholesale-sized deck: every country code, with sub-prefixes."""
    demo = demo_plan()
    taken = {r.prefix for r in demo.rows if r.prefix}
    rows = list(demo.rows)
    night = TimeBand("offpeak", "21:00", "07:00", 0)
    for cc in sorted(str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if c != 86):
        for prefix in (
            [cc]
            + [cc + str(d) for d in range(10)]
            + [cc + f"{d:02d}" for d in rng.sample(range(100), 8)]
        ):
            if prefix in taken:
                continue
            taken.add(prefix)
            price = rng.randrange(1_000, 90_000)
            bands = (
                (TimeBand("offpeak", night.start, night.end, price * 3 // 4),)
                if rng.random() < 0.3
                else ()
            )
            inc = rng.choice([(60, 60), (30, 6), (6, 6), (1, 1)])
            rows.append(
                RateRow(
                    f"W{prefix}",
                    price,
                    inc[0],
                    inc[1],
                    rng.choice([0, 500, 1000]),
                    0,
                    prefix=prefix,
                    bands=bands,
                )
            )
    return TariffPlan("bench", 1, demo.effective_from, tuple(rows), tz=demo.tz, fees=demo.fees)


def destinations(rng: random.Random, count: int) -> list[Destination]:
    codes = [str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE]
    out = []
    for _ in range(count):
        if rng.random() < 0.6:  # most traffic is domestic
            category = rng.choice(DOMESTIC)
            digits = (
                "86"
                + ("1" if category == "mobile" else "10")
                + "".join(rng.choices("0123456789", k=9))
            )
        else:
            cc = rng.choice(codes)
            category = "hmt" if cc in HMT else "international"
            digits = cc + "".join(rng.choices("0123456789", k=rng.randint(7, 10)))
        out.append(Destination("+" + digits, category, None, "ZZ"))
    return out


def synthetic_cdrs(n: int, seed: int = 7) -> tuple[TariffPlan, list[Cdr]]:
    rng = random.Random(seed)
    plan = wholesale_plan(rng)
    dests = destinations(rng, 10_000)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    instants = [start + timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(10_000)]
    cdrs = [
        (
            rng.choice(dests),
            0 if rng.random() < 0.25 else rng.randint(1, 3600),
            rng.choice(instants),
        )
        for _ in range(n)
    ]
    return plan, cdrs


def rate_indexed(plan: TariffPlan, cdrs: list[Cdr]) -> int:
    find, zone, total = plan.find_rate, plan.zone, 0
    for dest, billsec, at in cdrs:
        row = find(dest)
        if row is not None:
            total += rate_call(row, billsec, at, zone).cost
    return total


def rate_naive(plan: TariffPlan, cdrs: list[Cdr]) -> int:
    by_length = sorted(
        (r for r in plan.rows if r.prefix), key=lambda r: len(r.prefix or ""), reverse=True
    )
    by_category = [r for r in plan.rows if r.category]
    zone, total = plan.zone, 0
    for dest, billsec, at in cdrs:
        digits = dest.e164[1:]
        row = next((r for r in by_length if digits.startswith(r.prefix or "")), None)
        if row is None:
            row = next((r for r in by_category if r.category == dest.category), None)
        if row is not None:
            total += rate_call(row, billsec, at, zone).cost
    return total


def timed(
    fn: Callable[[TariffPlan, list[Cdr]], int], plan: TariffPlan, cdrs: list[Cdr]
) -> tuple[float, int]:
    began = time.perf_counter()
    total = fn(plan, cdrs)
    return time.perf_counter() - began, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="CDRs per run (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs; the median is reported")
    parser.add_argument(
        "--baseline-n", type=int, default=20_000, help="CDRs for the naive baseline"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    plan, cdrs = synthetic_cdrs(args.n)
    rates, totals = [], set()
    for _ in range(args.runs):
        seconds, total = timed(rate_indexed, plan, cdrs)
        rates.append(args.n / seconds)
        totals.add(total)
    median = statistics.median(rates)

    subset = cdrs[: min(args.baseline_n, args.n)]
    base_s, base_total = timed(rate_naive, plan, subset)
    _, check_total = timed(rate_indexed, plan, subset)
    if base_total != check_total or len(totals) != 1:
        raise SystemExit(
            f"totals disagree: indexed {check_total} vs naive {base_total}, runs {totals}"
        )
    baseline = len(subset) / base_s

    result = {
        "benchmark": "rating",
        "cdrs": args.n,
        "runs": args.runs,
        "cdrs_per_second_median": round(median),
        "cdrs_per_second_runs": [round(r) for r in rates],
        "target_cdrs_per_second": 200_000,
        "meets_target": median >= 200_000,
        "baseline": "naive linear prefix scan + same rate_call",
        "baseline_cdrs": len(subset),
        "baseline_cdrs_per_second": round(baseline),
        "speedup_vs_baseline": round(median / baseline, 1),
        "plan_rows": len(plan.rows),
        "total_cost_ten_thousandths": totals.pop(),
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"rating: {median:,.0f} CDRs/s median of {args.runs} runs of {args.n:,} "
        f"(runs: {', '.join(f'{r:,.0f}' for r in rates)}); target 200,000: "
        f"{'met' if result['meets_target'] else 'MISSED'}"
    )
    print(
        f"baseline (linear prefix scan over {len(plan.rows)} rows): {baseline:,.0f} CDRs/s "
        f"on {len(subset):,} CDRs; speedup x{result['speedup_vs_baseline']}"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
