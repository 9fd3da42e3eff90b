"""Conferences: look-ups and pages from the conference view (scoped like accounts), and the
operator's bookings and in-call controls through `services.conferences`."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, ObjectType, QueryType

from graphql import GraphQLResolveInfo
from ledger.conferences import ConferenceNotFound
from ledger.text import check_text
from projections import conference_reads as views
from ringledger.conferences import build_conferences
from ringledger.portal.context import Context, account_reader, bar_scope, ctx, operator
from ringledger.portal.pagination import connection, decode, page_size
from ringledger.portal.resolvers_tariffs import charging
from services.conferences import Conferences

query = QueryType()
mutation = MutationType()
conference_type = ObjectType("Conference")


def conferences(c: Context) -> Conferences:
    """The app's conference service (its ports and clock), else one built on the container's."""
    app = c.request.scope.get("app") if c.request is not None else None
    found = getattr(getattr(app, "state", None), "conferences", None)
    return found if isinstance(found, Conferences) else build_conferences(c.container, charging(c))


@query.field("conference")
def resolve_conference(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    check_text(id, "a conference id", 64, required=True)
    row = views.conference(ctx(info).container.views, id)
    if row is not None:
        account_reader(info, row["account"])
    return row


@query.field("conferences")
def resolve_conferences(_: Any, info: GraphQLResolveInfo, account: str | None = None, status: str | None = None,
                        first: int = 50, after: str | None = None) -> dict[str, Any]:
    first = page_size(first)
    if account is not None:
        check_text(account, "an account number", 20)
    if status is not None:
        check_text(status, "a status", 20)
    scoped = bar_scope(info, account)
    cursor = decode(after, str, str)
    rows = views.conferences(ctx(info).container.views, account=scoped, status=status,
                             after=(cursor[0], cursor[1]) if cursor else None, limit=first + 1)
    return connection(rows, first, lambda r: [r["start_at"], r["conference_id"]])


@conference_type.field("legs")
def resolve_legs(row: dict[str, Any], info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    return views.legs(ctx(info).container.views, row["conference_id"])


@conference_type.field("charged")
def resolve_charged(row: dict[str, Any], info: GraphQLResolveInfo) -> int:
    return sum(leg["charged"] for leg in views.legs(ctx(info).container.views, row["conference_id"]))


# --- mutations (operator keys only) ------------------------------------------------


def _fresh(c: Context, conference_id: str) -> dict[str, Any]:
    c.container.catch_up()
    row = views.conference(c.container.views, conference_id)
    if row is None:
        raise ConferenceNotFound(f"no conference {conference_id}")
    return row


@mutation.field("bookConference")
def resolve_book(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    c = operator(info)
    booked = conferences(c).book(
        initiator=input["initiator"], participants=input["participants"], start_at=input["start_at"],
        retries=input.get("retries", 0), retry_interval=input.get("retry_interval", 60), actor=c.actor,
        account=input.get("account"), op_id=input.get("op_id"))
    return _fresh(c, booked["conference_id"])


@mutation.field("cancelConference")
def resolve_cancel(_: Any, info: GraphQLResolveInfo, id: str, reason: str | None = None) -> dict[str, Any]:
    c = operator(info)
    conferences(c).cancel(id, c.actor, reason or "")
    return _fresh(c, id)


@mutation.field("inviteParticipant")
def resolve_invite(_: Any, info: GraphQLResolveInfo, id: str, number: str) -> dict[str, Any]:
    c = operator(info)
    conferences(c).invite(id, number, c.actor)
    return _fresh(c, id)


@mutation.field("dropParticipant")
def resolve_drop(_: Any, info: GraphQLResolveInfo, id: str, number: str) -> dict[str, Any]:
    c = operator(info)
    conferences(c).drop(id, number, c.actor)
    return _fresh(c, id)


BINDABLES = [query, mutation, conference_type]
