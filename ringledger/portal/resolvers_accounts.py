"""Accounts: look-ups, statements (from gl_postings, with running balance), holds, and the
operator's account mutations. Mutations answer from the views after catching them up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ariadne import MutationType, ObjectType, QueryType

from graphql import GraphQLResolveInfo
from ledger.errors import AccountNotFound, InvalidRequest
from projections import account_reads as views
from projections.db import equal_filters
from ringledger.phones import to_e164
from ringledger.portal.context import (
    Context,
    account_reader,
    bar_scope,
    ctx,
    operator,
)
from ringledger.portal.pagination import connection, decode, page_size
from ringledger.portal.resolvers_tariffs import charging
from ringledger.subscriptions import build_subscriptions
from services.pins import change_pin

query = QueryType()
mutation = MutationType()
account_type = ObjectType("Account")


def _visible(info: GraphQLResolveInfo, row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The row if this key may read it. A bar owner gets null for another bar's account exactly as for
    no account at all, so a look-up by phone or id never tells them whether someone else's exists."""
    if row is None:
        return None
    if ctx(info).principal.role == "bar_owner" and row["number"] != ctx(info).principal.bar:
        return None
    account_reader(info, row["number"])
    return row


@query.field("account")
def resolve_account(_: Any, info: GraphQLResolveInfo, number: str | None = None, id: str | None = None,
                    phone: str | None = None) -> dict[str, Any] | None:
    given = [x for x in (number, id, phone) if x is not None]
    if len(given) != 1:
        raise InvalidRequest("give exactly one of number, id or phone")
    db = ctx(info).container.views
    if number is not None:
        account_reader(info, number)
        return views.account_by(db, "number", number)
    if id is not None:
        return _visible(info, views.account_by(db, "id", id.replace("-", "").lower()))
    return _visible(info, views.account_for_phone(db, to_e164(phone or "")))


@query.field("accounts")
def resolve_accounts(_: Any, info: GraphQLResolveInfo, kind: str | None = None, status: str | None = None,
                     first: int = 50, after: str | None = None) -> dict[str, Any]:
    first = page_size(first)
    bar = bar_scope(info, None)
    where, params = equal_filters((("kind", kind), ("status", status), ("number", bar)))
    cursor = decode(after, str)
    if cursor is not None:
        where.append("number > ?")
        params.append(cursor[0])
    sql = views.ACCOUNT_SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY number LIMIT ?"
    rows = ctx(info).container.views.query(sql, [*params, first + 1])
    return connection([views.account_dict(r) for r in rows], first, lambda a: [a["number"]])


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def statement(c: Context, account_id: str, start: datetime | None, end: datetime | None, first: int,
              after: str | None) -> dict[str, Any]:
    first = page_size(first)
    sql = "SELECT position, seq, amount, balance_after, event, at, memo FROM gl_postings WHERE account = ?"
    params: list[Any] = [account_id]
    if start is not None:
        sql += " AND at >= ?"
        params.append(_utc(start))
    if end is not None:
        sql += " AND at < ?"
        params.append(_utc(end))
    cursor = decode(after, int, int)
    if cursor is not None:
        sql += " AND (position > ? OR (position = ? AND seq > ?))"
        params += [cursor[0], cursor[0], cursor[1]]
    rows = c.container.views.query(sql + " ORDER BY position, seq LIMIT ?", [*params, first + 1])
    nodes = [
        {"position": p, "seq": s, "amount": int(a), "balance_after": int(b), "event": e, "at": at, "memo": m}
        for p, s, a, b, e, at, m in rows
    ]
    return connection(nodes, first, lambda n: [n["position"], n["seq"]])


@query.field("statement")
def resolve_statement(_: Any, info: GraphQLResolveInfo, account: str, first: int = 50, after: str | None = None,
                      **kw: Any) -> dict[str, Any]:
    c = account_reader(info, account)
    row = views.account_by(c.container.views, "number", account)
    if row is None:
        raise AccountNotFound(f"no account {account}")
    return statement(c, row["id"], kw.get("from"), kw.get("to"), first, after)


@account_type.field("statement")
def resolve_account_statement(account: dict[str, Any], info: GraphQLResolveInfo, first: int = 50,
                              after: str | None = None, **kw: Any) -> dict[str, Any]:
    return statement(ctx(info), account["id"], kw.get("from"), kw.get("to"), first, after)


@account_type.field("phones")
def resolve_phones(account: dict[str, Any], info: GraphQLResolveInfo) -> list[str]:
    rows = ctx(info).container.views.query(
        "SELECT phone FROM phone_bindings WHERE account = ? ORDER BY phone", (account["number"],)
    )
    return [r[0] for r in rows]


@account_type.field("permissions")
def resolve_account_permissions(account: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any] | None:
    account_reader(info, account["number"])
    return ctx(info).container.ledger.account(account["number"]).permissions


