"""Tariffs: published versions, rate lookups, publishing rate decks, rerating finished calls.

Operator and auditor keys read every tariff; a bar owner reads only the
plans its own bar is priced by (its wholesale plan, its retail plan and the
default plan) and names no account but its own bar. Only operator keys publish or rerate, and each
change records the key as its actor. Everything goes through the same
`Charging` engine the switch hooks use, so a version published here prices
the next authorized call at once, and a lookup answers what a call would be
charged.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from ariadne import MutationType, ObjectType, QueryType

from graphql import GraphQLResolveInfo
from ledger.errors import InvalidRequest, LedgerError
from ledger.tariff_book import TariffNotFound
from projections.cdr_reads import select_calls
from rating.deck import DeckError, export_deck, parse_deck
from rating.discounts import PercentOff, basis_points, percent_text
from rating.tariffs import TariffPlan
from ringledger.charging import build_charging
from ringledger.portal.context import READERS, Context, account_reader, ctx, key_name, operator
from ringledger.portal.errors import Forbidden
from services.charging import Charging, RateQuote

query = QueryType()
mutation = MutationType()
version_type = ObjectType("TariffVersion")
lookup_type = ObjectType("RateLookup")
lookup_type.set_alias("e164", "e164")  # the name converter would look for "e_164"

TARIFF_READERS = (*READERS, "bar_owner")
RERATE_FILTERS = ("account", "caller", "from", "to")


class InvalidDeck(LedgerError):
    """A rate deck with bad lines (each named by its line number); nothing was published."""

    code = "invalid_deck"

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        lines = "; ".join(f"line {n}: {problem}" for n, problem in problems)
        super().__init__(f"rate deck rejected, nothing published ({len(problems)} bad lines): {lines}")
        self.details = {"lines": [{"line": n, "problem": problem} for n, problem in problems]}


def tariff_reader(info: GraphQLResolveInfo) -> Context:
    """Operators, auditors and bar owners read the price list."""
    c = ctx(info)
    if c.principal.role not in TARIFF_READERS:
        raise Forbidden(f"{key_name(c.principal.role)} cannot read tariffs")
    return c


def visible_plans(c: Context) -> frozenset[str] | None:
    """The plans this key may read (None: all of them)."""
    if c.principal.role in READERS or c.principal.bar is None:
        return None
    bar = c.container.ledger.account(c.principal.bar)
    names = (bar.plan, bar.retail_plan, charging(c).policy.default_plan)
    return frozenset(n for n in names if n)


def charging(c: Context) -> Charging:
    """The app's charging engine (its tariff cache is refreshed by a publish), else a new one."""
    app = c.request.scope.get("app") if c.request is not None else None
    found = getattr(getattr(app, "state", None), "charging", None)
    return found if isinstance(found, Charging) else build_charging(c.container.settings, c.container.ledger)


def _published(c: Context) -> dict[str, dict[int, tuple[str, str]]]:
    """(published_at, actor) of every version, by tariff name and version, from the tariffs view."""
    meta: dict[str, dict[int, tuple[str, str]]] = defaultdict(dict)
    for name, version, at, actor in c.container.views.query(
        "SELECT name, version, published_at, actor FROM tariffs ORDER BY name, version"
    ):
        meta[name][int(version)] = (at, actor)
    return meta


def _version(plan: TariffPlan, meta: dict[int, tuple[str, str]]) -> dict[str, Any]:
    published_at, published_by = meta.get(plan.version, (None, None))
    return {
        "name": plan.name,
        "version": plan.version,
        "effective_from": plan.effective_from,
        "time_zone": plan.tz,
        "fees": [{"name": k, "amount": v} for k, v in sorted(plan.fees.items())],
        "rows": [row.to_dict() for row in plan.rows],
        "published_at": published_at,
        "published_by": published_by,
        "plan": plan,
    }


@version_type.field("deck")
def resolve_deck(version: dict[str, Any], _info: GraphQLResolveInfo) -> str | None:
    try:
        return export_deck(version["plan"].rows)
    except ValueError:  # time bands a CSV deck cannot express
        return None


