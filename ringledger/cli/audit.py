"""`ringledger audit …`: the auditor's tools. Exit 1 names the first disagreement found;
exit 2 is a malformed command (nothing was checked)."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from ledger.money import format_money
from ringledger.audit import chain
from ringledger.audit.replay import replay as replay_log
from ringledger.audit.verify import verify as verify_store
from ringledger.cli.common import container, emit, fail, instant, progress_bar

audit = typer.Typer(help="Auditor's tools: digest chain, replay to an instant, verify.", no_args_is_help=True)


@audit.command("digest")
def digest(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The head of the digest chain: note it down; `verify --digest --position` proves it later."""
    with container() as c:
        c.catch_up()
        position, head = chain.head(c.views)
    emit({"position": position, "digest": head}, as_json)


@audit.command("replay")
def replay(
    as_of: Annotated[str, typer.Option("--as-of", help="ISO 8601 instant (local zone if none given).")],
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
) -> None:
    """Every account's balance and holds at an instant, computed from the events alone."""
    if fmt not in ("json", "csv"):
        fail("--format is json or csv")
    with container() as c:
        at = instant(as_of, c.settings.timezone)
        total = c.ledger.recorder.max_notification_id() or 0
        with progress_bar("replaying events", total) as tick:
            result = replay_log(c.ledger, at, tick)
    rows = result.rows()
    target = out.open("w", newline="") if out else sys.stdout
    try:
        if fmt == "csv":
            w = csv.writer(target, lineterminator="\n")
            w.writerow(["number", "kind", "status", "balance", "held", "available", "holds"])
            for r in rows:
                holds = ";".join(f"{h}={format_money(a)}" for h, a in r["holds"].items())
                w.writerow([r["number"], r["kind"], r["status"], format_money(r["balance"]), format_money(r["held"]),
                            format_money(r["available"]), holds])
        else:
            doc = {
                "as_of": at.isoformat(),
                "position": result.position,
                "events_read": result.events,
                "trial_balance": format_money(result.trial_balance()),
                "house": {k: format_money(v) for k, v in result.house().items()},
                "accounts": [
                    {**r, **{k: format_money(r[k]) for k in ("balance", "held", "available")},
                     "holds": {h: format_money(a) for h, a in r["holds"].items()}}
                    for r in rows
                ],
            }
            target.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    finally:
        if out:
            target.close()


@audit.command("verify")
def verify(
    noted_digest: Annotated[str | None, typer.Option("--digest", help="A head digest noted earlier.")] = None,
    position: Annotated[int | None, typer.Option(help="The position that digest was noted at.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Rebuild every view in scratch tables and compare, check the trial balance after every
    event and the digest chain. Exit 1 and name the first disagreement."""
    if (noted_digest is None) != (position is None):
        fail("--digest and --position go together")
    if noted_digest is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", noted_digest):
        fail("--digest is the 64 hexadecimal digits that `audit digest` printed")
    if position is not None and position < 0:
        fail("--position is a whole number, 0 or more, as `audit digest` printed it")
    expect = (position, noted_digest) if position is not None and noted_digest is not None else None
    with container() as c:
        total = c.ledger.recorder.max_notification_id() or 0
        with progress_bar("verifying", 2 * total) as tick:
            result = verify_store(c, tick, expect)
        head = chain.head(c.views)
    emit({"ok": result.ok, "position": result.position, "digest": head[1], "problems": result.problems}, as_json)
    if not result.ok:
        sys.stderr.write("verify failed: " + result.problems[0] + "\n")
        raise typer.Exit(1)
