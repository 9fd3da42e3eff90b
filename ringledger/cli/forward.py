"""`ringledger forward …`: forwarding in a business's name (呼叫转移): profile, schedule, blacklist, agents,
and the business's calls, agents' statistics and bill."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

import typer

from ledger.money import format_money
from ringledger.cli.common import actor, container, emit, fail
from ringledger.forwarding import build_forwarding

forward = typer.Typer(help="Forwarding in a business's name (呼叫转移): profile, schedule, agents, calls, bill.",
                      no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="One line of JSON.")]
Day = Annotated[str | None, typer.Option(help="A local day, YYYY-MM-DD.")]
_RULE = re.compile(r"^\s*([1-7](?:\s*[-,]\s*[1-7])*)\s+(\d\d:\d\d)\s*-\s*(\d\d:\d\d)\s*$")


def _list(text: str | None) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()] if text else []


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not a day: use YYYY-MM-DD")
        raise


def rule(text: str) -> dict[str, Any]:
    """`1-5 09:00-18:00` or `6,7 10:00-14:00`: ISO weekdays (1 = Monday), then the hours."""
    found = _RULE.match(text)
    if found is None:
        fail(f"a rule is DAYS HH:MM-HH:MM, e.g. '1-5 09:00-18:00' or '6,7 10:00-14:00'; got {text!r}")
        raise AssertionError  # unreachable: fail() exits
    days: list[int] = []
    for part in found.group(1).replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if last and int(last) < int(first):
            fail(f"days {part} run backwards")
        days.extend(range(int(first), int(last or first) + 1))
    return {"days": days, "start": found.group(2), "end": found.group(3)}


@forward.command("register")
def register(number: str, account: Annotated[str, typer.Option(help="The account that pays for forwarded legs.")],
             agents: Annotated[str | None, typer.Option(help="Agents or destinations, comma-separated, in tie order.")] = None,
             greeting: Annotated[str, typer.Option(help="What the caller hears first.")] = "",
             presented: Annotated[str | None, typer.Option(help="Calling number shown to agents (default: NUMBER).")] = None,
             distribution: Annotated[str, typer.Option(help="even (ACD) or in_order (hunt list).")] = "even") -> None:
    """Register a business's number for forwarding, paid for by an account."""
    with container() as c:
        emit(build_forwarding(c).register(number, account, actor(), presented=presented, greeting=greeting,
                                          agents=_list(agents), distribution=distribution))


@forward.command("show")
def show(number: str, as_json: AsJson = False) -> None:
    """A business's profile, schedule, blacklist and which agents are busy now."""
    with container() as c:
        emit(build_forwarding(c).profile(number), as_json)


@forward.command("profile")
def profile(number: str,
            agents: Annotated[str | None, typer.Option(help="Replace the agents, comma-separated.")] = None,
            greeting: Annotated[str | None, typer.Option()] = None,
            presented: Annotated[str | None, typer.Option()] = None,
            distribution: Annotated[str | None, typer.Option(help="even or in_order.")] = None) -> None:
    """Change the presented number, greeting, agents or distribution (what is not given stays)."""
    with container() as c:
        emit(build_forwarding(c).set_profile(number, actor(), presented=presented, greeting=greeting,
                                             agents=None if agents is None else _list(agents),
                                             distribution=distribution))


@forward.command("schedule")
def schedule(number: str,
             rules: Annotated[list[str] | None, typer.Option("--rule", help="DAYS HH:MM-HH:MM, repeatable.")] = None,
             always: Annotated[bool, typer.Option("--always", help="Forward at every hour (no rules).")] = False) -> None:
    """Set the weekly hours the number is forwarded at, in the operator's time zone."""
    if always == bool(rules):
        fail("give one or more --rule, or --always")
    parsed = [rule(r) for r in rules or []]
    with container() as c:
        emit(build_forwarding(c).set_schedule(number, parsed, actor()))


@forward.command("blacklist")
def blacklist(number: str,
              numbers: Annotated[str | None, typer.Option(help="Callers refused, comma-separated.")] = None,
              prefixes: Annotated[str | None, typer.Option(help="Caller prefixes refused (E.164 digits).")] = None) -> None:
    """Replace the business's caller blacklist."""
    with container() as c:
        emit(build_forwarding(c).set_blacklist(number, _list(numbers), _list(prefixes), actor()))


@forward.command("agent")
def agent(number: str, agent_number: Annotated[str, typer.Argument(metavar="AGENT")],
          busy: Annotated[bool, typer.Option("--busy/--free", help="Away (no calls) or free again.")]) -> None:
    """Mark an agent busy or free."""
    with container() as c:
        emit(build_forwarding(c).mark_agent(number, agent_number, busy, actor()))


def _charged(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "charged": format_money(r["charged"]) if r.get("charged") is not None else None} for r in rows]


@forward.command("calls")
def calls(number: str, agent_number: Annotated[str | None, typer.Option("--agent")] = None, day: Day = None,
          as_json: AsJson = False) -> None:
    """The business's calls, newest first (one agent's: its call log)."""
    with container() as c:
        emit(_charged(build_forwarding(c).calls(number, agent=agent_number, day=_day(day))), as_json)


@forward.command("stats")
def stats(number: str, day_from: Annotated[str | None, typer.Option("--from")] = None,
          day_to: Annotated[str | None, typer.Option("--to")] = None, as_json: AsJson = False) -> None:
    """Each agent's calls offered, answered, abandoned and the wait before abandoning."""
    with container() as c:
        emit(build_forwarding(c).statistics(number, _day(day_from), _day(day_to)), as_json)


@forward.command("bill")
def bill(number: str, day_from: Annotated[str | None, typer.Option("--from")] = None,
         day_to: Annotated[str | None, typer.Option("--to")] = None, as_json: AsJson = False) -> None:
    """What the business paid for forwarded calls, and its balance now."""
    with container() as c:
        found = build_forwarding(c).bill(number, _day(day_from), _day(day_to))
        emit({k: format_money(v) if k in ("charged", "balance", "available") else v for k, v in found.items()},
             as_json)
