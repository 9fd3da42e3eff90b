"""`ringledger accounts …` and `ringledger ledger …`."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.money import format_money
from ledger.permits import CATEGORIES
from ringledger.cli.common import (
    actor,
    container,
    emit,
    fail,
    money,
    positive_money,
    progress_bar,
    secret,
    show_money,
)
from ringledger.phones import to_e164
from ringledger.subscriptions import build_subscriptions

accounts = typer.Typer(help="Customer accounts: open, show, bind numbers, move money.", no_args_is_help=True)
books = typer.Typer(help="The general ledger and its views.", no_args_is_help=True)


@accounts.command("open")
def open_account(
    kind: Annotated[str, typer.Option(help="subscriber, callback or phonebar")] = "subscriber",
    number: Annotated[str | None, typer.Option(help="Account number (default: a random 10-digit one).")] = None,
    plan: Annotated[str | None, typer.Option(help="Tariff plan name.")] = None,
    pin: Annotated[str | None, typer.Option(help="6-10 digit PIN (stored only as a keyed hash).")] = None,
    op_id: Annotated[str | None, typer.Option(help="Idempotency key.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Open a prepaid account."""
    with container() as c:
        emit(show_money(c.ledger.open_account(kind, actor(), number=number, plan=plan, pin=pin, op_id=op_id)), as_json)


