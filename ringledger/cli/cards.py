"""`ringledger cards …` and `ringledger vouchers …`: the card library."""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer

from ledger.cardnumbers import check_card_number
from ledger.money import format_money
from ledger.sales import check_sale_price
from projections.cards import CARD_STATUSES
from projections.db import equal_filters
from ringledger.card_sales import cards_to_sell
from ringledger.cli.common import (
    actor,
    container,
    emit,
    fail,
    known_batch,
    money,
    progress_bar,
    secret,
    show_money,
)
from ringledger.phones import to_e164

cards = typer.Typer(help="Card library: issue, browse, sell (activate) and cancel cards.", no_args_is_help=True)
vouchers = typer.Typer(help="Recharge vouchers.", no_args_is_help=True)


@cards.command("issue")
def issue(
    count: Annotated[int, typer.Option(help="How many cards.", min=1, max=1_000_000)],
    face: Annotated[str, typer.Option(help="Face value, e.g. 50.00")],
    out: Annotated[Path, typer.Option(help="CSV file for the printer: number, PIN (written once, mode 0600).")],
    kind: Annotated[str, typer.Option(help="callback or voucher")] = "voucher",
    batch: Annotated[str | None, typer.Option(help="Batch name (default: kind + time).")] = None,
    plan: Annotated[str | None, typer.Option(help="Tariff plan for callback cards.")] = None,
) -> None:
    """Issue a batch of cards. PINs appear only in the CSV; the ledger keeps keyed hashes."""
    face_value = money(face)
    if face_value < 0:
        fail("face value must be zero or more")
    if kind not in ("callback", "voucher"):
        fail("--kind is callback or voucher")
    name = batch or f"{kind[0].upper()}{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
    # The PIN file is opened before the batch is recorded: PINs exist only in it, so a
    # file that cannot be written must stop the issue, not lose the PINs after it.
    fd = _open_pin_file(out)
    issued = False
    try:
        with os.fdopen(fd, "w", newline="") as f:
            with container() as c, progress_bar(f"issuing {count} cards", count) as tick:
                rows = c.ledger.issue_batch(kind, count, face_value, actor(), name=name, plan=plan, progress=tick)
                issued = True
                w = csv.writer(f)
                w.writerow(["batch", "serial", "number", "pin", "face"])
                shown = format_money(face_value)
                w.writerows((name, s, n, p, shown) for s, n, p in rows)
    finally:
        if not issued:
            out.unlink(missing_ok=True)
    emit({"batch": name, "kind": kind, "count": len(rows), "face": format_money(face_value), "csv": str(out)}, False)


def _open_pin_file(out: Path) -> int:
    """A new file of mode 0600, or exit 2: an existing file is never overwritten."""
    try:
        return os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{out} exists; the PIN file is never overwritten")
    except FileNotFoundError:
        fail(f"{out}: the folder does not exist")
    except IsADirectoryError:
        fail(f"{out} is a folder; name a new file")
    except OSError as err:
        fail(f"{out} cannot be created: {err.strerror or err}")
    raise AssertionError("unreachable: fail() exits")


@cards.command("list")
def list_cards(
    batch: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="issued, sold, locked, redeemed or cancelled")] = None,
    number: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Browse cards by batch, state and number (never shows PINs)."""
    if status is not None and status not in CARD_STATUSES:
        fail(f"--status is one of {', '.join(CARD_STATUSES)}")
    where, params = equal_filters((("batch", batch), ("status", status), ("number", number)))
    sql = "SELECT number, kind, batch, serial, face, status, account FROM cards"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY batch, serial LIMIT ?"
    with container() as c:
        known_batch(c, batch)
        c.catch_up()
        rows = c.views.query(sql, [*params, limit])
    data = [
        {"number": r[0], "kind": r[1], "batch": r[2], "serial": r[3], "face": format_money(r[4]), "status": r[5],
         "account": r[6]}
        for r in rows
    ]
    if as_json:
        emit(data, True)
        return
    from rich.table import Table

    table = Table("number", "kind", "batch", "serial", "face", "status", "account")
    for d in data:
        table.add_row(*(str(d[k] or "") for k in ("number", "kind", "batch", "serial", "face", "status", "account")))
    emit(table, False)


@cards.command("batches")
def batches(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Card inventory per batch."""
    with container() as c:
        c.catch_up()
        rows = c.views.query(
            "SELECT b.name, b.kind, b.face, b.count, c.status, COUNT(c.number) FROM card_batches b "
            "LEFT JOIN cards c ON c.batch = b.name GROUP BY b.name, b.kind, b.face, b.count, c.status ORDER BY 1"
        )
    out: dict[str, dict[str, object]] = {}
    for name, kind, face, count, status, n in rows:
        entry = out.setdefault(name, {"batch": name, "kind": kind, "face": format_money(face), "count": count})
        if status:
            entry[status] = n
    emit(list(out.values()), as_json)


@cards.command("activate")
def activate(
    batch: Annotated[str, typer.Option(help="Batch to sell from.")],
    first: Annotated[int | None, typer.Option("--from", help="First serial (default 1).")] = None,
    last: Annotated[int | None, typer.Option("--to", help="Last serial (default: end of batch).")] = None,
    rest: Annotated[bool, typer.Option("--rest", help="Sell only the unsold cards of a range that holds "
                                                      "sold, redeemed, cancelled or locked ones.")] = False,
    price: Annotated[str | None, typer.Option(help="What one card sells for, e.g. 45.00 (default: its face "
                                                   "value); below face the difference is booked as a discount.")] = None,
) -> None:
    """Sell (activate) a batch or a serial range of it: face values enter the books.

    A range outside the batch is refused, and so is a range with cards that are not
    for sale unless --rest is given, and so is a price above face value or below
    zero; a refusal sells nothing.
    """
    given = None if price is None else money(price)
    with container() as c:
        c.catch_up()
        b = c.ledger.batch(batch)
        each = check_sale_price(b.face, given)
        numbers = cards_to_sell(c.views, b, first, last, rest)
        sold = c.ledger.sell_cards(numbers, b.kind, b.face, actor(), price=each)
    emit({"batch": batch, "sold": sold, "value": format_money(sold * b.face), "paid": format_money(sold * each),
          "discount": format_money(sold * (b.face - each))}, False)


@cards.command("cancel")
def cancel(
    number: str,
    reason: Annotated[str, typer.Option(help="Why (recorded in the event).")],
) -> None:
    """Cancel a card; its remaining value moves to the cancelled-cards house account."""
    with container() as c:
        emit(c.ledger.cancel_card(check_card_number(number), actor(), reason), False)


@cards.command("unlock")
def unlock(
    number: str,
    reason: Annotated[str, typer.Option(help="Why (recorded in the event).")],
) -> None:
    """Unlock a voucher or callback card locked after five wrong PINs; it returns to issued or sold."""
    with container() as c:
        emit(c.ledger.unlock_card(check_card_number(number), actor(), reason), False)


@vouchers.command("redeem")
def redeem(
    number: str,
    phone: Annotated[str, typer.Option(help="Phone number whose bound account is credited.")],
    pin: Annotated[str | None, typer.Option(help="Voucher PIN (asked for on a terminal if omitted).")] = None,
    op_id: Annotated[str | None, typer.Option(help="Idempotency key: a repeat changes nothing.")] = None,
) -> None:
    """Redeem a voucher into the account bound to a phone number, exactly once."""
    given = secret(pin, "--pin")
    with container() as c:
        result = c.ledger.redeem_voucher(check_card_number(number), given, to_e164(phone), actor(), op_id=op_id)
        emit(show_money(result), False)
