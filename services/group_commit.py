"""Group commit: many concurrent hook commands, one transaction.

Requests put their command on a queue and wait; one worker thread takes
everything queued (up to `max_size`, waiting at most `window` seconds for
more after the first) and runs it through `Ledger.execute_many`, which
saves the whole group in one transaction. While a group is being written the
next one gathers, so the group size follows the load with no fixed delay.

Guarantees: a waiter is answered only after the transaction holding its
command has committed (durable) or failed; each waiter gets its own result
or its own `LedgerError`; an unexpected error in one command does not fail
the others (the group is re-run one command at a time). With the store gone
nobody waits past `deadline` seconds for the store to come back: a command
still queued then is withdrawn (never run) and answered `StoreUnavailable`
(a 503), and a group whose transaction failed for want of the store is
answered `StoreUnavailable` at once, not re-run command by command. While
the store is down, one group every `probe_interval` seconds tries it; the
others are answered `StoreUnavailable` without waiting on it, so a switch
hears "unavailable" in about the store's own timeout at most.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ledger.application import Command, Ledger
from ledger.errors import LedgerError, StoreUnavailable
from services.store_errors import is_store_unavailable, unavailable

Outcome = dict[str, Any] | LedgerError
Waiter = tuple[Command, tuple[str, str] | None, asyncio.AbstractEventLoop | None, Any]


class Stopped(LedgerError):
    code = "unavailable"


class GroupCommitter:
    def __init__(self, ledger: Ledger, *, max_size: int = 256, window: float = 0.0,
                 on_flush: Callable[[int, float], None] | None = None, deadline: float = 2.0) -> None:
        self.ledger = ledger
        self.deadline = deadline
        self.probe_interval = min(0.5, deadline)
        self._down_since: float | None = None
        self._next_probe = 0.0
        self.max_size = max(1, max_size)
        self.window = max(0.0, window)
        self.on_flush = on_flush
        self._queue: deque[Waiter] = deque()
        self._ready = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.groups = 0
        self.commands = 0

    # --- submitting -----------------------------------------------------------

    async def submit(self, command: Command, op: tuple[str, str] | None = None) -> Outcome:
        """Queue `command`; resolves after its group's transaction (result or LedgerError)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        waiter: Waiter = (command, op, loop, future)
        self._put(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.deadline)
        except TimeoutError:
            if self._withdraw(waiter):
                return StoreUnavailable("the ledger store did not answer in time; nothing was changed, retry")
            return await future  # its transaction is under way: its outcome is the answer

    def _withdraw(self, waiter: Waiter) -> bool:
        """Take a waiter off the queue if no group has taken it yet (then it never runs)."""
        with self._ready:
            try:
                self._queue.remove(waiter)
            except ValueError:
                return False
            return True

    def submit_wait(self, command: Command, op: tuple[str, str] | None = None) -> Outcome:
        """The same from a plain thread (CLI, scheduler, tests)."""
        future: Future[Outcome] = Future()
        self._put((command, op, None, future))
        return future.result()

    def _put(self, waiter: Waiter) -> None:
        with self._ready:
            if self._stopping:
                raise Stopped("the server is shutting down; retry")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()
            self._queue.append(waiter)
            self._ready.notify()

    def stop(self) -> None:
        """Finish what is queued, then stop the worker."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)

    # --- the worker ------------------------------------------------------------

    def _take(self) -> list[Waiter]:
        with self._ready:
            while not self._queue:
                if self._stopping:
                    return []
                self._ready.wait()
            if self.window and len(self._queue) < self.max_size:
                deadline = time.monotonic() + self.window
                while len(self._queue) < self.max_size and not self._stopping:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._ready.wait(left)
            size = min(self.max_size, len(self._queue))
            return [self._queue.popleft() for _ in range(size)]

    def _run(self) -> None:
        while True:
            group = self._take()
            if not group:
                return
            started = time.perf_counter()
            if self._down_since is not None and time.monotonic() < self._next_probe:
                _answer(group, [StoreUnavailable("the ledger store is not answering; nothing was changed, retry")]
                        * len(group))
                continue
            outcomes = self._execute(group)
            if outcomes and isinstance(outcomes[0], StoreUnavailable) and all(o is outcomes[0] for o in outcomes):
                self._down_since = self._down_since or time.monotonic()
                self._next_probe = time.monotonic() + self.probe_interval
            else:
                self._down_since = None
            self.groups += 1
            self.commands += len(group)
            if self.on_flush is not None:
                self.on_flush(len(group), time.perf_counter() - started)
            _answer(group, outcomes)

    def _execute(self, group: list[Waiter]) -> list[Outcome | BaseException]:
        try:
            return list(self.ledger.execute_many([(c, op) for c, op, _, _ in group]))
        except Exception as exc:  # one bad command must not fail its neighbours: run each alone
            if is_store_unavailable(exc):
                return [unavailable(exc)] * len(group)
            outcomes: list[Outcome | BaseException] = []
            for command, op, _, _ in group:
                try:
                    outcomes.append(self.ledger.execute(command, op))
                except LedgerError as err:
                    outcomes.append(err)
                except Exception as err:
                    outcomes.append(unavailable(err) if is_store_unavailable(err) else err)
            return outcomes


def _answer(group: list[Waiter], outcomes: list[Outcome | BaseException]) -> None:
    """Resolve every waiter; one wake-up per event loop, not one per request."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any]]] = {}
    for (_, _, loop, future), outcome in zip(group, outcomes):
        if loop is None:
            if isinstance(outcome, BaseException) and not isinstance(outcome, LedgerError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        else:
            by_loop.setdefault(loop, []).append((future, outcome))
    for loop, pairs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, pairs)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


def _resolve(pairs: list[tuple[asyncio.Future[Outcome], Any]]) -> None:
    for future, outcome in pairs:
        if future.done():  # the request was cancelled (client went away)
            continue
        if isinstance(outcome, BaseException) and not isinstance(outcome, LedgerError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
