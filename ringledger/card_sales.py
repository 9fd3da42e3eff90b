"""Which cards a sale (activation) of a serial range takes, shared by the CLI and the portal.

Guarantee: a range is sold whole or not at all. A range that reaches outside
the batch is refused; a range holding cards that are already sold, redeemed,
cancelled or locked is refused unless the caller asks for the rest
(`rest=True`), and then only the unsold cards are taken.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ledger.batches import CardBatch
from ledger.errors import InvalidRequest
from projections.db import ViewDB


def cards_to_sell(views: ViewDB, batch: CardBatch, first: int | None, last: int | None,
                  rest: bool = False) -> list[str]:
    """Numbers of the unsold cards in serials first..last (default: the whole batch), in serial order."""
    lo = 1 if first is None else first
    hi = batch.count if last is None else last
    if lo < 1 or hi < lo:
        raise InvalidRequest("the first and last serials must give a range of serials, 1 or more")
    if hi > batch.count:
        raise InvalidRequest(
            f"serials {lo}..{hi} reach outside batch {batch.name}, which holds serials 1..{batch.count}; nothing sold"
        )
    rows: list[Any] = views.query(
        "SELECT number, status FROM cards WHERE batch = ? AND serial BETWEEN ? AND ? ORDER BY serial",
        (batch.name, lo, hi),
    )
    unsold = [number for number, status in rows if status == "issued"]
    others = Counter(status for _, status in rows if status != "issued")
    if not unsold:
        raise InvalidRequest(f"no unsold cards in batch {batch.name} serials {lo}..{hi}; nothing sold")
    if others and not rest:
        held = ", ".join(f"{n} {status}" for status, n in sorted(others.items()))
        raise InvalidRequest(
            f"serials {lo}..{hi} of batch {batch.name} include cards that are not for sale ({held});"
            " ask for the rest explicitly to sell only the unsold ones; nothing sold"
        )
    return unsold