@accounts.command("show")
def show(number: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Balance, holds, bound numbers and status of an account."""
    with container() as c:
        account = c.ledger.account(number)
        summary = show_money(account.summary())
        summary["holds"] = {h: format_money(v[0]) for h, v in account.holds.items()}
        summary["permissions"] = account.permissions
        emit(summary, as_json)


@accounts.command("bind")
def bind(number: str, phone: str) -> None:
    """Bind a phone number to an account (a number belongs to one account at a time)."""
    with container() as c:
        emit(show_money(c.ledger.bind(number, to_e164(phone), actor())), False)


@accounts.command("retail-plan")
def retail_plan(
    number: str,
    plan: Annotated[str | None, typer.Argument(help="Tariff name; omit to stop retail pricing.")] = None,
) -> None:
    """Name the tariff a phone bar charges its walk-in customers; booth calls are then priced at retail too."""
    with container() as c:
        emit(show_money(c.ledger.set_retail_plan(number, plan, actor())), False)


def _list(text: str | None) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()] if text else []


@accounts.command("permissions")
def permissions(
    number: str,
    categories: Annotated[str | None, typer.Option(
        help="Comma-separated: local, national, mobile, hmt, international (default: all).")] = None,
    allow: Annotated[str | None, typer.Option(help="Prefixes always allowed, comma-separated.")] = None,
    deny: Annotated[str | None, typer.Option(help="Prefixes never allowed, comma-separated (wins over --allow).")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every limit: the account may dial anything.")] = False,
) -> None:
    """Set what an account may dial (replaces its permissions); a refused call answers `not_permitted`."""
    if clear and (categories is not None or allow is not None or deny is not None):
        fail("--clear takes no --categories, --allow or --deny")
    if not clear and categories is None and allow is None and deny is None:
        fail("give --categories, --allow or --deny, or --clear")
    rules = None if clear else {
        "categories": _list(categories) if categories is not None else list(CATEGORIES),
        "allow": _list(allow), "deny": _list(deny)}
    with container() as c:
        emit(show_money(c.ledger.set_call_permissions(number, rules, actor())), False)


@accounts.command("unbind")
def unbind(phone: str) -> None:
    """Release a phone number from its account."""
    with container() as c:
        emit(show_money(c.ledger.unbind(to_e164(phone), actor())), False)


@accounts.command("transfer")
def transfer(
    source: str,
    target: str,
    amount: str,
    op_id: Annotated[str | None, typer.Option(help="Idempotency key.")] = None,
) -> None:
    """Move balance from one account or card to another (资费转移)."""
    value = positive_money(amount)
    with container() as c:
        result = c.ledger.transfer(source, target, value, actor(), op_id=op_id)
        emit({"from": show_money(result["from"]), "to": show_money(result["to"]), "amount": format_money(value)},
             False)


@accounts.command("adjust")
def adjust(
    number: str,
    amount: Annotated[str, typer.Argument(help="Signed amount: 5.00 credits; a debit needs `--`: adjust N --reason R -- -5.00")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the event).")],
    op_id: Annotated[str | None, typer.Option(help="Idempotency key.")] = None,
) -> None:
    """Operator adjustment against the house adjustments account."""
    value = money(amount)
    with container() as c:
        emit(show_money(c.ledger.adjust(number, value, actor(), reason, op_id=op_id)), False)


@accounts.command("deposit")
def deposit(
    number: str,
    amount: str,
    op_id: Annotated[str | None, typer.Option(help="Idempotency key.")] = None,
) -> None:
    """Cash paid in (a phone bar's deposit, a subscriber's top-up at the counter).

    Suspended subscriptions the new balance can pay are resumed at once, their arrears paid (each printed)."""
    value = positive_money(amount)
    with container() as c:
        emit(show_money(c.ledger.deposit(number, value, actor(), op_id=op_id)), False)
        for resumed in build_subscriptions(c).settle_arrears(number):
            emit({"resumed": resumed["service"], "account": number, "paid": format_money(resumed["paid"]),
                  "charged": resumed["charged"], "balance": format_money(resumed["balance"])}, True)


@accounts.command("status")
def status(
    number: str,
    action: Annotated[str, typer.Argument(help="suspend, resume or close")],
    reason: Annotated[str, typer.Option()] = "",
) -> None:
    """Suspend, resume or close an account."""
    with container() as c:
        emit(show_money(c.ledger.set_status(number, action, actor(), reason)), False)


@accounts.command("pin")
def pin(
    number: str,
    new_pin: Annotated[str | None, typer.Option(help="The new PIN (asked for, twice, on a terminal if omitted).")] = None,
) -> None:
    """Set a new PIN (resets the wrong-PIN lockout)."""
    chosen = secret(new_pin, "--new-pin", confirm=True)
    with container() as c:
        emit(c.ledger.change_pin(number, chosen, actor()), False)


@accounts.command("check-pin")
def check_pin(
    number: str,
    pin: Annotated[str | None, typer.Option(help="The PIN to check (asked for on a terminal if omitted).")] = None,
) -> None:
    """Check an account's PIN; a wrong one counts toward the lockout. Exit 0 if right, 1 if not."""
    given = secret(pin, "--pin")
    with container() as c:
        result = c.ledger.check_pin(number, given, actor())
    emit(result, False)
    if not result["verified"]:
        raise typer.Exit(1)


@books.command("trial-balance")
def trial_balance(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every house account's balance and the sum of all accounts (must be 0.0000)."""
    with container() as c:
        c.catch_up()
        house = c.views.query("SELECT account, balance FROM gl_balances WHERE account LIKE ? ORDER BY 1", ("house:%",))
        customers = c.views.query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM gl_balances WHERE account NOT LIKE ?", ("house:%",)
        )
        total = c.views.query("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM gl_balances")[0][0]
    data = {
        "house": {a: format_money(b) for a, b in house},
        "customer_accounts": customers[0][0],
        "customer_balances": format_money(customers[0][1]),
        "total": format_money(total),
    }
    emit(data, as_json)
    if total != 0:
        raise typer.Exit(1)


@books.command("rebuild")
def rebuild() -> None:
    """Drop every view and rebuild it from the event log, from zero."""
    with container() as c:
        c.projector.drop()
        c.projector.create()
        total = c.ledger.recorder.max_notification_id() or 0
        with progress_bar("rebuilding views", total) as tick:
            n = c.projector.run(progress=tick)
    emit({"events": n}, False)
