"""`ringledger reports …`: the operator's reports, as JSON or CSV."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from projections.reports import (
    call_days,
    card_inventory,
    daily_card_sales,
    daily_revenue,
    low_balance_accounts,
)
from ringledger.cli.common import container, emit, fail, known_bar, known_batch, money
from ringledger.reports import (
    CALL_COLUMNS,
    CARD_SALES_COLUMNS,
    INVENTORY_COLUMNS,
    LOW_BALANCE_COLUMNS,
    REVENUE_COLUMNS,
    formatted,
    to_csv,
)
from services.clock import clock_for

reports = typer.Typer(help="Reports: revenue, calls and bar statements, card inventory, low balances (JSON or CSV).", no_args_is_help=True)
CsvOpt = Annotated[Path | None, typer.Option("--csv", help="Write CSV to this file ('-' for stdout).")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First local day (default: 30 days ago).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last local day (default: today).")]


def _day(text: str | None, default: date) -> date:
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not a day: use YYYY-MM-DD")
        raise


def _out(rows: list[dict[str, Any]], columns: tuple[str, ...], csv_path: Path | None) -> None:
    if csv_path is None:
        emit(formatted(rows), False)
    elif str(csv_path) == "-":
        typer.echo(to_csv(rows, columns), nl=False)
    else:
        csv_path.write_text(to_csv(rows, columns))
        emit({"rows": len(rows), "csv": str(csv_path)}, False)


def _days(c: Any, start: str | None, end: str | None) -> tuple[date, date]:
    """The local days `--from`..`--to` (default: the last 30 days), refused when reversed."""
    today = clock_for(c.settings.clock_start)().astimezone(ZoneInfo(c.settings.timezone)).date()
    lo, hi = _day(start, today - timedelta(days=29)), _day(end, today)
    if hi < lo:
        fail("--to is before --from")
    return lo, hi


@reports.command("revenue")
def revenue(
    start: FromOpt = None,
    end: ToOpt = None,
    csv_path: CsvOpt = None,
) -> None:
    """Daily revenue by service and call category, in the operator's time zone."""
    with container() as c:
        lo, hi = _days(c, start, end)
        c.catch_up()
        rows = daily_revenue(c.views, c.settings.timezone, lo, hi)
    _out(rows, REVENUE_COLUMNS, csv_path)


@reports.command("card-sales")
def card_sales(
    start: FromOpt = None,
    end: ToOpt = None,
    csv_path: CsvOpt = None,
) -> None:
    """Cards sold per local day and batch: face value, price paid and discount."""
    with container() as c:
        lo, hi = _days(c, start, end)
        c.catch_up()
        rows = daily_card_sales(c.views, c.settings.timezone, lo, hi)
    _out(rows, CARD_SALES_COLUMNS, csv_path)


@reports.command("calls")
def calls(
    start: FromOpt = None,
    end: ToOpt = None,
    bar: Annotated[str | None, typer.Option(help="A phone bar's daily statement (its account number).")] = None,
    csv_path: CsvOpt = None,
) -> None:
    """Call statistics per local day: attempts, answered, ASR, ACD, minutes, cost; with --bar also
    the bar's retail amount and margin (the per-bar daily statement)."""
    with container() as c:
        lo, hi = _days(c, start, end)
        known_bar(c, bar)
        c.catch_up()
        rows = call_days(c.views, c.settings.timezone, lo, hi, bar)
    _out(rows, CALL_COLUMNS, csv_path)


@reports.command("inventory")
def inventory(batch: Annotated[str | None, typer.Option()] = None, csv_path: CsvOpt = None) -> None:
    """Card inventory per batch: in stock, sold, redeemed, cancelled, value outstanding."""
    with container() as c:
        known_batch(c, batch)
        c.catch_up()
        rows = card_inventory(c.views, batch)
    _out(rows, INVENTORY_COLUMNS, csv_path)


@reports.command("low-balance")
def low_balance(
    below: Annotated[str, typer.Option(help="Threshold on available money.")] = "2.00",
    kind: Annotated[str | None, typer.Option(help="subscriber, callback or phonebar")] = None,
    csv_path: CsvOpt = None,
) -> None:
    """Active accounts whose available money is below a threshold."""
    threshold = money(below)
    with container() as c:
        c.catch_up()
        rows = low_balance_accounts(c.views, threshold, kind)
    _out(rows, LOW_BALANCE_COLUMNS, csv_path)
