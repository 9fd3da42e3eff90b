"""Group commit against a fake ledger that records the groups it was asked to save."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

from ledger.errors import InsufficientFunds, LedgerError, StoreUnavailable
from services.group_commit import GroupCommitter


class FakeLedger:
    """Records each group; `gate` holds the first group (`saving` says it is held) so others queue behind it."""

    def __init__(self) -> None:
        self.groups: list[int] = []
        self.committed: list[Any] = []
        self.saving = threading.Event()
        self.gate = threading.Event()

    def execute_many(self, commands: list[tuple[Any, Any]]) -> list[Any]:
        if not self.groups:
            self.saving.set()
            assert self.gate.wait(10), "the test never opened the gate"
        self.groups.append(len(commands))
        results = [command(None) for command, _ in commands]  # a raise fails the whole group
        self.committed.extend(results)
        return results

    def execute(self, command: Any, op: Any = None) -> Any:
        self.groups.append(1)
        result = command(None)
        self.committed.append(result)
        return result


class CountingCommitter(GroupCommitter):
    """Signals `queued` once `expected` commands have been put on its queue."""

    def __init__(self, ledger: Any, expected: int, **kwargs: Any) -> None:
        super().__init__(ledger, **kwargs)
        self.expected, self.count, self.queued = expected, 0, threading.Event()

    def _put(self, waiter: Any) -> None:
        super()._put(waiter)
        self.count += 1
        if self.count == self.expected:
            self.queued.set()


async def reached(event: threading.Event) -> None:
    """Wait for `event` without blocking the loop that has to make it happen."""
    assert await asyncio.to_thread(event.wait, 10)


def test_requests_that_arrive_while_a_group_is_saving_share_the_next_transaction() -> None:
    ledger = FakeLedger()
    committer = CountingCommitter(ledger, 101, max_size=256)

    async def main() -> list[Any]:
        first = asyncio.ensure_future(committer.submit(lambda uow: {"n": 0}))
        await reached(ledger.saving)  # the worker is now holding group 1
        rest = [asyncio.ensure_future(committer.submit(lambda uow, i=i: {"n": i})) for i in range(1, 101)]
        await reached(committer.queued)  # all 100 wait behind it
        ledger.gate.set()
        return await asyncio.gather(first, *rest)

    results = asyncio.run(main())
    committer.stop()
    assert [r["n"] for r in results] == list(range(101))
    assert ledger.groups == [1, 100]


def test_a_group_is_never_larger_than_its_limit() -> None:
    ledger = FakeLedger()
    committer = CountingCommitter(ledger, 21, max_size=8)

    async def main() -> None:
        first = asyncio.ensure_future(committer.submit(lambda uow: {}))
        await reached(ledger.saving)
        rest = [asyncio.ensure_future(committer.submit(lambda uow: {})) for _ in range(20)]
        await reached(committer.queued)
        ledger.gate.set()
        await asyncio.gather(first, *rest)

    asyncio.run(main())
    committer.stop()
    assert ledger.groups == [1, 8, 8, 4]


def test_a_broken_command_fails_alone_and_its_neighbours_are_answered() -> None:
    ledger = FakeLedger()
    ledger.gate.set()
    committer = GroupCommitter(ledger)  # type: ignore[arg-type]

    def broken(uow: Any) -> dict[str, Any]:
        raise ZeroDivisionError("bug")

    async def main() -> list[Any]:
        return await asyncio.gather(
            committer.submit(lambda uow: {"ok": 1}), committer.submit(broken), committer.submit(lambda uow: {"ok": 2}),
            return_exceptions=True,
        )

    results = asyncio.run(main())
    committer.stop()
    assert results[0] == {"ok": 1} and results[2] == {"ok": 2}
    assert isinstance(results[1], ZeroDivisionError)


def test_a_refusal_is_returned_to_its_own_waiter_as_a_value() -> None:
    class Refusing(FakeLedger):
        def execute_many(self, commands: list[tuple[Any, Any]]) -> list[Any]:
            return [InsufficientFunds("no money") for _ in commands]

    committer = GroupCommitter(Refusing())  # type: ignore[arg-type]
    outcome = committer.submit_wait(lambda uow: {})
    committer.stop()
    assert isinstance(outcome, LedgerError) and outcome.code == "insufficient_funds"


def test_a_command_still_queued_at_the_deadline_is_withdrawn_and_never_runs() -> None:
    # The store hangs on the first group; the second request gives up at the deadline.
    ledger = FakeLedger()
    committer = GroupCommitter(ledger, max_size=1, deadline=0.3)  # type: ignore[arg-type]

    async def main() -> list[Any]:
        first = asyncio.ensure_future(committer.submit(lambda uow: {"ok": 1}))
        await asyncio.sleep(0.05)
        second = await committer.submit(lambda uow: {"ok": 2})
        ledger.gate.set()
        return [await first, second]

    first, second = asyncio.run(main())
    committer.stop()
    assert first == {"ok": 1}  # already under way: its outcome, not a guess
    assert isinstance(second, StoreUnavailable) and second.code == "unavailable"
    assert ledger.committed == [{"ok": 1}]


def test_a_group_that_fails_for_want_of_the_store_is_answered_unavailable_without_rerunning() -> None:
    class Gone(FakeLedger):
        def execute_many(self, commands: list[tuple[Any, Any]]) -> list[Any]:
            self.groups.append(len(commands))
            raise sqlite3.OperationalError("database is locked")

    ledger = Gone()
    committer = GroupCommitter(ledger)  # type: ignore[arg-type]
    outcome = committer.submit_wait(lambda uow: {"ok": 1})
    committer.stop()
    assert isinstance(outcome, StoreUnavailable)
    assert ledger.groups == [1]  # not run again one by one


def test_while_the_store_is_down_only_a_probe_waits_on_it() -> None:
    class Gone(FakeLedger):
        def execute_many(self, commands: list[tuple[Any, Any]]) -> list[Any]:
            self.groups.append(len(commands))
            raise sqlite3.OperationalError("database is locked")

    ledger = Gone()
    committer = GroupCommitter(ledger, deadline=60)  # type: ignore[arg-type]
    first = committer.submit_wait(lambda uow: {"ok": 1})
    second = committer.submit_wait(lambda uow: {"ok": 2})  # within the probe interval
    committer.stop()
    assert isinstance(first, StoreUnavailable) and isinstance(second, StoreUnavailable)
    assert ledger.groups == [1]
