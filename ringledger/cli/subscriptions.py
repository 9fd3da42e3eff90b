"""`ringledger subscriptions …`: recurring fees (monthly rent, leases) on an account."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.money import format_money
from ringledger.cli.common import actor, container, emit, positive_money
from ringledger.subscriptions import build_subscriptions

subscriptions = typer.Typer(help="Recurring fees: missed-call subscriptions, leases, monthly rent.",
                            no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="One line of JSON.")]


def _shown(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: format_money(v) if k in ("fee", "arrears", "paid", "amount", "balance") and isinstance(v, int) else v
           for k, v in data.items()}
    if out.get("due_at") is not None and not isinstance(out["due_at"], str):
        out["due_at"] = out["due_at"].isoformat()
    return out


@subscriptions.command("add")
def add(account: str, service: Annotated[str, typer.Argument(help="e.g. missed_call_off, missed_call_busy, lease:NAME")],
        fee: Annotated[str, typer.Option(help="The fee each period, e.g. 2.00.")],
        period: Annotated[str, typer.Option(help="monthly or daily.")] = "monthly",
        anchor_day: Annotated[int | None, typer.Option(help="Day of the month it falls due (default: today; "
                                                            "clamped to the month's end).")] = None,
        term: Annotated[int, typer.Option(help="Periods a lease runs (0: until cancelled).")] = 0,
        as_json: AsJson = False) -> None:
    """Subscribe an account; the first period's fee is charged at once (or left unpaid: suspended)."""
    amount = positive_money(fee)
    with container() as c:
        result = build_subscriptions(c).subscribe(account, service, amount, actor(), period=period,
                                                  anchor_day=anchor_day, term=term)
        emit(_shown(result), as_json)


@subscriptions.command("list")
def list_(account: Annotated[str | None, typer.Option(help="One account's subscriptions.")] = None,
          status: Annotated[str | None, typer.Option(help="active, suspended, cancelled or ended.")] = None,
          as_json: AsJson = False) -> None:
    """Subscriptions with their next due instant and the arrears of suspended ones."""
    with container() as c:
        emit([_shown(s) for s in build_subscriptions(c).list(account, status)], as_json)


@subscriptions.command("history")
def history(account: str, service: Annotated[str | None, typer.Option(help="One service only.")] = None,
            as_json: AsJson = False) -> None:
    """Every period's outcome: charged, unpaid (suspended), paid (arrears paid on resumption)."""
    with container() as c:
        emit([_shown(h) for h in build_subscriptions(c).history(account, service)], as_json)


@subscriptions.command("cancel")
def cancel(account: str, service: str, reason: Annotated[str, typer.Option(help="Why.")] = "",
           as_json: AsJson = False) -> None:
    """No fee is charged after this; arrears stay shown."""
    with container() as c:
        emit(_shown(build_subscriptions(c).cancel(account, service, actor(), reason)), as_json)


@subscriptions.command("charge")
def charge(as_json: AsJson = False) -> None:
    """Charge what is due now and resume what can now be paid (what the scheduler does every minute)."""
    with container() as c:
        emit([_shown(d) for d in build_subscriptions(c).charge_due()], as_json)
