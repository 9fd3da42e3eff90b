"""Demo data for `make run`: an account to try the hooks with, and a phone bar for the portal tour."""

from __future__ import annotations

from ledger.errors import AccountExists
from ringledger.cli.common import err_console
from ringledger.container import Container

DEMO_ACCOUNT = "8000000001"
DEMO_PHONE = "+8613800138000"
DEMO_BAR = "5550001"


def load_demo(container: Container) -> None:
    """Open the demo account (100.00, bound to +86 138 0013 8000) once; later starts keep it."""
    ledger = container.ledger
    load_demo_tariff(container)
    load_demo_bar(container)
    try:
        ledger.open_account("subscriber", "demo", number=DEMO_ACCOUNT, plan="demo", pin="123456")
    except AccountExists:
        return
    ledger.deposit(DEMO_ACCOUNT, 100_0000, "demo", memo="demo credit")
    ledger.bind(DEMO_ACCOUNT, DEMO_PHONE, "demo")
    container.catch_up()
    err_console.print(f"demo account {DEMO_ACCOUNT} (PIN 123456) bound to {DEMO_PHONE}, balance 100.0000")


def load_demo_bar(container: Container) -> None:
    """Phone bar 5550001 on tariff "demo" with a deposit of 200.00, once; its booths call with
    `"account": "5550001"`. The deposit carries an operation id, so a start cut short between
    opening and paying in completes it next time and a later start pays nothing more."""
    ledger = container.ledger
    try:
        ledger.open_account("phonebar", "demo", number=DEMO_BAR, plan="demo")
        opened = True
    except AccountExists:
        opened = False
    ledger.deposit(DEMO_BAR, 200_0000, "demo", memo="demo bar deposit", op_id="demo-bar-deposit")
    container.catch_up()
    if opened:
        err_console.print(f"demo phone bar {DEMO_BAR}, deposit 200.0000")


def load_demo_tariff(container: Container) -> None:
    """Publish `rating.demo.demo_plan()` as tariff "demo" unless a plan of that name exists."""
    from rating.demo import demo_plan
    from ringledger.charging import build_charging

    charging = build_charging(container.settings, container.ledger)
    if charging.tariff("demo") is None:
        plan = demo_plan()
        charging.publish_plan("demo", plan.rows, plan.effective_from, "demo", tz=plan.tz, fees=dict(plan.fees))
