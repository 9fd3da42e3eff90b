"""Recurring fees: the subscriptions view (scoped like accounts), and the operator's subscribe and cancel
through `services.subscriptions`."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, ObjectType, QueryType

from graphql import GraphQLResolveInfo
from ledger.text import check_text
from ringledger.portal.context import Context, bar_scope, ctx, operator
from ringledger.portal.resolvers_tariffs import charging
from ringledger.subscriptions import build_subscriptions
from services.subscriptions import Subscriptions

query = QueryType()
mutation = MutationType()
subscription_type = ObjectType("FeeSubscription")


def fees(c: Context) -> Subscriptions:
    """The service on the portal's business clock (charging's: one per process)."""
    return build_subscriptions(c.container, charging(c).clock)


def _row(c: Context, account: str, service: str) -> dict[str, Any]:
    return next(s for s in fees(c).list(account) if s["service"] == service)


@query.field("feeSubscriptions")
def resolve_subscriptions(_: Any, info: GraphQLResolveInfo, account: str | None = None,
                          status: str | None = None) -> list[dict[str, Any]]:
    if account is not None:
        check_text(account, "an account number", 20)
    if status is not None:
        check_text(status, "a status", 20)
    scoped = bar_scope(info, account)
    return fees(ctx(info)).list(scoped, status)


@subscription_type.field("history")
def resolve_history(row: dict[str, Any], info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    return fees(ctx(info)).history(row["account"], row["service"])


@mutation.field("subscribe")
def resolve_subscribe(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    c = operator(info)
    done = fees(c).subscribe(input["account"], input["service"], input["fee"], c.actor,
                             period=input.get("period") or "monthly", anchor_day=input.get("anchor_day"),
                             term=input.get("term") or 0)
    return _row(c, done["account"], done["service"])


@mutation.field("cancelSubscription")
def resolve_cancel(_: Any, info: GraphQLResolveInfo, account: str, service: str,
                   reason: str | None = None) -> dict[str, Any]:
    c = operator(info)
    done = fees(c).cancel(account, service, c.actor, reason or "")
    return _row(c, done["account"], done["service"])


BINDABLES = [query, mutation, subscription_type]
