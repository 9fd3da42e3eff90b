"""Recomputing the digest chain from the stored events and comparing it with the recorded one."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from projections.db import ViewDB
from projections.digests import GENESIS, iter_stored, link

Progress = Callable[[int], None]


def recompute(db: ViewDB, until: int | None = None, progress: Progress | None = None) -> Iterator[tuple[int, bytes]]:
    """(position, digest) for every stored event up to `until`, from the stored bytes alone."""
    digest = GENESIS
    for page in iter_stored(db, 0, until):
        for s in page:
            digest = link(digest, *s)
            yield s[0], digest
        if progress is not None:
            progress(len(page))


def head(db: ViewDB) -> tuple[int, str]:
    """The recorded chain's last position and digest (0 and 64 zeros for an empty log)."""
    rows = db.query("SELECT position, digest FROM audit_digests ORDER BY position DESC LIMIT 1")
    return (int(rows[0][0]), rows[0][1]) if rows else (0, GENESIS.hex())


def recorded(db: ViewDB, page: int = 20_000) -> Iterator[tuple[int, str]]:
    conn = db.connect()
    try:
        cur = conn.cursor()
        after = 0
        while True:
            cur.execute(db.sql("SELECT position, digest FROM audit_digests WHERE position > ? ORDER BY position LIMIT ?"),
                        (after, page))
            rows = cur.fetchall()
            if not rows:
                return
            for position, digest in rows:
                yield int(position), digest
            after = int(rows[-1][0])
    finally:
        conn.close()


def check(
    db: ViewDB,
    until: int,
    progress: Progress | None = None,
    expect: tuple[int, str] | None = None,
) -> list[str]:
    """Disagreements between the stored events and the recorded chain (first one only), and
    between the recomputed chain and a digest an auditor noted earlier (`expect` = position, hex)."""
    problems: list[str] = []
    stored = recorded(db)
    noted_seen = False
    mismatch = False
    if expect is not None and expect[0] == 0:  # the head of an empty log, as `audit digest` prints it
        noted_seen = True
        if expect[1].lower() != GENESIS.hex():
            problems.append(f"the digest at position 0 is {GENESIS.hex()}, not the noted {expect[1]}")
    for position, digest in recompute(db, until, progress):
        if expect is not None and position == expect[0]:
            noted_seen = True
            if digest.hex() != expect[1].lower():
                problems.append(
                    f"digest at position {position} is {digest.hex()}, not the noted {expect[1]}: "
                    "some event at or before it was changed"
                )
        if mismatch:
            continue
        rec = next(stored, None)
        if rec is None or rec[0] != position:
            problems.append(f"digest chain: no recorded digest for position {position}")
            mismatch = True
        elif rec[1] != digest.hex():
            problems.append(
                f"digest chain: stored event at position {position} differs from what was recorded "
                "(the event was changed after it was written)"
            )
            mismatch = True
    if expect is not None and not noted_seen:
        problems.append(f"no event at position {expect[0]} (the log ends at {until})")
    return problems
