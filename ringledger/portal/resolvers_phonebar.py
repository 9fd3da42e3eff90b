"""Phone bars: booths, permissions, the live board, checkout and bills, the low-deposit alert.

Operators name any bar; a bar owner's key works on its own bar only (naming
another is `forbidden`); an auditor reads and changes nothing; a checkout or a
booth change by a bar owner is recorded with its key as the actor.
"""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from adapters.web.bill import render_bill
from graphql import GraphQLResolveInfo
from ledger.errors import InvalidRequest
from ringledger.phonebar import build_phonebars
from ringledger.portal.context import Context, bar_scope, ctx
from ringledger.portal.errors import Forbidden
from services.phonebar.service import PhoneBars

query = QueryType()
mutation = MutationType()


def _service(c: Context) -> PhoneBars:
    app = getattr(c.request, "app", None)
    charging = getattr(getattr(app, "state", None), "charging", None)
    return build_phonebars(c.container, charging)


def _reader(info: GraphQLResolveInfo, bar: str | None) -> tuple[Context, str]:
    found = bar_scope(info, bar)
    if found is None:
        raise InvalidRequest("name the bar")
    return ctx(info), found


def _writer(info: GraphQLResolveInfo, bar: str | None) -> tuple[Context, str]:
    c = ctx(info)
    if c.principal.role not in ("operator", "bar_owner"):
        raise Forbidden(f"a {c.principal.role} key cannot change anything")
    return _reader(info, bar)


def _booth(row: dict[str, Any], bar: str) -> dict[str, Any]:
    return {"bar": bar, **row, "last_checkout": row.get("last_checkout"), "bills": row.get("bills", 0)}


def _bill(c: Context, bill: dict[str, Any]) -> dict[str, Any]:
    return {**bill, "html": render_bill(bill, c.container.settings.timezone),
            "print_path": f"/bars/{bill['bar']}/booths/{bill['booth']}/bills/{bill['bill']}"}


@query.field("booths")
def resolve_booths(_: Any, info: GraphQLResolveInfo, bar: str | None = None) -> list[dict[str, Any]]:
    c, bar = _reader(info, bar)
    return [_booth(b, bar) for b in _service(c).booths(bar)]


@query.field("boothBoard")
def resolve_board(_: Any, info: GraphQLResolveInfo, bar: str | None = None) -> list[dict[str, Any]]:
    c, bar = _reader(info, bar)
    return _service(c).board(bar)


@query.field("boothBill")
def resolve_bill(_: Any, info: GraphQLResolveInfo, booth: str, bill: int,
                 bar: str | None = None) -> dict[str, Any] | None:
    c, bar = _reader(info, bar)
    found = _service(c).bill(bar, booth, bill)
    return _bill(c, found) if found else None


@query.field("boothBills")
def resolve_bills(_: Any, info: GraphQLResolveInfo, bar: str | None = None,
                  booth: str | None = None) -> list[dict[str, Any]]:
    c, bar = _reader(info, bar)
    return _service(c).bills(bar, booth)


@query.field("lowDepositAlert")
def resolve_alert(_: Any, info: GraphQLResolveInfo, bar: str | None = None) -> dict[str, Any]:
    from projections.phonebar_reads import alert_setting

    c, bar = _reader(info, bar)
    return alert_setting(c.container.views, bar)


def _permissions(given: dict[str, Any] | None) -> dict[str, Any]:
    if given is None:
        return {}
    return {"categories": given["categories"], "allow": given.get("allow") or [], "deny": given.get("deny") or []}


@mutation.field("addBooth")
def resolve_add(_: Any, info: GraphQLResolveInfo, name: str, bar: str | None = None,
                permissions: dict[str, Any] | None = None) -> dict[str, Any]:
    c, bar = _writer(info, bar)
    return {**_service(c).add_booth(bar, name, c.actor, **_permissions(permissions)), "bills": 0}


@mutation.field("removeBooth")
def resolve_remove(_: Any, info: GraphQLResolveInfo, name: str, bar: str | None = None) -> bool:
    c, bar = _writer(info, bar)
    return bool(_service(c).remove_booth(bar, name, c.actor)["removed"])


@mutation.field("setBoothPermissions")
def resolve_permissions(_: Any, info: GraphQLResolveInfo, name: str, permissions: dict[str, Any],
                        bar: str | None = None) -> dict[str, Any]:
    c, bar = _writer(info, bar)
    service = _service(c)
    service.set_permissions(bar, name, c.actor, **_permissions(permissions))
    return next(_booth(b, bar) for b in service.booths(bar) if b["name"] == name)


@mutation.field("checkoutBooth")
def resolve_checkout(_: Any, info: GraphQLResolveInfo, booth: str, bar: str | None = None,
                     op_id: str | None = None) -> dict[str, Any]:
    c, bar = _writer(info, bar)
    return _bill(c, _service(c).checkout(bar, booth, c.actor, op_id))


@mutation.field("setLowDepositAlert")
def resolve_set_alert(_: Any, info: GraphQLResolveInfo, bar: str | None = None, threshold: int | None = None,
                      phone: str | None = None) -> dict[str, Any]:
    c, bar = _writer(info, bar)
    return _service(c).set_alert(bar, threshold, phone, c.actor)


BINDABLES = [query, mutation]
