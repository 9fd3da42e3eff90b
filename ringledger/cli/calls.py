"""`ringledger calls …`: CDRs, rerating, the blacklist, hold expiry and switch tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from ledger.money import format_money
from projections.cdr_reads import select_calls
from ringledger.charging import build_charging
from ringledger.cli.common import actor, container, emit, fail, instant, known_bar
from ringledger.container import Container

calls = typer.Typer(help="Calls: CDRs, rerating, blacklist, expiry of abandoned holds.", no_args_is_help=True)

@calls.command("list")
def list_calls(
    account: Annotated[str | None, typer.Option(help="Account number.")] = None,
    caller: Annotated[str | None, typer.Option(help="Calling number.")] = None,
    bar: Annotated[str | None, typer.Option(help="Phone-bar account number.")] = None,
    since: Annotated[str | None, typer.Option("--from", help="From this instant (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Before this instant (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """CDRs, one row per call leg."""
    with container() as c:
        known_bar(c, bar)
        c.catch_up()
        rows = select_calls(c.views, _normaliser(c), account=account, caller=caller, bar=bar, limit=limit,
                            since=since and instant(since, c.settings.timezone),
                            until=until and instant(until, c.settings.timezone))
    for row in rows:
        for key in ("list_price", "discount", "charged", "cost"):
            row[key] = format_money(row[key])
    emit(rows, as_json)


@calls.command("rerate")
def rerate(
    plan: Annotated[str, typer.Option(help="Tariff to price the calls with.")],
    version: Annotated[int | None, typer.Option(help="Tariff version (default: the one in force at each call).")] = None,
    account: Annotated[str | None, typer.Option(help="Only calls of this account.")] = None,
    caller: Annotated[str | None, typer.Option(help="Only calls from this number.")] = None,
    since: Annotated[str | None, typer.Option("--from", help="Calls authorized at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Calls authorized before (ISO 8601).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-price finished calls; each difference becomes a credit or debit. Original charges stay."""
    if not (account or caller or since or until):
        fail("choose the calls to rerate: give --account, --caller, --from or --to")
    with container() as c:
        c.catch_up()
        zone = c.settings.timezone
        selected = [r["call_id"] for r in select_calls(c.views, _normaliser(c), account=account, caller=caller,
                                                          finished=True, since=since and instant(since, zone),
                                                          until=until and instant(until, zone))]
        result = build_charging(c.settings, c.ledger).rerate(selected, plan, version, actor())
    result["difference"] = format_money(result["difference"])
    emit(result, as_json)


@calls.command("expire")
def expire(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Settle now every hold past its expiry (what the server's scheduler does every 30 s)."""
    from ringledger.scheduler import (
        expire_job,  # APScheduler: loaded only for this command
    )

    with container() as c:
        charging = build_charging(c.settings, c.ledger)
        expired = expire_job(c, charging, charging.clock)
    emit({"expired": [e["call_id"] for e in expired]}, as_json)


@calls.command("block")
def block(
    number: str,
    account: Annotated[str | None, typer.Option(help="Only for this account (default: every account).")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the event).")] = "",
) -> None:
    """Blacklist a number: calls from or to it are refused with `blacklisted`."""
    with container() as c:
        emit(build_charging(c.settings, c.ledger).block(number, actor(), account=account, reason=reason))


@calls.command("unblock")
def unblock(
    number: str,
    account: Annotated[str | None, typer.Option(help="The account the entry is for (default: every account).")] = None,
) -> None:
    """Remove a number from the blacklist."""
    with container() as c:
        emit(build_charging(c.settings, c.ledger).unblock(number, actor(), account=account))


@calls.command("blacklist")
def blacklist(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every blacklisted number, by scope ("*" = every account)."""
    with container() as c:
        entries = build_charging(c.settings, c.ledger).blacklist()
    emit({scope: sorted(numbers) for scope, numbers in sorted(entries.items())}, as_json)


@calls.command("switch-token")
def switch_token(name: str) -> None:
    """Make a bearer token for a switch: the token is shown once; configure only its hash."""
    from adapters.http.auth import new_token  # FastAPI: loaded only for this command

    if not name.replace("-", "").replace("_", "").isalnum():
        fail("a switch name is letters, digits, '-' or '_'")
    token, digest = new_token()
    typer.echo(f"token (give it to the switch, it is not stored): {token}")
    typer.echo(f"add to RINGLEDGER_SWITCH_TOKENS: {name}={digest}")


def _normaliser(c: Container) -> Callable[[str], str]:
    """A dialled number to E.164 as charging reads it (the charging engine is built only when a caller is given)."""
    return lambda number: build_charging(c.settings, c.ledger).normalise(number)
