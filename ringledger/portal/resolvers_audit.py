"""Who am I, API keys, and the digest chain's head."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from graphql import GraphQLResolveInfo
from ledger.errors import InvalidRequest
from ringledger.audit import chain
from ringledger.portal.context import ctx, operator, reader
from services.api_keys import create_key, revoke_key

query = QueryType()
mutation = MutationType()


@query.field("me")
def resolve_me(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    p = ctx(info).principal
    return {"key_id": p.key_id, "role": p.role, "bar": p.bar if p.role != "business" else None,
            "business": p.business}


@query.field("auditDigest")
def resolve_audit_digest(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    c = reader(info)
    position, digest = chain.head(c.container.views)
    return {"position": position, "digest": digest}


@query.field("apiKeys")
def resolve_api_keys(_: Any, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    rows = reader(info).container.views.query(
        "SELECT key_id, role, bar, label, created_at, created_by, revoked_at FROM api_keys ORDER BY created_at, key_id"
    )
    cols = ("key_id", "role", "bar", "label", "created_at", "created_by", "revoked_at")
    return [dict(zip(cols, r, strict=True)) for r in rows]


@mutation.field("createKey")
def resolve_create_key(_: Any, info: GraphQLResolveInfo, role: str, bar: str | None = None,
                       label: str | None = None, business: str | None = None) -> dict[str, Any]:
    c = operator(info)
    if business is not None and bar is not None:
        raise InvalidRequest("a key names a bar or a business, not both")
    token, principal = create_key(c.container.ledger, role, c.actor, bar=bar or business, label=label or "")
    c.container.catch_up()
    return {"key_id": principal.key_id, "role": role, "bar": bar, "business": principal.business, "token": token}


@mutation.field("revokeKey")
def resolve_revoke_key(_: Any, info: GraphQLResolveInfo, key_id: str, reason: str | None = None) -> bool:
    c = operator(info)
    revoke_key(c.container.ledger, key_id, c.actor, reason or "")
    c.container.catch_up()
    return True


BINDABLES = [query, mutation]
