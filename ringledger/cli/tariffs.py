"""`ringledger tariffs …`: publish rate decks as tariff versions, list and export them."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from rating.deck import DeckError, export_deck, parse_deck
from rating.discounts import PercentOff, basis_points, percent_text
from ringledger.charging import build_charging
from ringledger.cli.common import actor, container, emit, fail, instant

tariffs = typer.Typer(help="Tariff plans: import rate decks as new versions, list, export.", no_args_is_help=True)


@tariffs.command("import")
def import_deck(
    file: Annotated[Path, typer.Argument(help="CSV rate deck (see rating/deck.py for the columns).")],
    plan: Annotated[str, typer.Option(help="Tariff name, e.g. demo.")],
    effective: Annotated[str, typer.Option(help="When the new version takes effect (ISO 8601).")],
    tz: Annotated[str | None, typer.Option(help="Zone time bands are read in (default: the operator's).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Publish FILE as the next version of PLAN. Any bad row: every bad line reported, nothing published."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        fail(f"cannot read {file}: {err.strerror}")
    try:
        rows = parse_deck(text)
    except DeckError as err:
        for line, problem in err.problems:
            sys.stderr.write(f"{file}:{line}: {problem}\n")
        fail(f"rate deck rejected, nothing published ({len(err.problems)} bad lines)")
    with container() as c:
        zone = tz or c.settings.timezone
        charging = build_charging(c.settings, c.ledger)
        emit(charging.publish_plan(plan, rows, instant(effective, zone), actor(), tz=zone), as_json)


@tariffs.command("export")
def export(
    plan: Annotated[str, typer.Option(help="Tariff name.")],
    version: Annotated[int | None, typer.Option(help="Version (default: the one in force at --as-of).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Instant (ISO 8601; default now). A tariff "
                                              "not yet in force exports the version that starts first.")] = None,
    output: Annotated[Path | None, typer.Option("--out", "--output",
                                                help="Write this file (replaced whole, only on success).")] = None,
) -> None:
    """Write a tariff version as a CSV rate deck (the same format `import` reads)."""
    with container() as c:
        charging = build_charging(c.settings, c.ledger)
        at = instant(as_of, c.settings.timezone) if as_of else charging.clock()
        found = charging.plan(plan, version, at=at, upcoming=True)
        text = export_deck(found.rows)
    if output is None:
        sys.stdout.write(text)
    else:
        write_whole(output, text)


def write_whole(path: Path, text: str) -> None:
    """Replace `path` by `text` in one rename: a failure leaves the old file as it was."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        fail(f"cannot write {path}: {err.strerror}")


@tariffs.command("list")
def list_tariffs(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every published version of every tariff."""
    with container() as c:
        c.catch_up()
        rows = c.views.query(
            "SELECT name, version, effective_from, tz, rows, published_at, actor FROM tariffs ORDER BY name, version"
        )
    keys = ("name", "version", "effective_from", "tz", "rows", "published_at", "actor")
    emit([dict(zip(keys, r)) for r in rows], as_json)


@tariffs.command("discount")
def discount(
    plan: Annotated[str, typer.Argument(help="Tariff name.")],
    percent: Annotated[str | None, typer.Option(help="Percentage off the list price, e.g. 10 or 12.5 "
                                                "(at most two decimals).")] = None,
    category: Annotated[str | None, typer.Option(help="Only calls to this destination category.")] = None,
    band: Annotated[str | None, typer.Option(help="Only calls answered in this time band of the tariff.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every discount of the tariff.")] = False,
    free_minutes: Annotated[int | None, typer.Option("--free-minutes", help="Free minutes a month for each "
                                                     "account on the tariff (0: none).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add a tariff discount to PLAN (or --clear them, or set --free-minutes; with none, list them).

    Rules do not stack: a call gets the largest percentage whose category and band
    match it. The discount is rounded up (the customer's favour) and shows on the
    CDR as its own line. Calls authorized from then on are rated with it.
    """
    with container() as c:
        charging = build_charging(c.settings, c.ledger)
        if clear and percent is not None:
            fail("give --percent to add a discount or --clear to remove them, not both")
        if free_minutes is not None:
            if clear or percent is not None:
                fail("set --free-minutes on its own")
            charging.set_free_minutes(plan, free_minutes, actor())
        if clear:
            result = charging.set_discounts(plan, [], actor())
        elif percent is not None:
            try:
                rule = PercentOff(basis_points(percent), category, band)
            except ValueError as err:
                fail(str(err))
            result = charging.set_discounts(plan, [rule], actor(), add=True)
        else:
            book = charging.tariff(plan)
            if book is None:
                fail(f"no tariff {plan}")
            result = {"name": plan, "discounts": [d.to_dict() for d in book.discounts]}
        book = charging.tariff(plan)
        result["free_minutes"] = book.free_minutes if book is not None else 0
    result["discounts"] = [{**d, "percent": percent_text(d["basis_points"])} for d in result["discounts"]]
    emit(result, as_json)
