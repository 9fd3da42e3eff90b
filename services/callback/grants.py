"""One grant over two legs: how long a bridged callback the account pays for, and when to warn.

Both legs are rated under the card's plan at the same instant. Leg A (the
subscriber) has already run up to `setup` seconds while the subscriber keyed
the destination; after the bridge both legs run together. So a bridged time
of `s` seconds costs `a.cost(setup + s) + b.cost(s)`, and the grant is the
longest `s` whose cost the available balance covers. Costs only grow with
time (`rating.rate`), so a binary search finds it exactly.

Guarantees: `bridged_seconds` returns `s` with `cost(s) <= available` and,
unless `s == cap`, `cost(s + 1) > available`; `warn_after` returns the last
second at which what is left is still at least the warning threshold.
"""

from __future__ import annotations

from collections.abc import Callable

Cost = Callable[[int], int]


def together(a: Cost, b: Cost, setup: int) -> Cost:
    """The cost of `s` bridged seconds: leg A for its setup and the bridge, leg B for the bridge."""
    return lambda s: a(setup + s) + b(s)


def longest(cost: Cost, budget: int, cap: int) -> int:
    """The longest `s` in [0, cap] with `cost(s) <= budget` (cost non-decreasing); -1 if not even 0."""
    if cost(0) > budget:
        return -1
    low, high = 0, cap
    while low < high:
        mid = (low + high + 1) // 2
        if cost(mid) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def bridged_seconds(a: Cost, b: Cost, setup: int, available: int, cap: int) -> int:
    """The longest bridged call (seconds, at most `cap`) both legs can pay for together; 0 if none."""
    return max(0, longest(together(a, b, setup), available, cap))


def warn_after(a: Cost, b: Cost, setup: int, available: int, threshold: int, granted: int) -> int:
    """Seconds into the bridge after which what is left falls under `threshold` (0: warn at once).

    Equal to `granted` when the grant never takes the account under the threshold.
    """
    found = longest(together(a, b, setup), available - threshold, granted)
    return max(0, found)