@query.field("tariffs")
def resolve_tariffs(_: Any, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    c = tariff_reader(info)
    engine = charging(c)
    answer = []
    allowed = visible_plans(c)
    for name, meta in sorted(_published(c).items()):
        if allowed is not None and name not in allowed:
            continue
        book = engine.tariff(name)
        if book is None:  # published by another process a moment ago: not in this engine's cache yet
            continue
        current = book.at(engine.clock())
        answer.append({
            "name": name,
            "versions": [_version(p, meta) for p in sorted(book.versions, key=lambda p: p.version)],
            "current": _version(current, meta) if current is not None else None,
        })
    return answer


@query.field("tariff")
def resolve_tariff(_: Any, info: GraphQLResolveInfo, name: str, as_of: datetime | None = None,
                   version: int | None = None) -> dict[str, Any] | None:
    c = tariff_reader(info)
    if as_of is not None and version is not None:
        raise InvalidRequest("give asOf or version, not both")
    allowed = visible_plans(c)
    if allowed is not None and name not in allowed:
        return None  # another bar's price list: as if it did not exist
    try:
        plan = charging(c).plan(name, version, at=as_of)
    except TariffNotFound:
        return None
    return _version(plan, _published(c).get(name, {}))


@query.field("rateLookup")
def resolve_rate_lookup(_: Any, info: GraphQLResolveInfo, dialled: str, plan: str | None = None,
                        account: str | None = None, caller: str | None = None,
                        at: datetime | None = None) -> dict[str, Any]:
    c = tariff_reader(info)
    if account is not None:
        account_reader(info, account)
    engine = charging(c)
    number = account if account is not None else c.principal.bar
    name = plan or (c.container.ledger.account(number).plan if number else None) or engine.policy.default_plan
    if not name:
        raise InvalidRequest("name a plan, or an account that has one (no default plan is set: RINGLEDGER_DEFAULT_PLAN)")
    allowed = visible_plans(c)
    if allowed is not None and name not in allowed:
        raise Forbidden("this key may price calls only with its own bar's plans")
    quote = engine.quote(dialled, name, at, caller)
    price, band = quote.price() if quote.row is not None else (None, None)
    return {
        "dialled": dialled,
        "e164": quote.e164,
        "category": quote.category,
        "tariff": quote.plan.name,
        "version": quote.plan.version,
        "at": quote.at,
        "rate": quote.row.to_dict() if quote.row is not None else None,
        "price_per_minute": price,
        "band": band,
        "quote": quote,
    }


@lookup_type.field("costFor")
def resolve_cost_for(lookup: dict[str, Any], _info: GraphQLResolveInfo, seconds: int) -> int | None:
    quote: RateQuote = lookup["quote"]
    return quote.cost(seconds) if quote.row is not None else None


def _fees(fees: list[dict[str, Any]] | None) -> dict[str, int]:
    named: dict[str, int] = {}
    for fee in fees or []:
        if fee["name"] in named:
            raise InvalidRequest(f"fee {fee['name']!r} is given twice")
        named[fee["name"]] = fee["amount"]
    return named


@mutation.field("publishTariff")
def resolve_publish(_: Any, info: GraphQLResolveInfo, plan: str, effective_from: datetime, deck: str,
                    time_zone: str | None = None, fees: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    c = operator(info)
    try:
        rows = parse_deck(deck)
    except DeckError as err:
        raise InvalidDeck(list(err.problems)) from None
    engine = charging(c)
    published = engine.publish_plan(plan, rows, effective_from, c.actor,
                                    tz=time_zone or c.container.settings.timezone, fees=_fees(fees))
    c.container.catch_up()
    return _version(engine.plan(plan, published["version"]), _published(c).get(plan, {}))


@mutation.field("rerate")
def resolve_rerate(_: Any, info: GraphQLResolveInfo, filter: dict[str, Any], plan: str,
                   version: int | None = None) -> dict[str, Any]:
    c = operator(info)
    if not any(filter.get(k) for k in RERATE_FILTERS):
        raise InvalidRequest("choose the calls to rerate: give account, caller, from or to")
    c.container.catch_up()
    calls = select_calls(c.container.views, lambda n: charging(c).normalise(n),
                         account=filter.get("account"), caller=filter.get("caller"),
                         since=filter.get("from"), until=filter.get("to"), finished=True)
    result = charging(c).rerate([r["call_id"] for r in calls], plan, version, c.actor)
    c.container.settle_views()
    return result


def _discounts(rules: Any) -> list[dict[str, Any]]:
    return [{**r, "percent": percent_text(r["basis_points"])} for r in rules]


@query.field("tariffDiscounts")
def resolve_discounts(_: Any, info: GraphQLResolveInfo, plan: str) -> list[dict[str, Any]]:
    c = tariff_reader(info)
    allowed = visible_plans(c)
    if allowed is not None and plan not in allowed:
        raise Forbidden("this key may read only its own bar's plans")
    book = charging(c).tariff(plan)
    if book is None:
        raise TariffNotFound(f"no tariff {plan}")
    return _discounts(d.to_dict() for d in book.discounts)


@mutation.field("setTariffDiscounts")
def resolve_set_discounts(_: Any, info: GraphQLResolveInfo, plan: str,
                          discounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    c = operator(info)
    try:
        rules = [PercentOff(basis_points(d["percent"]), d.get("category"), d.get("band")) for d in discounts]
    except ValueError as err:
        raise InvalidRequest(str(err)) from None
    return _discounts(charging(c).set_discounts(plan, rules, c.actor)["discounts"])


@mutation.field("setTariffFreeMinutes")
def resolve_set_free_minutes(_: Any, info: GraphQLResolveInfo, plan: str, minutes: int) -> int:
    c = operator(info)
    return int(charging(c).set_free_minutes(plan, minutes, c.actor)["free_minutes"])


BINDABLES = [query, mutation, version_type, lookup_type]
