"""DESIGN's six consistency rules, each on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ledger import house
from ledger.errors import InsufficientFunds, LedgerError, VoucherAlreadyRedeemed
from ringledger.container import Container, build
from tests.support import settings_env

PHONE = "+8613800138000"


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(0..n-1) on n threads released at the same instant; return results or errors."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return fn(i)
        except LedgerError as err:
            return err

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def funded_account(c: Container, amount: int, number: str = "5550001") -> str:
    c.ledger.open_account("phonebar", "test", number=number)
    c.ledger.deposit(number, amount, "test")
    return number


def test_fifty_concurrent_debits_never_take_an_account_below_zero(container: Container) -> None:
    # A phone bar's deposit covers 20 calls of 1.00; 50 booths try to charge at once.
    number = funded_account(container, 20 * 10_000)
    results = race(50, lambda i: container.ledger.debit(number, 10_000, house.revenue("phonebar", "local"), f"booth{i}"))
    ok = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert len(ok) == 20 and len(refused) == 30
    assert container.ledger.account(number).balance == 0
    container.catch_up()
    assert container.views.query("SELECT balance FROM accounts WHERE number = ?", (number,)) == [(0,)]


def test_fifty_concurrent_holds_never_exceed_the_balance(container: Container) -> None:
    number = funded_account(container, 7 * 30_000 + 5)
    results = race(50, lambda i: container.ledger.reserve(number, f"call-{i}", 30_000, "switch"))
    assert sum(isinstance(r, dict) for r in results) == 7
    account = container.ledger.account(number)
    assert account.held == 7 * 30_000 and account.available == 5


def test_a_voucher_redeemed_by_fifty_racers_credits_once(container: Container) -> None:
    container.ledger.open_account("subscriber", "test", number="6660001")
    container.ledger.bind("6660001", PHONE, "test")
    [(_, voucher, pin)] = container.ledger.issue_batch("voucher", 1, 50_0000, "test", name="RACE")
    container.ledger.sell_cards([voucher], "voucher", 50_0000, "test")
    results = race(50, lambda i: container.ledger.redeem_voucher(voucher, pin, PHONE, f"racer{i}"))
    assert sum(isinstance(r, dict) for r in results) == 1
    assert sum(isinstance(r, VoucherAlreadyRedeemed) for r in results) == 49
    assert container.ledger.account("6660001").balance == 50_0000


def test_a_repeated_operation_id_changes_nothing_and_returns_the_first_answer(container: Container) -> None:
    number = funded_account(container, 100_000)
    first = container.ledger.debit(number, 30_000, house.ADJUSTMENTS, "test", op_id="req-1")
    again = container.ledger.debit(number, 30_000, house.ADJUSTMENTS, "test", op_id="req-1")
    assert again == first == {"number": number, "balance": 70_000, "available": 70_000}
    # The same id raced by 20 threads still debits once.
    results = race(20, lambda i: container.ledger.debit(number, 10_000, house.ADJUSTMENTS, "t", op_id="req-2"))
    assert all(r == results[0] for r in results)
    assert container.ledger.account(number).balance == 60_000


def test_an_operation_id_reused_for_another_request_is_refused(container: Container) -> None:
    number = funded_account(container, 100_000)
    container.ledger.debit(number, 30_000, house.ADJUSTMENTS, "test", op_id="req-9")
    try:
        container.ledger.debit(number, 40_000, house.ADJUSTMENTS, "test", op_id="req-9")
    except LedgerError as err:
        assert err.code == "idempotency_conflict"
    else:
        raise AssertionError("a reused id with another amount must be refused")
    assert container.ledger.account(number).balance == 70_000


def _busy_history(c: Container) -> None:
    """A bit of everything: cards, vouchers, transfers, holds, cancellations."""
    ledger = c.ledger
    ledger.open_account("subscriber", "t", number="7000001", pin="123456")
    ledger.bind("7000001", PHONE, "t")
    cards = ledger.issue_batch("callback", 5, 30_0000, "t", name="CB1")
    vouchers = ledger.issue_batch("voucher", 5, 20_0000, "t", name="VB1")
    ledger.sell_cards([n for _, n, _ in cards[:3]], "callback", 30_0000, "t")
    ledger.sell_cards([n for _, n, _ in vouchers[:4]], "voucher", 20_0000, "t")
    ledger.redeem_voucher(vouchers[0][1], vouchers[0][2], PHONE, "t")
    ledger.transfer(cards[0][1], "7000001", 5_0000, "t")
    ledger.reserve(cards[1][1], "h1", 10_0000, "t")
    ledger.settle(cards[1][1], "h1", 3_2100, house.revenue("callback", "national"), "t")
    ledger.reserve(cards[1][1], "h2", 1_0000, "t")
    ledger.cancel_card(cards[2][1], "t", "lost")
    ledger.cancel_card(vouchers[1][1], "t", "damaged")
    ledger.adjust("7000001", -1_0000, "t", "goodwill reversed")
    ledger.unbind(PHONE, "t")


def test_views_rebuilt_from_zero_equal_the_live_views(container: Container) -> None:
    from projections.runner import Projector

    _busy_history(container)
    container.catch_up()
    scratch = Projector(container.ledger, container.views, prefix="scratch_")
    try:
        scratch.run()
        live, rebuilt = container.projector.dump(), scratch.dump()
        assert live["gl_postings"] and live["cards"] and live["accounts"]
        assert rebuilt == live
    finally:
        scratch.drop()
        scratch.close()


def test_the_trial_balance_is_zero_after_every_event(container: Container) -> None:
    from projections.general_ledger import GeneralLedger
    from projections.runner import Projector

    _busy_history(container)
    last = container.ledger.recorder.max_notification_id()
    gl = Projector(container.ledger, container.views, [GeneralLedger], prefix="tb_")
    try:
        for position in range(1, last + 1):
            gl.run(stop=position)
            assert container.views.query("SELECT COALESCE(SUM(balance), 0) FROM tb_gl_balances") == [(0,)]
        assert container.views.query("SELECT COUNT(*) FROM tb_gl_balances WHERE balance != 0")[0][0] > 3
    finally:
        gl.drop()
        gl.close()


WRITER = """
import sys
from ringledger.container import build
c = build()
c.ledger.open_account("phonebar", "t", number="8000001")
print("ready", flush=True)
i = 0
while True:
    i += 1
    c.ledger.deposit("8000001", 1, "t", op_id=f"dep-{i}")
    print(i, flush=True)
