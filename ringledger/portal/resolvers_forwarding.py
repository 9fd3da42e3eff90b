"""Forwarding in a business's name: the profile, schedule and blacklist, the calls, bill and agents.

Operators name any business and register new ones; auditors read; a business
key works on its own number only (naming another is `forbidden`, whether or
not it exists) and may change its profile, schedule, blacklist and agents'
availability, recorded with its key as the actor.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ariadne import MutationType, QueryType

from graphql import GraphQLResolveInfo
from ledger.errors import InvalidRequest
from ringledger.forwarding import build_forwarding
from ringledger.portal.context import Context, business_scope, ctx, operator
from ringledger.portal.errors import Forbidden
from ringledger.portal.pagination import page_size
from services.forwarding.service import Forwarding

query = QueryType()
mutation = MutationType()


def _service(c: Context) -> Forwarding:
    app = getattr(c.request, "app", None)
    charging = getattr(getattr(app, "state", None), "charging", None)
    return build_forwarding(c.container, charging)


def _reader(info: GraphQLResolveInfo, business: str | None) -> tuple[Context, str]:
    found = business_scope(info, business)
    if found is None:
        raise InvalidRequest("name the business")
    return ctx(info), found


def _writer(info: GraphQLResolveInfo, business: str | None) -> tuple[Context, str]:
    c = ctx(info)
    if c.principal.role not in ("operator", "business"):
        raise Forbidden(f"a {c.principal.role} key cannot change anything")
    return _reader(info, business)


def _profile(p: dict[str, Any]) -> dict[str, Any]:
    return {**p, "presented_number": p["presented"]}


@query.field("business")
def resolve_business(_: Any, info: GraphQLResolveInfo, number: str | None = None) -> dict[str, Any]:
    c, number = _reader(info, number)
    return _profile(_service(c).profile(number))


@query.field("forwardedCalls")
def resolve_calls(_: Any, info: GraphQLResolveInfo, business: str | None = None, agent: str | None = None,
                  day: date | None = None, first: int = 100) -> list[dict[str, Any]]:
    c, business = _reader(info, business)
    return _service(c).calls(business, agent=agent, day=day, limit=page_size(first))


@query.field("agentStatistics")
def resolve_statistics(_: Any, info: GraphQLResolveInfo, business: str | None = None,
                       **days: date | None) -> list[dict[str, Any]]:
    c, business = _reader(info, business)
    return _service(c).statistics(business, days.get("from"), days.get("to"))


@query.field("forwardingBill")
def resolve_bill(_: Any, info: GraphQLResolveInfo, business: str | None = None,
                 **days: date | None) -> dict[str, Any]:
    c, business = _reader(info, business)
    return _service(c).bill(business, days.get("from"), days.get("to"))


@mutation.field("registerBusiness")
def resolve_register(_: Any, info: GraphQLResolveInfo, number: str, account: str, presented_number: str | None = None,
                     greeting: str | None = None, agents: list[str] | None = None,
                     distribution: str | None = None) -> dict[str, Any]:
    c = operator(info)
    return _profile(_service(c).register(number, account, c.actor, presented=presented_number,
                                         greeting=greeting or "", agents=agents, distribution=distribution or "even"))


@mutation.field("setForwardingProfile")
def resolve_set_profile(_: Any, info: GraphQLResolveInfo, business: str | None = None,
                        presented_number: str | None = None, greeting: str | None = None,
                        agents: list[str] | None = None, distribution: str | None = None) -> dict[str, Any]:
    c, business = _writer(info, business)
    if c.principal.role == "business" and presented_number is not None \
            and _service(c).number(presented_number) != business:
        # What the called party sees: another number would be caller-ID spoofing in the platform's name.
        raise Forbidden("a business key may present only its own number; the operator sets any other")
    return _profile(_service(c).set_profile(business, c.actor, presented=presented_number, greeting=greeting,
                                            agents=agents, distribution=distribution))


@mutation.field("setForwardingSchedule")
def resolve_set_schedule(_: Any, info: GraphQLResolveInfo, rules: list[dict[str, Any]],
                         business: str | None = None) -> dict[str, Any]:
    c, business = _writer(info, business)
    return _profile(_service(c).set_schedule(business, rules, c.actor))


@mutation.field("setCallerBlacklist")
def resolve_set_blacklist(_: Any, info: GraphQLResolveInfo, numbers: list[str], prefixes: list[str],
                          business: str | None = None) -> dict[str, Any]:
    c, business = _writer(info, business)
    return _profile(_service(c).set_blacklist(business, numbers, prefixes, c.actor))


@mutation.field("markAgent")
def resolve_mark_agent(_: Any, info: GraphQLResolveInfo, agent: str, busy: bool,
                       business: str | None = None) -> dict[str, Any]:
    c, business = _writer(info, business)
    return _profile(_service(c).mark_agent(business, agent, busy, c.actor))


BINDABLES = [query, mutation]
