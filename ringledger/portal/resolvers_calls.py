"""CDRs with filters and cursor pagination (newest first); a bar owner sees only their bar's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ariadne import QueryType

from graphql import GraphQLResolveInfo
from ledger.errors import InvalidRequest
from projections.cdrs import COLUMNS
from ringledger.portal.context import bar_scope, ctx
from ringledger.portal.pagination import connection, decode, page_size

query = QueryType()

FIELDS = (
    "id", "call_id", "status", "reason", "account", "caller", "callee", "callee_e164", "category",
    "destination_prefix", "destination_name", "service", "booth", "bar", "plan", "plan_version", "rate_name",
    "price_per_minute", "authorized_at", "answered_at", "ended_at", "billsec", "charged", "cost", "cause", "flags",
    "list_price", "discount",
)
assert set(FIELDS) <= set(COLUMNS)
SELECT = "SELECT " + ", ".join(FIELDS) + " FROM cdrs"
EQUAL = ("account", "booth", "caller", "callee", "category", "service", "status")


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(FIELDS, r, strict=True))
    for money in ("charged", "cost", "list_price", "discount"):
        d[money] = int(d[money])
    return d


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


@query.field("cdrs")
def resolve_cdrs(_: Any, info: GraphQLResolveInfo, filter: dict[str, Any] | None = None, first: int = 50,
                 after: str | None = None) -> dict[str, Any]:
    f = filter or {}
    bar = bar_scope(info, f.get("bar"))
    first = page_size(first)
    where, params = [], []
    if bar is not None:
        where.append("bar = ?")
        params.append(bar)
    for name in EQUAL:
        if f.get(name) is not None:
            where.append(f"{name} = ?")
            params.append(f[name])
    if f.get("from") is not None:
        where.append("authorized_at >= ?")
        params.append(_utc(f["from"]))
    if f.get("to") is not None:
        where.append("authorized_at < ?")
        params.append(_utc(f["to"]))
    cursor = decode(after, str, str)
    if cursor is not None:
        _check_instant_key(cursor[0])
        where.append("(authorized_at < ? OR (authorized_at = ? AND id < ?))")
        params += [cursor[0], cursor[0], cursor[1]]
    sql = SELECT + (" WHERE " + " AND ".join(where) if where else "")
    rows = ctx(info).container.views.query(sql + " ORDER BY authorized_at DESC, id DESC LIMIT ?", [*params, first + 1])
    return connection([_row(r) for r in rows], first, lambda d: [d["authorized_at"], d["id"]])


def _check_instant_key(text: str) -> None:
    """A CDR cursor's first part is an instant in UTC as the view writes it; anything else is refused."""
    try:
        at = datetime.fromisoformat(text)
        canonical = at.utcoffset() is not None and at.astimezone(UTC).isoformat() == text
    except (ValueError, OverflowError):
        canonical = False
    if not canonical:
        raise InvalidRequest("not a cursor from this API")


@query.field("cdr")
def resolve_cdr(_: Any, info: GraphQLResolveInfo, call_id: str) -> dict[str, Any] | None:
    """A bar owner finds only its own bar's CDRs; any other call id reads as unknown."""
    bar = bar_scope(info, None)
    if bar is None:
        rows = ctx(info).container.views.query(SELECT + " WHERE call_id = ?", (call_id,))
    else:
        rows = ctx(info).container.views.query(SELECT + " WHERE call_id = ? AND bar = ?", (call_id, bar))
    return _row(rows[0]) if rows else None


BINDABLES = [query]
