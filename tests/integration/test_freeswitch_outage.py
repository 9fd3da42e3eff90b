"""Store and forward: the ledger's store goes away while FreeSWITCH calls keep ending, then comes back.

On PostgreSQL the test's own database refuses connections; on SQLite another
connection holds an exclusive lock (`tests/fault_support.Store.outage`).
Hangup events and JSON CDRs that arrive meanwhile are spooled on disk
(a CDR is answered 202 only once fsynced), the spool is closed and opened
again as after a restart, and once the store is back every end reaches the
ledger exactly once, in order: each call charged once for its billsec, the
trial balance zero.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.spool import Spool
from ringledger.container import build
from tests.charging_support import trial_balance
from tests.fault_support import Store, store  # noqa: F401  (fixture)
from tests.freeswitch_peer import Call, form_body
from tests.freeswitch_support import Rig, run

#: billsec of each call, and what it costs at 0.10 a started minute
BILLSEC = [30, 61, 125, 59, 180, 10]
COST = [1000, 2000, 3000, 1000, 3000, 1000]


def test_every_end_reaches_the_ledger_once_after_an_outage_and_the_books_balance(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    container = build(store.settings)

    async def scenario(rig: Rig) -> None:
        calls: list[Call] = []
        for _ in BILLSEC:
            call = rig.call()
            await rig.park(call)
            await rig.event(call, "channel_answer.txt")
            calls.append(call)
        # two calls end while the ledger is up: charged at once
        for n in (0, 1):
            await rig.event(calls[n], "channel_hangup_complete.txt", billsec=BILLSEC[n])
            assert (await rig.post_cdr(calls[n].cdr(BILLSEC[n]))).status_code == 200

        outage = store.outage()
        outage.__enter__()
        try:
            # calls 2-4 end during the outage: their hangup events are spooled ...
            for n in (2, 3, 4):
                await rig.event(calls[n], "channel_hangup_complete.txt", billsec=BILLSEC[n])
            assert rig.spool.depth == 3
            # ... and so are their CDRs, answered 202 only once on disk (raw JSON and the cdr= form)
            spooled = await rig.post_cdr(calls[2].cdr(BILLSEC[2]))
            form = await rig.post_cdr(form_body(calls[3].cdr(BILLSEC[3])), "application/x-www-form-urlencoded")
            assert (spooled.status_code, spooled.json()["spooled"]) == (202, True)
            assert (form.status_code, form.json()["spooled"]) == (202, True)
            assert rig.spool.depth == 5
            # a new call cannot be authorized: it is hung up at park, it fails closed
            newcomer = rig.call()
            commands = await rig.park(newcomer)
            assert commands[-1] == f"sendmsg {newcomer.uuid}\ncall-command: hangup\nhangup-cause: TEMPORARY_FAILURE"
            # a CDR that can be neither recorded nor spooled (the disk is full) gets a 503: the switch retries
            with monkeypatch.context() as m:
                m.setattr(rig.spool, "append", _disk_full)
                refused = await rig.post_cdr(calls[4].cdr(BILLSEC[4]))
            assert refused.status_code == 503 and refused.json()["error"] == "unavailable"
            assert rig.spool.depth == 5

            # the adapter restarts while the store is still down: the spool is read back from disk
            rig.reports.stop()
            rig.spool.close()
            rig.reports.spool = Spool(rig.spool.dir)
            assert [r.payload["call_id"] for r in rig.spool.pending()] == [
                calls[2].call_id, calls[3].call_id, calls[4].call_id, calls[2].call_id, calls[3].call_id]
            rig.reports.start(interval=0.05)
            await asyncio.sleep(0.3)
            assert rig.spool.depth == 5  # the store is still down: nothing delivered, nothing lost
        finally:
            outage.__exit__(None, None, None)

        # the store is back: the spool drains by itself, in order
        await rig.settle(lambda: rig.spool.depth == 0, seconds=30)
        assert rig.spool.rejected == 0
        # the CDR the switch retries after the 503, and the last call ending normally
        assert (await rig.post_cdr(calls[4].cdr(BILLSEC[4]))).status_code == 200
        await rig.event(calls[5], "channel_hangup_complete.txt", billsec=BILLSEC[5])
        assert (await rig.post_cdr(form_body(calls[5].cdr(BILLSEC[5])),
                                   "application/x-www-form-urlencoded")).status_code == 200
        for n, call in enumerate(calls):
            session = rig.session(call)
            assert (session.status, session.billsec, session.charged) == ("ended", BILLSEC[n], COST[n]), n
        assert rig.balance() == 100_0000 - sum(COST)

    try:
        run(container, tmp_path, scenario)
        container.catch_up()
        rows = container.views.query("SELECT status, billsec, charged FROM cdrs WHERE status = 'ended'"
                                     " ORDER BY billsec")
        assert sorted((r[1], r[2]) for r in rows) == sorted(zip(BILLSEC, COST))
        assert trial_balance(container) == 0
        revenue = container.views.query("SELECT account, balance FROM gl_balances")
        assert sum(int(b) for a, b in revenue if a.startswith("house:revenue")) == sum(COST)  # the revenue booked once per call
    finally:
        container.close()


def _disk_full(kind: str, payload: dict[str, object]) -> int:
    raise OSError(28, "No space left on device")


def test_a_replay_killed_halfway_is_replayed_again_and_charges_each_call_once(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    container = build(store.settings)

    async def scenario(rig: Rig) -> None:
        calls = []
        for _ in range(3):
            call = rig.call()
            await rig.park(call)
            await rig.event(call, "channel_answer.txt")
            calls.append(call)
        rig.reports.stop()  # ends wait in the spool, as after an outage
        for n, call in enumerate(calls):
            rig.spool.append("end", {"call_id": call.call_id, "billsec": BILLSEC[n], "cause": "normal_clearing",
                                     "ended_at": (call.answered + timedelta(seconds=BILLSEC[n])).isoformat()})
        marked: list[int] = []
        real = rig.spool._write_done

        def killed_on_second(seq: int) -> None:  # the second end is committed, then the process dies
            marked.append(seq)
            if len(marked) == 2:
                raise SystemExit("killed")
            real(seq)

        with monkeypatch.context() as m:
            m.setattr(rig.spool, "_write_done", killed_on_second)
            with pytest.raises(SystemExit):
                await asyncio.to_thread(rig.spool.replay, rig.reports.deliver)
        assert rig.session(calls[1]).status == "ended"  # delivered, but not marked done
        rig.spool.close()
        rig.reports.spool = Spool(rig.spool.dir)  # the restart reads the spool back
        assert [r.payload["call_id"] for r in rig.spool.pending()] == [calls[1].call_id, calls[2].call_id]
        rig.reports.start(interval=0.05)
        await rig.settle(lambda: rig.spool.depth == 0)
        assert rig.spool.rejected == 0
        for n, call in enumerate(calls):
            assert (rig.session(call).status, rig.session(call).charged) == ("ended", COST[n])
        assert rig.balance() == 100_0000 - sum(COST[:3])

    try:
        run(container, tmp_path, scenario)
        assert trial_balance(container) == 0
    finally:
        container.close()
