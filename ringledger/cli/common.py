"""What every CLI command shares: the container, the actor, error handling, output."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from ledger.errors import LedgerError
from ledger.money import MoneyFormatError, format_money, parse_money
from ringledger.config import settings_error
from ringledger.container import Container, build

console = Console()
err_console = Console(stderr=True)


def actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except Exception:
        return "cli:unknown"


def fail(message: str) -> None:
    """One line on stderr, exit code 2; the caller has changed nothing."""
    sys.stderr.write("error: " + " ".join(message.split()) + "\n")
    raise typer.Exit(2)


@contextmanager
def container() -> Iterator[Container]:
    """Open the ledger; turn domain and input errors into exit code 2 with one line."""
    try:
        c = build()
    except ValueError as err:  # a malformed setting, e.g. a PIN key that is not hex
        fail(f"configuration: {settings_error(err)}")
        raise
    try:
        yield c
        c.catch_up()
    except (LedgerError, MoneyFormatError, ValueError) as err:
        code = getattr(err, "code", "invalid_input")
        fail(f"{code}: {err}")
    finally:
        c.close()


def known_bar(c: Container, bar: str | None) -> None:
    """Exit 2 unless `bar` is None or a phone bar's account number: a typo must not read as "no calls"."""
    if bar is not None and c.ledger.account(bar).kind != "phonebar":
        fail(f"account {bar} is not a phone bar")


def known_batch(c: Container, batch: str | None) -> None:
    """Exit 2 unless `batch` is None or the name of an issued batch."""
    if batch is not None:
        c.ledger.batch(batch)


def instant(text: str, zone: str) -> datetime:
    """ISO 8601; an instant without an offset is read in the operator's time zone."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not an ISO 8601 instant, e.g. 2026-05-01T00:00:00+08:00")
        raise
    return at if at.utcoffset() is not None else at.replace(tzinfo=ZoneInfo(zone))


def secret(value: str | None, flag: str, *, confirm: bool = False) -> str:
    """A PIN from its option, or asked for without echo on a terminal; anywhere else a missing one is exit 2."""
    if value is not None:
        return value
    if not sys.stdin.isatty():
        fail(f"{flag} is required (there is no terminal to ask for it on)")
    return str(typer.prompt(flag.lstrip("-").replace("-", " ").capitalize(), hide_input=True,
                            confirmation_prompt=confirm))


def money(text: str) -> int:
    try:
        return parse_money(text)
    except MoneyFormatError as err:
        fail(str(err))
        raise  # unreachable: fail() exits


def positive_money(text: str) -> int:
    """An amount that must be greater than zero (exit 2 otherwise)."""
    value = money(text)
    if value <= 0:
        fail("the amount must be greater than zero")
    return value


def emit(data: Any, as_json: bool = False) -> None:
    """Dicts and lists print as JSON (one line with --json, indented otherwise); tables via rich."""
    if isinstance(data, (dict, list)):
        indent = None if as_json else 2
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str, indent=indent) + "\n")
    else:
        console.print(data)


def show_money(summary: dict[str, Any]) -> dict[str, Any]:
    out = dict(summary)
    for key in ("balance", "held", "available", "amount", "charged", "face"):
        if isinstance(out.get(key), int):
            out[key] = format_money(out[key])
    return out


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on a terminal; silent when output is piped."""
    if not err_console.is_terminal:
        yield lambda n: None
        return
    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
