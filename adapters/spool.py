"""Store and forward: what an adapter must report, kept on disk while the ledger cannot be reached.

A switch or gateway adapter reports answers, ends, CDRs and delivery
reports. When the ledger's store is down (the services answer
`ledger.errors.StoreUnavailable`), the report is appended to a local spool
and replayed, in the order it was spooled, once the store answers again.

API (one `Spool` per directory; one process owns a directory at a time)::

    spool = Spool("var/spool/freeswitch")       # opens or creates it, recovers after a crash
    spool.forward("end", {"call_id": …}, deliver) # deliver now, or spool if the store is down
    await spool.forward_async("end", payload, deliver_async)  # the same from an event loop
    spool.replay(deliver)                        # deliver what is spooled, oldest first
    spool.start(deliver, interval=1.0) / spool.stop()  # a thread that replays while records wait
    spool.depth, spool.oldest_age(), spool.rejected

`deliver(kind, payload)` runs the report against the services and returns
their answer; it raises `StoreUnavailable` (or a store error the services
let through) when the store cannot be reached, and any other exception when
the report itself is refused.

Guarantees:

* `forward` returns only once the report is either delivered or appended and
  fsynced: an adapter may acknowledge its peer (a 2xx to a CDR POST) then,
  and a process killed right after loses nothing;
* while anything is spooled, new reports are spooled behind it, never
  delivered past it: reports reach the ledger in the order they came;
* a record is marked done (an fsynced, atomically replaced `done` file)
  only after `deliver` returned; a replay that crashes between the two
  delivers that record again on the next start, so `deliver` must be
  idempotent (the ledger's call ids make a repeated answer, end or CDR
  change nothing);
* a record the ledger refuses for good (not a store failure) is moved to
  `rejected.jsonl` with the reason and the replay goes on: one bad report
  never blocks the others;
* a record torn by a crash in the middle of its append (no final newline)
  was never acknowledged, and is dropped on open.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from ledger.errors import StoreUnavailable
from services.store_errors import is_store_unavailable

log = structlog.get_logger("ringledger.spool")

Deliver = Callable[[str, dict[str, Any]], Any]
DeliverAsync = Callable[[str, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Record:
    seq: int
    kind: str
    payload: dict[str, Any]
    spooled_at: float


@dataclass(frozen=True)
class Spooled:
    """The answer of `forward` when the report was kept for later: its place in the spool."""

    seq: int


def unreachable(exc: BaseException) -> bool:
    """The store could not be reached (or the server is stopping): keep the report for later."""
    return is_store_unavailable(exc) or getattr(exc, "code", None) == "unavailable"


class SpoolLocked(RuntimeError):
    """Another process owns this spool directory."""


class Spool:
    LOG = "spool.jsonl"
    DONE = "done"
    REJECTED = "rejected.jsonl"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SpoolLocked(f"spool {self.dir} is in use by another process") from None
        self._mutex = threading.RLock()  # appends, marks and compaction
        self._replaying = threading.Lock()  # one replay at a time
        self._done = self._read_done()
        self._pending: list[Record] = self._recover()
        self._next = max([self._done, *(r.seq for r in self._pending)]) + 1
        self._fd = os.open(self.dir / self.LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.rejected = self._count_rejected()
        self.delivered = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- state ------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Records waiting to be delivered."""
        return len(self._pending)

    def oldest_age(self, now: float | None = None) -> float:
        """Seconds the oldest waiting record has waited (0 when none waits)."""
        with self._mutex:
            if not self._pending:
                return 0.0
            return max(0.0, (now or time.time()) - self._pending[0].spooled_at)

    def pending(self) -> list[Record]:
        with self._mutex:
            return list(self._pending)

    # --- writing ------------------------------------------------------------------

    def append(self, kind: str, payload: dict[str, Any]) -> int:
        """Keep one report; durable (fsynced) when this returns. Returns its sequence number."""
        with self._mutex:
            seq = self._next
            record = Record(seq, kind, payload, time.time())
            line = json.dumps({"seq": seq, "kind": kind, "payload": payload, "at": record.spooled_at},
                              ensure_ascii=False, separators=(",", ":")) + "\n"
            os.write(self._fd, line.encode())
            os.fsync(self._fd)
            self._next += 1
            self._pending.append(record)
        self._wake.set()
        return seq

    def forward(self, kind: str, payload: dict[str, Any], deliver: Deliver) -> Any:
        """Deliver now, or spool (durably) when the store is down or older reports still wait.

        Returns what `deliver` returned, or `Spooled(seq)`. A refusal by the
        ledger (any other exception) propagates and nothing is spooled.
        """
        if self._pending:
            return Spooled(self.append(kind, payload))
        try:
            return deliver(kind, payload)
        except Exception as exc:
            if not unreachable(exc):
                raise
            return Spooled(self.append(kind, payload))

    async def forward_async(self, kind: str, payload: dict[str, Any], deliver: DeliverAsync) -> Any:
        """`forward` for an event loop: `deliver` is a coroutine function; the fsync runs off the loop."""
        if self._pending:
            return Spooled(await asyncio.to_thread(self.append, kind, payload))
        try:
            return await deliver(kind, payload)
        except Exception as exc:
            if not unreachable(exc):
                raise
            return Spooled(await asyncio.to_thread(self.append, kind, payload))

    # --- replaying ------------------------------------------------------------------

    def replay(self, deliver: Deliver) -> int:
        """Deliver waiting records oldest first; stops at the first store failure. Returns how many were done."""
        done = 0
        with self._replaying:
            while True:
                with self._mutex:
                    if not self._pending:
                        break
                    record = self._pending[0]
                try:
                    deliver(record.kind, record.payload)
                except Exception as exc:
                    if unreachable(exc):
                        break
                    self._reject(record, exc)
                self._mark_done(record)
                done += 1
            self.delivered += done
        return done

    def start(self, deliver: Deliver, interval: float = 1.0) -> None:
        """Replay in a thread of its own: at once when a record is appended, then every `interval` s."""

        def run() -> None:
            while not self._stopping.is_set():
                self._wake.wait(interval)
                self._wake.clear()
                if self._stopping.is_set():
                    return
                if self._pending:
                    try:
                        left_before = self.depth
                        self.replay(deliver)
                        if self.depth and self.depth >= left_before:
                            self._stopping.wait(interval)  # the store is still down: do not spin
                    except Exception:  # the replayer must outlive any surprise
                        log.exception("spool_replay_failed", spool=str(self.dir))
                        self._stopping.wait(interval)

        self._stopping.clear()
        self._thread = threading.Thread(target=run, name=f"spool-{self.dir.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def close(self) -> None:
        self.stop()
        os.close(self._fd)
        os.close(self._lock_fd)

    # --- the files ------------------------------------------------------------------

    def _mark_done(self, record: Record) -> None:
        with self._mutex:
            self._write_done(record.seq)
            self._done = record.seq
            if self._pending and self._pending[0].seq == record.seq:
                self._pending.pop(0)
            if not self._pending:  # everything delivered: start the log afresh (the done mark keeps the count)
                os.ftruncate(self._fd, 0)
                os.fsync(self._fd)

    def _write_done(self, seq: int) -> None:
        tmp = self.dir / f".{self.DONE}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, str(seq).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.dir / self.DONE)
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _read_done(self) -> int:
        try:
            return int((self.dir / self.DONE).read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def _recover(self) -> list[Record]:
        """The records after the done mark; a torn last line (a crash mid-append) is cut off."""
        path = self.dir / self.LOG
        if not path.exists():
            return []
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            log.warning("spool_torn_record_dropped", spool=str(self.dir), bytes=len(data) - end)
            with open(path, "r+b") as f:
                f.truncate(end)
                os.fsync(f.fileno())
        records = []
        for line in data[:end].splitlines():
            item = json.loads(line)
            if item["seq"] > self._done:
                records.append(Record(item["seq"], item["kind"], item["payload"], item["at"]))
        return records

    def _reject(self, record: Record, exc: BaseException) -> None:
        reason = f"{getattr(exc, 'code', type(exc).__name__)}: {exc}"[:500]
        line = json.dumps({"seq": record.seq, "kind": record.kind, "payload": record.payload,
                           "at": record.spooled_at, "reason": reason}, ensure_ascii=False) + "\n"
        fd = os.open(self.dir / self.REJECTED, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        self.rejected += 1
        log.warning("spool_record_rejected", spool=str(self.dir), seq=record.seq, kind=record.kind, reason=reason)

    def _count_rejected(self) -> int:
        try:
            with open(self.dir / self.REJECTED, "rb") as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0


__all__ = ["Deliver", "DeliverAsync", "Record", "Spool", "SpoolLocked", "Spooled", "StoreUnavailable"]
