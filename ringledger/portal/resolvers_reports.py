"""Reports: daily revenue, card inventory, low balances; each with its rows and a CSV."""

from __future__ import annotations

from datetime import date
from typing import Any

from ariadne import QueryType

from graphql import GraphQLResolveInfo
from ledger.errors import InvalidRequest
from projections.reports import (
    call_days,
    card_inventory,
    daily_card_sales,
    daily_revenue,
    low_balance_accounts,
)
from ringledger.portal.context import bar_scope, ctx, reader
from ringledger.portal.pagination import page_size
from ringledger.reports import (
    CALL_COLUMNS,
    INVENTORY_COLUMNS,
    LOW_BALANCE_COLUMNS,
    REVENUE_COLUMNS,
    to_csv,
)

query = QueryType()
MAX_DAYS = 366


def day_range(start: date, end: date) -> None:
    if end < start:
        raise InvalidRequest("`to` is before `from`")
    if (end - start).days >= MAX_DAYS:
        raise InvalidRequest(f"a report covers at most {MAX_DAYS} days")


@query.field("dailyRevenue")
def resolve_daily_revenue(_: Any, info: GraphQLResolveInfo, **kw: Any) -> dict[str, Any]:
    c = reader(info)
    start, end = kw["from"], kw["to"]
    day_range(start, end)
    rows = daily_revenue(c.container.views, c.container.settings.timezone, start, end)
    sales = daily_card_sales(c.container.views, c.container.settings.timezone, start, end)
    return {"rows": rows, "total": sum(r["amount"] for r in rows), "csv": to_csv(rows, REVENUE_COLUMNS),
            "card_sales": sales}


@query.field("cardInventory")
def resolve_card_inventory(_: Any, info: GraphQLResolveInfo, batch: str | None = None) -> dict[str, Any]:
    rows = card_inventory(reader(info).container.views, batch)
    return {"rows": rows, "csv": to_csv(rows, INVENTORY_COLUMNS)}


@query.field("lowBalanceAccounts")
def resolve_low_balance(_: Any, info: GraphQLResolveInfo, below: int = 20_000, kind: str | None = None,
                        first: int = 100) -> dict[str, Any]:
    c = ctx(info)
    bar = c.principal.bar if c.principal.role == "bar_owner" else None
    if bar is None:
        reader(info)
    rows = low_balance_accounts(c.container.views, below, kind, bar, page_size(first))
    return {"rows": rows, "csv": to_csv(rows, LOW_BALANCE_COLUMNS)}


def _calls(info: GraphQLResolveInfo, bar: str | None, start: date, end: date) -> dict[str, Any]:
    day_range(start, end)
    c = ctx(info)
    rows = call_days(c.container.views, c.container.settings.timezone, start, end, bar)
    return {"rows": rows, "csv": to_csv(rows, CALL_COLUMNS)}


@query.field("callStatistics")
def resolve_call_statistics(_: Any, info: GraphQLResolveInfo, bar: str | None = None, **kw: Any) -> dict[str, Any]:
    return _calls(info, bar_scope(info, bar), kw["from"], kw["to"])


@query.field("barStatement")
def resolve_bar_statement(_: Any, info: GraphQLResolveInfo, bar: str | None = None, **kw: Any) -> dict[str, Any]:
    scoped = bar_scope(info, bar)
    if scoped is None:
        raise InvalidRequest("name the bar (its phonebar account number)")
    return _calls(info, scoped, kw["from"], kw["to"])


BINDABLES = [query]