@account_type.field("holds")
def resolve_account_holds(account: dict[str, Any], info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    return views.holds(ctx(info).container.views, account["number"])


@query.field("holds")
def resolve_holds(_: Any, info: GraphQLResolveInfo, account: str | None = None) -> list[dict[str, Any]]:
    number = bar_scope(info, account)
    return views.holds(ctx(info).container.views, number)


# --- mutations (operator keys only) ------------------------------------------------


def _fresh(c: Context, number: str) -> dict[str, Any]:
    c.container.catch_up()
    row = views.account_by(c.container.views, "number", number)
    if row is None:
        raise AccountNotFound(f"no account {number}")
    return row


@mutation.field("openAccount")
def resolve_open_account(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    c = operator(info)
    opened = c.container.ledger.open_account(
        input["kind"], c.actor, number=input.get("number"), plan=input.get("plan"), pin=input.get("pin"),
        op_id=input.get("op_id"),
    )
    return _fresh(c, opened["number"])


def _status(info: GraphQLResolveInfo, number: str, action: str, reason: str | None) -> dict[str, Any]:
    c = operator(info)
    c.container.ledger.set_status(number, action, c.actor, reason or "")
    return _fresh(c, number)


@mutation.field("closeAccount")
def resolve_close(_: Any, info: GraphQLResolveInfo, number: str, reason: str | None = None) -> dict[str, Any]:
    return _status(info, number, "close", reason)


@mutation.field("suspendAccount")
def resolve_suspend(_: Any, info: GraphQLResolveInfo, number: str, reason: str | None = None) -> dict[str, Any]:
    return _status(info, number, "suspend", reason)


@mutation.field("resumeAccount")
def resolve_resume(_: Any, info: GraphQLResolveInfo, number: str, reason: str | None = None) -> dict[str, Any]:
    return _status(info, number, "resume", reason)


@mutation.field("bindNumber")
def resolve_bind(_: Any, info: GraphQLResolveInfo, number: str, phone: str) -> dict[str, Any]:
    c = operator(info)
    c.container.ledger.bind(number, to_e164(phone), c.actor)
    return _fresh(c, number)


@mutation.field("setRetailPlan")
def resolve_set_retail_plan(_: Any, info: GraphQLResolveInfo, number: str, plan: str | None = None) -> dict[str, Any]:
    c = operator(info)
    c.container.ledger.set_retail_plan(number, plan, c.actor)
    return _fresh(c, number)


@mutation.field("setCallPermissions")
def resolve_set_call_permissions(_: Any, info: GraphQLResolveInfo, number: str,
                                 permissions: dict[str, Any] | None = None) -> dict[str, Any]:
    c = operator(info)
    rules = None if permissions is None else {k: v for k, v in permissions.items() if v is not None}
    c.container.ledger.set_call_permissions(number, rules, c.actor)
    return _fresh(c, number)


@mutation.field("unbindNumber")
def resolve_unbind(_: Any, info: GraphQLResolveInfo, phone: str) -> dict[str, Any]:
    c = operator(info)
    summary = c.container.ledger.unbind(to_e164(phone), c.actor)
    return _fresh(c, summary["number"])


@mutation.field("changePin")
def resolve_change_pin(_: Any, info: GraphQLResolveInfo, number: str, new_pin: str,
                       old_pin: str | None = None) -> bool:
    c = operator(info)
    change_pin(charging(c), number, old_pin, new_pin, c.actor)
    c.container.settle_views()
    return True


@mutation.field("checkPin")
def resolve_check_pin(_: Any, info: GraphQLResolveInfo, number: str, pin: str) -> dict[str, Any]:
    c = operator(info)
    result = c.container.ledger.check_pin(number, pin, c.actor)
    c.container.catch_up()
    return result


def _positive(amount: int) -> int:
    if amount <= 0:
        raise InvalidRequest("the amount must be greater than zero")
    return amount


@mutation.field("deposit")
def resolve_deposit(_: Any, info: GraphQLResolveInfo, number: str, amount: int, memo: str | None = None,
                    op_id: str | None = None) -> dict[str, Any]:
    c = operator(info)
    c.container.ledger.deposit(number, _positive(amount), c.actor, memo or "", op_id=op_id)
    build_subscriptions(c.container, charging(c).clock).settle_arrears(number)  # suspended fees it can now pay
    return _fresh(c, number)


@mutation.field("transfer")
def resolve_transfer(_: Any, info: GraphQLResolveInfo, amount: int, op_id: str | None = None,
                     **kw: Any) -> dict[str, Any]:
    c = operator(info)
    source, target = kw["from"], kw["to"]
    c.container.ledger.transfer(source, target, _positive(amount), c.actor, op_id=op_id)
    return {"from": _fresh(c, source), "to": _fresh(c, target), "amount": amount}


@mutation.field("adjust")
def resolve_adjust(_: Any, info: GraphQLResolveInfo, number: str, amount: int, reason: str,
                   op_id: str | None = None) -> dict[str, Any]:
    c = operator(info)
    c.container.ledger.adjust(number, amount, c.actor, reason, op_id=op_id)
    return _fresh(c, number)


BINDABLES = [query, mutation, account_type]
