"""Property: whatever input the ledger accepts, every view on both stores can store.

Commands are driven with arbitrary text (control characters, NUL, lone
surrogates, non-ASCII digits, long strings) and arbitrary amounts up to past
the declared maximum. Each command either succeeds or is refused with a
ledger error; then the views catch up without error, a fresh process's views
catch up too, the trial balance is zero, and each account's view balance
equals its aggregate's.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.money import MAX_AMOUNT, MoneyFormatError, parse_money
from services.charging import CallRequest
from ringledger.config import Settings
from ringledger.container import Container, build
from services.api_keys import create_key
from tests.charging_support import LOCAL, PHONE, set_up

NUMBERS = ("8000000001", "8613001", "8613002")
text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec=None, categories=("Cc", "Cs", "Nd", "Zs", "Lo")), max_size=30),
    st.sampled_from(["", "0106\x002345678", "\ud800", "\u0661\u0660.\u0665", "normal_clearing", LOCAL, PHONE]),
)
amount = st.one_of(st.integers(1, 10**8), st.integers(MAX_AMOUNT // 2, MAX_AMOUNT + 2), st.just(MAX_AMOUNT))
number = st.one_of(st.sampled_from(NUMBERS), text)
seconds = st.integers(0, 100_000)

commands = st.one_of(
    st.tuples(st.just("open"), number, st.sampled_from(["subscriber", "phonebar", "callback", "nope"]),
              st.one_of(st.none(), st.sampled_from(["demo", "nope"]), text), st.one_of(st.none(), text)),
    st.tuples(st.just("deposit"), number, amount, text),
    st.tuples(st.just("deposit_text"), number, text),
    st.tuples(st.just("adjust"), number, amount, st.booleans(), text),
    st.tuples(st.just("transfer"), number, number, amount),
    st.tuples(st.just("status"), number, st.sampled_from(["suspend", "resume", "close"]), text),
    st.tuples(st.just("bind"), number, text),
    st.tuples(st.just("retail"), number, st.one_of(st.none(), st.sampled_from(["demo", "nope"]), text)),
    st.tuples(st.just("pin"), number, text),
    st.tuples(st.just("authorize"), text, text, text, st.one_of(st.none(), number), st.one_of(st.none(), text)),
    st.tuples(st.just("end"), text, seconds, text),
    st.tuples(st.just("block"), text, text),
    st.tuples(st.just("key"), text),
)


def run(c: Container, charging: Any, command: tuple[Any, ...]) -> None:
    ledger = c.ledger
    kind, *args = command
    if kind == "open":
        ledger.open_account(args[1], "prop", number=args[0], plan=args[2], pin=args[3])
    elif kind == "deposit":
        ledger.deposit(args[0], args[1], "prop", memo=args[2])
    elif kind == "deposit_text":  # what the CLI and GraphQL do with a typed amount
        ledger.deposit(args[0], parse_money(args[1]), "prop")
    elif kind == "adjust":
        ledger.adjust(args[0], args[1] if args[2] else -args[1], "prop", args[3])
    elif kind == "transfer":
        ledger.transfer(args[0], args[1], args[2], "prop")
    elif kind == "status":
        ledger.set_status(args[0], args[1], "prop", args[2])
    elif kind == "bind":
        ledger.bind(args[0], args[1], "prop")
    elif kind == "retail":
        ledger.set_retail_plan(args[0], args[1], "prop")
    elif kind == "pin":
        ledger.verify_pin(args[0], args[1], "prop")
    elif kind == "authorize":
        charging.authorize(CallRequest(call_id=args[0], caller=args[1], callee=args[2], service="direct",
                                       account=args[3], booth=args[4]))
    elif kind == "end":
        charging.end(args[0], args[1], cause=args[2])
    elif kind == "block":
        charging.block(args[0], "prop", reason=args[1])
    elif kind == "key":
        create_key(ledger, "operator", "prop", label=args[0])


def test_any_accepted_input_projects_on_both_stores(container: Container, settings: Settings) -> None:
    charging = set_up(container, 50_0000)
    container.ledger.open_account("phonebar", "prop", number="8613001", plan="demo")

    @given(st.lists(commands, min_size=1, max_size=10))
    @examples(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    def accepted_input_projects(batch: list[tuple[Any, ...]]) -> None:
        for command in batch:
            try:
                run(container, charging, command)
            except (LedgerError, MoneyFormatError):
                pass  # a refusal: it must have changed nothing, which the balances below check
        container.catch_up()
        balances = dict(container.views.query("SELECT number, balance FROM accounts"))
        for known in NUMBERS:
            if known in balances:
                assert balances[known] == container.ledger.account(known).balance
        assert all(abs(b) <= MAX_AMOUNT for b in balances.values())
        assert container.views.query("SELECT COALESCE(SUM(balance), 0) FROM gl_balances")[0][0] == 0

    accepted_input_projects()
    # A fresh process replays every recorded event into its views without error.
    fresh = build(settings)
    try:
        fresh.catch_up()
        assert fresh.views.query("SELECT COUNT(*) FROM accounts") == container.views.query(
            "SELECT COUNT(*) FROM accounts")
    finally:
        fresh.close()
