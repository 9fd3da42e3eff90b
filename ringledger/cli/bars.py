"""`ringledger bars …`: a phone bar's booths, board, checkout and bills, and the low-deposit alert."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from adapters.web.bill import render_bill
from ledger.money import format_money
from ringledger.cli.common import actor, container, emit, fail, positive_money
from ringledger.phonebar import build_phonebars

bars = typer.Typer(help="Phone bars (话吧): booths, the live board, checkout and bills.", no_args_is_help=True)
booth = typer.Typer(help="A bar's booths and what each may dial.", no_args_is_help=True)
bars.add_typer(booth, name="booth")

CATEGORIES_HELP = "Comma-separated: local, national, mobile, hmt, international (default: all)."
AsJson = Annotated[bool, typer.Option("--json", help="One line of JSON.")]


def _list(text: str | None) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()] if text else []


def _money(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: format_money(v) if k in keys and isinstance(v, int) else v for k, v in data.items()}


def _bill(bill: dict[str, Any]) -> dict[str, Any]:
    lines = [_money(line, "cost", "retail") for line in bill["lines"]]
    return {**_money(bill, "retail_total", "cost_total"), "lines": lines}


def _write_html(path: Path, bill: dict[str, Any], timezone: str) -> None:
    """Replace `path` only once the whole page is written."""
    part = path.with_name(path.name + ".part")
    part.write_text(render_bill(bill, timezone), encoding="utf-8")
    os.replace(part, path)


@booth.command("add")
def booth_add(bar: str, name: str,
              categories: Annotated[str | None, typer.Option(help=CATEGORIES_HELP)] = None,
              allow: Annotated[str | None, typer.Option(help="Prefixes always allowed, comma-separated.")] = None,
              deny: Annotated[str | None, typer.Option(help="Prefixes never allowed, comma-separated.")] = None) -> None:
    """Add a booth to a bar (once a bar has booths, a call from any other booth is refused)."""
    with container() as c:
        cats = None if categories is None else _list(categories)
        emit(build_phonebars(c).add_booth(bar, name, actor(), cats, _list(allow), _list(deny)))


@booth.command("permissions")
def booth_permissions(bar: str, name: str,
                      categories: Annotated[str, typer.Option(help=CATEGORIES_HELP.replace(" (default: all)", ""))],
                      allow: Annotated[str | None, typer.Option(help="Prefixes always allowed.")] = None,
                      deny: Annotated[str | None, typer.Option(help="Prefixes never allowed.")] = None) -> None:
    """Set what a booth may dial (replaces its permissions)."""
    with container() as c:
        emit(build_phonebars(c).set_permissions(bar, name, actor(), _list(categories), _list(allow), _list(deny)))


@booth.command("remove")
def booth_remove(bar: str, name: str) -> None:
    """Remove a booth (its bills stay)."""
    with container() as c:
        emit(build_phonebars(c).remove_booth(bar, name, actor()))


@booth.command("list")
def booth_list(bar: str, as_json: AsJson = False) -> None:
    """A bar's booths and their permissions."""
    with container() as c:
        emit(build_phonebars(c).booths(bar), as_json)


@bars.command("board")
def board(bar: str, as_json: AsJson = False) -> None:
    """The live board: each booth's state, number dialled, seconds and running amount."""
    with container() as c:
        emit([_money(row, "running") for row in build_phonebars(c).board(bar)], as_json)


@bars.command("checkout")
def checkout(bar: str, booth_name: Annotated[str, typer.Argument(metavar="BOOTH")],
             html: Annotated[Path | None, typer.Option(help="Also write the printable bill to this file.")] = None,
             op_id: Annotated[str | None, typer.Option(help="Idempotency key: a repeat prints the same bill.")] = None,
             as_json: AsJson = False) -> None:
    """Check a booth out: the walk-in customer's bill (every call since the last checkout, at retail)."""
    with container() as c:
        bill = build_phonebars(c).checkout(bar, booth_name, actor(), op_id)
        if html is not None:
            _write_html(html, bill, c.settings.timezone)
        emit(_bill(bill), as_json)


@bars.command("bill")
def bill(bar: str, booth_name: Annotated[str, typer.Argument(metavar="BOOTH")], number: int,
         html: Annotated[Path | None, typer.Option(help="Write the printable bill to this file.")] = None,
         as_json: AsJson = False) -> None:
    """An earlier bill of a booth, again (e.g. to print it once more)."""
    with container() as c:
        found = build_phonebars(c).bill(bar, booth_name, number)
        if found is None:
            fail(f"unknown_bill: booth {booth_name} of bar {bar} has no bill {number}")
            return
        if html is not None:
            _write_html(html, found, c.settings.timezone)
        emit(_bill(found), as_json)


@bars.command("bills")
def bills(bar: str, booth_name: Annotated[str | None, typer.Option("--booth")] = None, as_json: AsJson = False) -> None:
    """A bar's bills, newest first."""
    with container() as c:
        emit([_money(b, "retail_total") for b in build_phonebars(c).bills(bar, booth_name)], as_json)


@bars.command("alert")
def alert(bar: str,
          below: Annotated[str | None, typer.Option(help="Send the SMS when the deposit falls under this amount.")] = None,
          phone: Annotated[str | None, typer.Option(help="The owner's mobile number.")] = None,
          off: Annotated[bool, typer.Option("--off", help="Send no more alerts.")] = False) -> None:
    """The owner's low-deposit SMS: one text each time the deposit falls under the amount."""
    if off == (below is not None or phone is not None):
        fail("give --below and --phone, or --off")
    with container() as c:
        threshold = positive_money(below) if below is not None else None
        emit(_money(build_phonebars(c).set_alert(bar, threshold, phone, actor()), "threshold"))
