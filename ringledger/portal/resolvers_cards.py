"""The card library: cards and batches by state, batch and number; issue, sell, cancel, redeem."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, ObjectType, QueryType

from graphql import GraphQLResolveInfo
from ledger.cardnumbers import check_card_number
from ledger.errors import InvalidRequest
from projections.db import equal_filters
from projections.reports import card_inventory
from ledger.sales import check_sale_price
from ringledger.card_sales import cards_to_sell
from ringledger.phones import to_e164
from ringledger.portal.context import operator, reader
from ringledger.portal.pagination import connection, decode, page_size

query = QueryType()
mutation = MutationType()
batch_type = ObjectType("Batch")

CARD_COLUMNS = ("number", "kind", "batch", "serial", "face", "status", "account", "updated_at")
CARD_SELECT = "SELECT " + ", ".join(CARD_COLUMNS) + " FROM cards"
BATCH_COLUMNS = ("name", "kind", "face", "count", "plan", "issued_at", "issued_by")
BATCH_SELECT = "SELECT name, kind, face, count, plan, issued_at, actor FROM card_batches"
MAX_API_ISSUE = 10_000


def _card(row: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(CARD_COLUMNS, row, strict=True))
    d["face"] = int(d["face"])
    return d


def _batch(row: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(BATCH_COLUMNS, row, strict=True))
    d["face"] = int(d["face"])
    return d


@query.field("card")
def resolve_card(_: Any, info: GraphQLResolveInfo, number: str) -> dict[str, Any] | None:
    rows = reader(info).container.views.query(CARD_SELECT + " WHERE number = ?", (number,))
    return _card(rows[0]) if rows else None


@query.field("cards")
def resolve_cards(_: Any, info: GraphQLResolveInfo, batch: str | None = None, status: str | None = None,
                  first: int = 50, after: str | None = None) -> dict[str, Any]:
    c = reader(info)
    first = page_size(first)
    where, params = equal_filters((("batch", batch), ("status", status)))
    cursor = decode(after, str, int)
    if cursor is not None:
        where.append("(batch > ? OR (batch = ? AND serial > ?))")
        params += [cursor[0], cursor[0], cursor[1]]
    sql = CARD_SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY batch, serial LIMIT ?"
    rows = c.container.views.query(sql, [*params, first + 1])
    return connection([_card(r) for r in rows], first, lambda d: [d["batch"], d["serial"]])


@query.field("batches")
def resolve_batches(_: Any, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    return [_batch(r) for r in reader(info).container.views.query(BATCH_SELECT + " ORDER BY name")]


@query.field("batch")
def resolve_batch(_: Any, info: GraphQLResolveInfo, name: str) -> dict[str, Any] | None:
    rows = reader(info).container.views.query(BATCH_SELECT + " WHERE name = ?", (name,))
    return _batch(rows[0]) if rows else None


@batch_type.field("inventory")
def resolve_inventory(batch: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any]:
    return card_inventory(reader(info).container.views, batch["name"])[0]


@mutation.field("issueCards")
def resolve_issue(_: Any, info: GraphQLResolveInfo, kind: str, count: int, face: int, batch: str,
                  plan: str | None = None) -> dict[str, Any]:
    c = operator(info)
    if not 1 <= count <= MAX_API_ISSUE:
        raise InvalidRequest(f"the API issues 1 to {MAX_API_ISSUE} cards at a time; use the CLI for more")
    issued = c.container.ledger.issue_batch(kind, count, face, c.actor, name=batch, plan=plan)
    c.container.settle_views()
    return {
        "batch": resolve_batch(None, info, batch),
        "cards": [{"serial": s, "number": n, "pin": p} for s, n, p in issued],
    }


@mutation.field("activateCards")
def resolve_activate(_: Any, info: GraphQLResolveInfo, batch: str, from_serial: int | None = None,
                     to_serial: int | None = None, rest: bool = False, price: int | None = None) -> dict[str, Any]:
    c = operator(info)
    c.container.catch_up()
    b = c.container.ledger.batch(batch)
    each = check_sale_price(b.face, price)
    numbers = cards_to_sell(c.container.views, b, from_serial, to_serial, rest)
    sold = c.container.ledger.sell_cards(numbers, b.kind, b.face, c.actor, price=each)
    c.container.settle_views()
    return {"batch": batch, "sold": sold, "value": sold * b.face, "paid": sold * each,
            "discount": sold * (b.face - each)}


@mutation.field("cancelCard")
def resolve_cancel(_: Any, info: GraphQLResolveInfo, number: str, reason: str) -> dict[str, Any]:
    c = operator(info)
    c.container.ledger.cancel_card(check_card_number(number), c.actor, reason)
    c.container.catch_up()
    card = resolve_card(None, info, number)
    assert card is not None
    return card


@mutation.field("unlockCard")
def resolve_unlock(_: Any, info: GraphQLResolveInfo, number: str, reason: str) -> dict[str, Any]:
    c = operator(info)
    c.container.ledger.unlock_card(check_card_number(number), c.actor, reason)
    c.container.catch_up()
    card = resolve_card(None, info, number)
    assert card is not None
    return card


@mutation.field("redeemVoucher")
def resolve_redeem(_: Any, info: GraphQLResolveInfo, number: str, pin: str, phone: str,
                   op_id: str | None = None) -> dict[str, Any]:
    c = operator(info)
    result = c.container.ledger.redeem_voucher(check_card_number(number), pin, to_e164(phone), c.actor, op_id=op_id)
    c.container.settle_views()
    return result


BINDABLES = [query, mutation, batch_type]
