"""Switch benchmark: SIPp calls through a real Kamailio charged by a real `ringledger serve`.

Kamailio runs `adapters/kamailio/kamailio.cfg` (8 workers) between a SIPp
caller and a SIPp callee on loopback; the ledger runs in its own process on
a fresh store with its clock pinned (peak time), with 100 funded accounts
whose numbers the caller takes in turn. Each call talks for `--talk`
seconds, then the caller hangs up.

- **Rising call rates** (`--rates`, `--step` seconds each, 15 s by default;
  the issue's 60 s with `--step 60`): per step, calls placed, failed calls
  (SIPp), answered calls without an ended CDR once the step has settled
  ("lost CDRs"), and the p50/p99 call-setup delay (INVITE to 200 OK).
  A rate is sustained when SIPp placed at least 95 % of the calls it was
  asked for with zero failed calls and zero lost CDRs; the bench reports
  the highest such rate, also as BHCA (busy-hour call attempts).
- **Baseline**: the same steps through Kamailio alone (`LEDGER_BYPASS`: no
  hook); the p99 setup delay the authorize hook adds is the difference.
- **Held calls** (`--held N`, off by default): N calls of `--hold-seconds`
  (120 s) placed at `--held-rate` calls/s and held together; reports the
  most simultaneous calls SIPp held and whether all were charged.

Prints a table and writes bench/results/switch.json.

    .venv/bin/python bench/switch.py [--rates 50,100,200,300] [--step 15] [--talk 2]
                                     [--store sqlite|postgres] [--no-baseline] [--held 2000]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Store, write  # noqa: E402
from rating.tariffs import RateRow  # noqa: E402
from ringledger.container import build  # noqa: E402
from services.charging import Charging, ChargingPolicy  # noqa: E402
from tests.server_process import TOKEN, server  # noqa: E402
from tests.switch_support import callee, kamailio, place_calls, require_switch  # noqa: E402

ACCOUNTS = 100
CALLEE = "01062345678"
#: Local calls at 0.60 a minute billed by the second.
PER_SECOND = RateRow(name="Local by the second", category="local", price_per_minute=6000, first_increment=1,
                     next_increment=1)


def phone(n: int) -> str:
    return f"+86139{n:08d}"


def prepare(store: Store) -> None:
    c = build(store.settings())
    try:
        charging = Charging(c.ledger, ChargingPolicy(refresh_seconds=0), lambda: datetime(2024, 1, 1, tzinfo=UTC))
        charging.publish_plan("bysecond", [PER_SECOND], datetime(2024, 1, 1, tzinfo=UTC), "bench")
        for n in range(ACCOUNTS):
            number = f"{9100000000 + n}"
            c.ledger.open_account("subscriber", "bench", number=number, plan="bysecond")
            c.ledger.deposit(number, 100_000 * 10_000, "bench")
            c.ledger.bind(number, phone(n), "bench")
    finally:
        c.close()


def ended_cdrs(store: Store) -> tuple[int, int]:
    """(ended CDRs, open holds) in the store now."""
    c = build(store.settings())
    try:
        c.fresh()
        ended = int(c.views.query("SELECT COUNT(*) FROM cdrs WHERE status = 'ended'")[0][0])
        held = int(c.views.query("SELECT COUNT(*) FROM holds")[0][0])
        return ended, held
    finally:
        c.close()


def sipp_figures(workdir: Path) -> dict[str, Any]:
    """Calls created, successful, failed, most held at once, and setup delays (ms) from SIPp's files."""
    stats = [workdir / "stat.csv", *sorted(workdir.glob("*_rtt.csv"))]
    figures: dict[str, Any] = {"created": 0, "successful": 0, "failed": 0, "most_simultaneous": 0, "setup_ms": []}
    for path in stats:
        if not path.exists():
            continue
        if path.name.endswith("_rtt.csv"):
            with open(path) as f:
                for row in csv.reader(f, delimiter=";"):
                    if len(row) >= 2 and row[0] and row[0][0].isdigit():
                        figures["setup_ms"].append(float(row[1]))
            continue
        with open(path) as f:
            rows = list(csv.DictReader(f, delimiter=";"))
        if rows:
            last = rows[-1]
            figures["created"] = int(last["TotalCallCreated"])
            figures["successful"] = int(last["SuccessfulCall(C)"])
            figures["failed"] = int(last["FailedCall(C)"])
            figures["most_simultaneous"] = max(int(r["CurrentCall"]) for r in rows)
    return figures


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_step(port: int, rate: int, seconds: int, talk: float) -> dict[str, Any]:
    calls = rate * seconds
    workdir = Path(tempfile.mkdtemp(prefix="switch-bench-"))
    started = time.monotonic()
    run = place_calls(port, [phone(n) for n in range(ACCOUNTS)], CALLEE, talk_seconds=talk, calls=calls, rate=rate,
                      limit=max(100, int(rate * (talk + 2) * 3)), trace=False, timeout=seconds + talk + 60,
                      extra=["-trace_stat", "-stf", str(workdir / "stat.csv"), "-fd", "1",
                             "-trace_rtt", "-rtt_freq", "1"], keep=workdir)
    elapsed = time.monotonic() - started
    figures = sipp_figures(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    setup = figures.pop("setup_ms")
    return {"rate": rate, "seconds": seconds, "asked": calls, **figures, "sipp_exit": run.returncode,
            "wall_seconds": round(elapsed, 1), "setup_p50_ms": percentile(setup, 0.5),
            "setup_p99_ms": percentile(setup, 0.99)}


def settle(store: Store, expected_ended: int, within: float = 30) -> tuple[int, int]:
    deadline = time.monotonic() + within
    while True:
        ended, held = ended_cdrs(store)
        if (ended >= expected_ended and held == 0) or time.monotonic() > deadline:
            return ended, held
        time.sleep(0.5)


def with_ledger(args: argparse.Namespace) -> dict[str, Any]:
    store = Store(args.store)
    try:
        prepare(store)
        settings = store.settings()
        steps: list[dict[str, Any]] = []
        held: dict[str, Any] | None = None
        with server(settings, RINGLEDGER_POOL_SIZE="10") as client, callee() as callee_port, \
                kamailio(str(client.base_url), TOKEN, outbound=f"sip:127.0.0.1:{callee_port}", children=8) as node:
            ended_before = 0
            for rate in args.rates:
                step = run_step(node.sip_port, rate, args.step, args.talk)
                ended, open_holds = settle(store, ended_before + step["successful"])
                step["cdrs_ended"] = ended - ended_before
                step["lost_cdrs"] = max(0, step["successful"] - step["cdrs_ended"])
                step["open_holds_after"] = open_holds
                ended_before = ended
                steps.append(step)
                print_step("ledger", step)
                if step["failed"] and step["failed"] > step["asked"] // 2:
                    break  # far past what the box sustains
            if args.held:
                held = run_step(node.sip_port, args.held_rate, max(1, args.held // args.held_rate),
                                args.hold_seconds)
                ended, open_holds = settle(store, ended_before + held["successful"], within=60)
                held["cdrs_ended"] = ended - ended_before
                held["lost_cdrs"] = max(0, held["successful"] - held["cdrs_ended"])
                print_step("held", held)
        return {"steps": steps, "held": held}
    finally:
        store.drop()


def alone(args: argparse.Namespace) -> list[dict[str, Any]]:
    steps = []
    with callee() as callee_port, kamailio("http://127.0.0.1:9", "unused", outbound=f"sip:127.0.0.1:{callee_port}",
                                           children=8, bypass=True) as node:
        for rate in args.rates:
            step = run_step(node.sip_port, rate, args.step, args.talk)
            steps.append(step)
            print_step("alone", step)
    return steps


def sustained(steps: list[dict[str, Any]]) -> int:
    best = 0
    for step in steps:
        if step["failed"] == 0 and step.get("lost_cdrs", 0) == 0 and step["created"] >= 0.95 * step["asked"]:
            best = max(best, step["rate"])
    return best


def print_step(kind: str, step: dict[str, Any]) -> None:
    print(f"{kind:6} {step['rate']:>5} calls/s x {step['seconds']:>3} s: placed {step['created']:>6}, "
          f"failed {step['failed']:>5}, lost CDRs {step.get('lost_cdrs', '-')!s:>4}, most at once "
          f"{step['most_simultaneous']:>5}, setup p50/p99 {fmt(step['setup_p50_ms'])}/{fmt(step['setup_p99_ms'])} ms",
          flush=True)


def fmt(ms: float | None) -> str:
    return "-" if ms is None else f"{ms:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="50,100,200,300,400", help="call rates to step through (calls/s)")
    parser.add_argument("--step", type=int, default=15, help="seconds per rate (the issue asks 60)")
    parser.add_argument("--talk", type=float, default=2.0, help="seconds each call talks")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--no-baseline", action="store_true", help="skip Kamailio alone")
    parser.add_argument("--held", type=int, default=0, help="hold this many calls at once (0: skip)")
    parser.add_argument("--held-rate", type=int, default=100, help="calls/s while building up the held calls")
    parser.add_argument("--hold-seconds", type=float, default=120.0, help="length of each held call")
    args = parser.parse_args()
    args.rates = [int(r) for r in args.rates.split(",")]
    require_switch_or_exit()
    result = with_ledger(args)
    baseline = [] if args.no_baseline else alone(args)
    best = sustained(result["steps"])
    by_rate = {s["rate"]: s for s in baseline}
    added = {}
    for step in result["steps"]:
        base = by_rate.get(step["rate"])
        if base and step["setup_p99_ms"] is not None and base["setup_p99_ms"] is not None:
            added[step["rate"]] = round(step["setup_p99_ms"] - base["setup_p99_ms"], 1)
    summary = {"sustained_calls_per_second": best, "sustained_bhca": best * 3600,
               "target_calls_per_second": 200, "target_met": best >= 200,
               "baseline_sustained_calls_per_second": sustained(baseline) if baseline else None,
               "authorize_adds_p99_setup_ms": added,
               "most_simultaneous_held": result["held"]["most_simultaneous"] if result["held"] else None}
    path = write("switch", {"store": args.store, "step_seconds": args.step, "talk_seconds": args.talk,
                            "kamailio_workers": 8, "accounts": ACCOUNTS, "with_ledger": result["steps"],
                            "held": result["held"], "kamailio_alone": baseline, "summary": summary})
    print(f"sustained: {best} calls/s ({best * 3600:,} BHCA) with zero failed calls and zero lost CDRs"
          f" (target 200: {'met' if best >= 200 else 'NOT met'})")
    for rate, ms in added.items():
        print(f"  at {rate} calls/s the authorize hook adds {ms} ms to the p99 setup delay")
    if result["held"]:
        print(f"held: {result['held']['most_simultaneous']} simultaneous calls of {args.hold_seconds:.0f} s")
    print(f"wrote {path}")


def require_switch_or_exit() -> None:
    try:
        require_switch()
    except BaseException as err:  # pytest's skip/fail outcomes
        sys.exit(f"bench/switch.py: {err}")


if __name__ == "__main__":
    main()
