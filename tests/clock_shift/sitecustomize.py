"""Run every Python process at another wall-clock time: `make test-at AT=2026-12-06T02:00:00+08:00`.

On `PYTHONPATH`, this module is imported when any Python process starts, the
test runner and every server it spawns alike. With `RINGLEDGER_TEST_AT` set it
moves the wall clock (`time.time`, `datetime.now`, `date.today` …) to that
instant and lets it tick on; the monotonic clock is left alone, so timeouts,
sleeps and connection pools behave as they do at any hour. It shows that the
suite passes at any hour of the day (02:00 and 14:00 Beijing in the closing
checks); it is not part of the product.
"""

import os

_AT = os.environ.get("RINGLEDGER_TEST_AT", "")
if _AT:
    from datetime import datetime

    import time_machine

    _start = datetime.fromisoformat(_AT)
    if _start.tzinfo is None:
        raise SystemExit("RINGLEDGER_TEST_AT needs a UTC offset, e.g. 2026-12-06T02:00:00+08:00")
    time_machine.travel(_start, tick=True).start()
