"""`audit verify`: the views, the books and the digest chain agree with the event log.

Every check reads one snapshot (`projections.snapshot`): the tracked
position, the views and the recorded chain as of one instant, so a server
taking traffic meanwhile never makes verify report a disagreement that does
not exist. The rebuild goes up to that position only.

Three independent checks, each naming its first disagreement:

1. the digest chain recomputed from the stored bytes equals the recorded
   chain (and an auditor's noted digest, if given);
2. the trial balance is zero after every event (postings walked in position
   order with a running total) and the balances table agrees;
3. every view rebuilt from zero in scratch tables equals the live view, row
   for row; the scratch tables are dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ledger.money import money_text
from projections.db import ViewDB
from projections.runner import Projector
from projections.snapshot import snapshot
from ringledger.audit import chain
from ringledger.container import Container

SCRATCH = "scratch_"
Progress = Callable[[int], None]


@dataclass
class Verification:
    position: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    c: Container,
    progress: Progress | None = None,
    expect: tuple[int, str] | None = None,
) -> Verification:
    c.catch_up()
    with snapshot(c.views) as snap:
        rows = snap.query(f"SELECT position FROM {c.projector.tracking} WHERE name = ?", ("views",))
        position = int(rows[0][0]) if rows else 0
        result = Verification(position)
        result.problems += chain.check(snap, position, progress, expect)
        result.problems += trial_balance(snap)
        result.problems += rebuild_and_compare(c, position, progress, live=snap)
    return result


def trial_balance(db: ViewDB) -> list[str]:
    total = 0
    current = None
    last_balance: dict[str, int] = {}
    for position, account, amount, balance_after in _rows(
        db, "SELECT position, account, amount, balance_after FROM gl_postings ORDER BY position, seq"
    ):
        if position != current:
            if total != 0:
                return [f"trial balance is {money_text(total)} after the event at position {current}, not zero"]
            current = position
        total += amount
        expected = last_balance.get(account, 0) + amount
        if balance_after != expected:
            return [f"gl_postings: running balance of {account} at position {position} is "
                    f"{money_text(balance_after)}, postings sum to {money_text(expected)}"]
        last_balance[account] = balance_after
    if total != 0:
        return [f"trial balance is {money_text(total)} after the event at position {current}, not zero"]
    for account, balance in db.query("SELECT account, balance FROM gl_balances"):
        if last_balance.get(account, 0) != balance:
            return [f"gl_balances: {account} is {money_text(balance)}, "
                    f"its postings sum to {money_text(last_balance.get(account, 0))}"]
    return []


def rebuild_and_compare(
    c: Container, position: int, progress: Progress | None = None, live: ViewDB | None = None
) -> list[str]:
    """Views rebuilt up to `position` in scratch tables equal the `live` views (read as of `position`)."""
    scratch = Projector(c.ledger, c.views, prefix=SCRATCH)
    try:
        scratch.drop()
        scratch.create()
        try:
            scratch.run(progress=progress, stop=position)
        except Exception as err:  # an event that no longer decodes or applies is a finding, not a crash
            return [f"rebuilding the views from the event log failed after position {scratch.position()}: {err}"]
        for projection in scratch.projections:
            for table in projection.tables:
                problem = _compare(live or c.views, table, c.views, SCRATCH + table)
                if problem:
                    return [problem]
        return []
    finally:
        scratch.drop()
        scratch.close()


def _compare(db: ViewDB, live: str, scratch_db: ViewDB, rebuilt: str) -> str | None:
    """The first row where a live view and its rebuild differ (both read in full-column order)."""
    conn = db.connect()
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT * FROM {live} LIMIT 0")
        order = ", ".join(str(i + 1) for i in range(len(cur.description)))
    finally:
        conn.close()
    a = _rows(db, f"SELECT * FROM {live} ORDER BY {order}")
    b = _rows(scratch_db, f"SELECT * FROM {rebuilt} ORDER BY {order}")
    n = 0
    while True:
        x, y = next(a, None), next(b, None)
        if x is None and y is None:
            return None
        n += 1
        if x != y:
            return f"view {live} differs from its rebuild from the event log at row {n}: live {x!r}, rebuilt {y!r}"


def _rows(db: ViewDB, sql: str, page: int = 10_000) -> Iterator[tuple[Any, ...]]:
    conn = db.connect()
    try:
        cur = conn.cursor()
        cur.execute(sql)
        while True:
            rows = cur.fetchmany(page)
            if not rows:
                return
            for r in rows:
                yield tuple(r)
    finally:
        conn.close()
