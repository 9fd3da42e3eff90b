"""Who is asking, and what they may see: every resolver goes through these checks.

operator: everything. auditor: every read, no mutation. bar_owner: only
their own bar's account, holds, statement and CDRs. business: only its own
forwarding profile, calls, bill and agents (`business_scope`; every other
field is refused before it resolves, `business_fields`). switch: no portal
at all (refused before the query runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLResolveInfo
from ringledger.container import Container
from ringledger.portal.errors import Forbidden
from services.api_keys import Principal

READERS = ("operator", "auditor")
_KEY_NAMES = {"operator": "an operator key", "auditor": "an auditor key", "bar_owner": "a bar owner key", "business": "a business key",
              "switch": "a switch key"}


def key_name(role: str) -> str:
    """The role of a key as a reader says it: "an auditor key", "a bar owner key"."""
    return _KEY_NAMES.get(role, f"a key of role {role}")


@dataclass
class Context:
    container: Container
    principal: Principal
    request: Any = None

    @property
    def actor(self) -> str:
        return self.principal.actor


def ctx(info: GraphQLResolveInfo) -> Context:
    return info.context  # type: ignore[no-any-return]


def operator(info: GraphQLResolveInfo) -> Context:
    """The context of a request that may change things (operator keys only)."""
    c = ctx(info)
    if c.principal.role != "operator":
        raise Forbidden(f"{key_name(c.principal.role)} cannot change anything")
    return c


def reader(info: GraphQLResolveInfo) -> Context:
    """The context of a request for house-wide data (operator and auditor keys)."""
    c = ctx(info)
    if c.principal.role not in READERS:
        raise Forbidden(f"{key_name(c.principal.role)} cannot read house-wide data")
    return c


def account_reader(info: GraphQLResolveInfo, number: str | None) -> Context:
    """Operators and auditors read any account; a bar owner only their own bar's."""
    c = ctx(info)
    if c.principal.role in READERS:
        return c
    if c.principal.role == "bar_owner" and number is not None and number == c.principal.bar:
        return c
    raise Forbidden("this key may read only its own bar's data")


def bar_scope(info: GraphQLResolveInfo, requested: str | None) -> str | None:
    """The bar a query is limited to: a bar owner's own (asking for another is refused)."""
    c = ctx(info)
    if c.principal.role in READERS:
        return requested
    if c.principal.role == "bar_owner":
        if requested is not None and requested != c.principal.bar:
            raise Forbidden("this key may read only its own bar's data")
        return c.principal.bar
    raise Forbidden(f"{key_name(c.principal.role)} cannot use the portal")


#: The only root fields a business key may select: its own forwarding profile, calls, bill and agents.
BUSINESS_FIELDS = frozenset({"me", "business", "forwardedCalls", "agentStatistics", "forwardingBill",
                             "setForwardingProfile", "setForwardingSchedule", "setCallerBlacklist", "markAgent"})
ROOTS = ("Query", "Mutation")


def business_fields(resolve: Any, obj: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Middleware: a business key gets `forbidden` for any other root field, before it resolves
    (so it learns nothing, not even whether what it named exists)."""
    if info.parent_type.name in ROOTS and info.field_name not in BUSINESS_FIELDS \
            and ctx(info).principal.role == "business":
        raise Forbidden("a business key may read only its own forwarding profile, calls, bill and agents")
    return resolve(obj, info, **args)


def business_scope(info: GraphQLResolveInfo, requested: str | None) -> str | None:
    """The business a query is limited to: a business key's own (naming another is refused, whether or
    not it exists); operators and auditors name any."""
    c = ctx(info)
    if c.principal.role in READERS:
        return requested
    if c.principal.role == "business":
        if requested is not None and requested != c.principal.business:
            raise Forbidden("this key may read only its own business's data")
        return c.principal.business
    raise Forbidden(f"{key_name(c.principal.role)} cannot read forwarding data")