"""


def test_an_acknowledged_command_survives_killing_the_process(settings) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER], stdout=subprocess.PIPE, env=settings_env(settings), text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    acked = 0
    while acked < 40:
        acked = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # Acknowledgements printed before the kill but not yet read count too.
    for line in proc.stdout.read().split():
        acked = int(line)
    c = build(settings)
    try:
        # Every acknowledged deposit is there; at most the one in flight may follow it.
        assert c.ledger.account("8000001").balance in (acked, acked + 1)
    finally:
        c.close()


DEBITER = """
import sys
from ledger import house
from ledger.errors import InsufficientFunds
from ringledger.container import build
c = build()
ok = 0
for _ in range(int(sys.argv[1])):
    c.ledger.account("5550009")  # warm this process's cache, so later debits start from a cached copy
    try:
        c.ledger.debit("5550009", 10_000, house.revenue("phonebar", "local"), "booth")
        ok += 1
    except InsufficientFunds:
        pass
print(ok)
"""


def test_debits_from_four_processes_never_take_an_account_below_zero(container: Container, settings) -> None:
    # Several API processes share one store; each caches the account. A stale copy must never overdraw.
    funded_account(container, 25 * 10_000, number="5550009")
    procs = [
        subprocess.Popen([sys.executable, "-c", DEBITER, "10"], stdout=subprocess.PIPE, env=settings_env(settings),
                         text=True)
        for _ in range(4)
    ]
    succeeded = sum(int(p.communicate(timeout=120)[0].strip()) for p in procs)
    assert succeeded == 25
    assert container.ledger.account("5550009").balance == 0
