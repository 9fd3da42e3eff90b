"""The store-and-forward spool on its own: order, durability across a restart, a torn append, refusals."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from adapters.spool import Spool, Spooled, SpoolLocked
from ledger.charging import CallNotFound
from ledger.errors import StoreUnavailable


class Ledger:
    """A ledger that is up or down, and remembers what reached it (idempotent per call id)."""

    def __init__(self) -> None:
        self.up = True
        self.received: list[tuple[str, str]] = []
        self.ended: dict[str, int] = {}

    def deliver(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.up:
            raise StoreUnavailable("the ledger store is not answering")
        if payload.get("call_id") == "unknown":
            raise CallNotFound("no call unknown")
        self.received.append((kind, payload["call_id"]))
        if kind == "end":
            self.ended.setdefault(payload["call_id"], payload["billsec"])
        return {"ok": payload["call_id"]}


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


def test_a_report_is_delivered_at_once_while_the_ledger_is_up(tmp_path: Path, ledger: Ledger) -> None:
    spool = Spool(tmp_path)
    assert spool.forward("end", {"call_id": "c1", "billsec": 5}, ledger.deliver) == {"ok": "c1"}
    assert spool.depth == 0 and ledger.received == [("end", "c1")]
    spool.close()


def test_reports_are_kept_while_the_ledger_is_down_and_replayed_in_order(tmp_path: Path, ledger: Ledger) -> None:
    spool = Spool(tmp_path)
    ledger.up = False
    assert spool.forward("answer", {"call_id": "c1"}, ledger.deliver) == Spooled(1)
    ledger.up = True
    # the ledger is back, but an older report waits: this one queues behind it, never overtakes it
    assert spool.forward("end", {"call_id": "c1", "billsec": 7}, ledger.deliver) == Spooled(2)
    assert ledger.received == []
    assert spool.replay(ledger.deliver) == 2
    assert ledger.received == [("answer", "c1"), ("end", "c1")] and spool.depth == 0
    # once empty, reports go straight through again
    assert spool.forward("end", {"call_id": "c2", "billsec": 1}, ledger.deliver) == {"ok": "c2"}
    spool.close()


def test_a_replay_stops_at_the_first_store_failure_and_goes_on_later(tmp_path: Path, ledger: Ledger) -> None:
    spool = Spool(tmp_path)
    for n in range(3):
        spool.append("end", {"call_id": f"c{n}", "billsec": n})
    ledger.up = False
    assert spool.replay(ledger.deliver) == 0 and spool.depth == 3
    ledger.up = True
    assert spool.replay(ledger.deliver) == 3
    assert [c for _, c in ledger.received] == ["c0", "c1", "c2"]
    spool.close()


def test_spooled_reports_survive_a_restart(tmp_path: Path, ledger: Ledger) -> None:
    spool = Spool(tmp_path)
    spool.append("end", {"call_id": "c1", "billsec": 3})
    spool.append("end", {"call_id": "c2", "billsec": 4})
    spool.close()  # the process stops with both waiting
    again = Spool(tmp_path)
    assert [r.payload["call_id"] for r in again.pending()] == ["c1", "c2"]
    assert again.append("end", {"call_id": "c3", "billsec": 5}) == 3  # numbering goes on
    again.replay(ledger.deliver)
    again.close()
    assert Spool(tmp_path).depth == 0  # and what was delivered is not delivered again after the next start


def test_a_replay_that_crashes_halfway_delivers_the_rest_again_and_charges_once(
        tmp_path: Path, ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path)
    for n in range(4):
        spool.append("end", {"call_id": f"c{n}", "billsec": n})
    real = spool._write_done
    calls = []

    def crash_on_third(seq: int) -> None:  # the process dies after delivering c2, before marking it done
        calls.append(seq)
        if len(calls) == 3:
            raise SystemExit("killed")
        real(seq)

    monkeypatch.setattr(spool, "_write_done", crash_on_third)
    with pytest.raises(SystemExit):
        spool.replay(ledger.deliver)
    spool.close()
    restarted = Spool(tmp_path)
    assert [r.payload["call_id"] for r in restarted.pending()] == ["c2", "c3"]
    restarted.replay(ledger.deliver)
    assert [c for _, c in ledger.received] == ["c0", "c1", "c2", "c2", "c3"]  # c2 twice: the ledger's id dedups
    assert ledger.ended == {"c0": 0, "c1": 1, "c2": 2, "c3": 3}
    restarted.close()


def test_an_append_torn_by_a_crash_was_never_acknowledged_and_is_dropped(tmp_path: Path, ledger: Ledger) -> None:
    spool = Spool(tmp_path)
    spool.append("end", {"call_id": "c1", "billsec": 3})
    spool.close()
    with open(tmp_path / Spool.LOG, "ab") as f:
        f.write(b'{"seq":2,"kind":"end","payl')
    again = Spool(tmp_path)
    assert [r.payload["call_id"] for r in again.pending()] == ["c1"]
    assert again.append("end", {"call_id": "c2", "billsec": 1}) == 2
    again.close()
    assert [r.payload["call_id"] for r in Spool(tmp_path).pending()] == ["c1", "c2"]


def test_a_report_the_ledger_refuses_for_good_is_set_aside_and_the_others_go_on(
        tmp_path: Path, ledger: Ledger) -> None:
    spool = Spool(tmp_path)
    spool.append("end", {"call_id": "unknown", "billsec": 1})
    spool.append("end", {"call_id": "c1", "billsec": 2})
    assert spool.replay(ledger.deliver) == 2
    assert ledger.received == [("end", "c1")] and spool.rejected == 1
    rejected = (tmp_path / Spool.REJECTED).read_text()
    assert '"call_id": "unknown"' in rejected and '"reason": "unknown_call: no call unknown"' in rejected
    spool.close()
    assert Spool(tmp_path).rejected == 1


def test_a_refusal_on_the_direct_path_propagates_and_spools_nothing(tmp_path: Path, ledger: Ledger) -> None:
    spool = Spool(tmp_path)
    with pytest.raises(CallNotFound):
        spool.forward("end", {"call_id": "unknown", "billsec": 1}, ledger.deliver)
    assert spool.depth == 0
    spool.close()


def test_the_spool_file_is_durable_before_forward_returns(tmp_path: Path, ledger: Ledger) -> None:
    spool = Spool(tmp_path)
    ledger.up = False
    spool.forward("end", {"call_id": "c9", "billsec": 9}, ledger.deliver)
    # what another process would read right now, without this one's help
    assert b'"call_id":"c9"' in (tmp_path / Spool.LOG).read_bytes()
    assert oct(os.stat(tmp_path / Spool.LOG).st_mode & 0o777) == "0o600"
    spool.close()


def test_one_process_owns_a_spool_directory(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    with pytest.raises(SpoolLocked):
        Spool(tmp_path)
    spool.close()
    Spool(tmp_path).close()


def test_the_replayer_thread_delivers_what_waits_once_the_ledger_is_back(tmp_path: Path, ledger: Ledger) -> None:
    async def scenario() -> None:
        spool = Spool(tmp_path)
        ledger.up = False

        async def deliver(kind: str, payload: dict[str, Any]) -> Any:
            return ledger.deliver(kind, payload)

        assert isinstance(await spool.forward_async("end", {"call_id": "c1", "billsec": 1}, deliver), Spooled)
        spool.start(ledger.deliver, interval=0.02)
        await asyncio.sleep(0.1)
        assert spool.depth == 1 and spool.oldest_age() > 0
        ledger.up = True
        for _ in range(200):
            if not spool.depth:
                break
            await asyncio.sleep(0.02)
        assert spool.depth == 0 and ledger.received == [("end", "c1")] and spool.oldest_age() == 0
        spool.close()

    asyncio.run(scenario())
