"""Missed-call notification in the portal: the same service as the switch's hooks, the IVR and SMS."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from graphql import GraphQLResolveInfo
from ringledger.missed_calls import build_missed_calls
from ringledger.portal.context import Context, ctx, operator, reader
from ringledger.portal.resolvers_tariffs import charging
from services.missed_calls import MissedCalls

query = QueryType()
mutation = MutationType()


def service(c: Context) -> MissedCalls:
    """The app's service (its SMS gateway and clock), else one built on the container."""
    app = c.request.scope.get("app") if c.request is not None else None
    found = getattr(getattr(app, "state", None), "missed_calls", None)
    return found if isinstance(found, MissedCalls) else build_missed_calls(c.container, charging(c))


def _pin(done: dict[str, Any], ok: str) -> dict[str, Any]:
    return {"number": done["number"], "ok": done[ok], "reason": done["reason"], "tries_left": done["tries_left"]}


@query.field("missedCallNotices")
def resolve_notices(_: Any, info: GraphQLResolveInfo, number: str, limit: int = 100) -> list[dict[str, Any]]:
    reader(info)
    return service(ctx(info)).notices(number, limit)


@query.field("missedCallAdverts")
def resolve_adverts(_: Any, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    reader(info)
    return service(ctx(info)).adverts()


@mutation.field("reportMissedCall")
def resolve_report(_: Any, info: GraphQLResolveInfo, call_id: str, caller: str, callee: str,
                   cause: str) -> dict[str, Any]:
    c = operator(info)
    return service(c).missed(call_id, caller, callee, cause, c.actor)


@mutation.field("requestReachableNotice")
def resolve_request(_: Any, info: GraphQLResolveInfo, call_id: str, caller: str, callee: str,
                    notify: str | None = None) -> dict[str, Any]:
    c = operator(info)
    return service(c).request_reachable(call_id, caller, callee, notify, c.actor)


@mutation.field("reportCalleeReachable")
def resolve_reachable(_: Any, info: GraphQLResolveInfo, event_id: str, callee: str) -> dict[str, Any]:
    c = operator(info)
    done = service(c).reachable(event_id, callee, c.actor)
    return {"callee": done["callee"], "notices": len(done["notices"]),
            "reachable_notices": len(done["reachable_notices"]), "unpaid": len(done["unpaid"]),
            "lapsed": done["lapsed"], "failed": done["failed"]}


@mutation.field("missedCallHistory")
def resolve_history(_: Any, info: GraphQLResolveInfo, number: str) -> dict[str, Any]:
    c = operator(info)
    return service(c).history(number, c.actor)


@mutation.field("checkMissedCallPin")
def resolve_check_pin(_: Any, info: GraphQLResolveInfo, number: str, pin: str) -> dict[str, Any]:
    c = operator(info)
    return _pin(service(c).check_pin(number, pin, c.actor), "verified")


@mutation.field("setMissedCallPin")
def resolve_set_pin(_: Any, info: GraphQLResolveInfo, number: str, new_pin: str, old_pin: str | None = None,
                    reset: bool = False) -> dict[str, Any]:
    c = operator(info)
    return _pin(service(c).change_pin(number, new_pin, old_pin, c.actor, reset=bool(reset)), "changed")


@mutation.field("blockMissedCaller")
def resolve_block(_: Any, info: GraphQLResolveInfo, number: str, caller: str, blocked: bool = True) -> dict[str, Any]:
    c = operator(info)
    done = service(c).block(number, caller, c.actor, blocked=bool(blocked))
    return {"number": done["number"], "caller": done["caller"], "blocked": done["blocked"]}


@mutation.field("setMissedCallGroup")
def resolve_group(_: Any, info: GraphQLResolveInfo, number: str, group: str | None = None) -> str | None:
    c = operator(info)
    return service(c).set_group(number, group, c.actor)["group"]  # type: ignore[no-any-return]


@mutation.field("setMissedCallAdvert")
def resolve_set_advert(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    c = operator(info)
    return service(c).set_advert(input["name"], input["text"], c.actor, from_hour=input.get("from_hour"),
                                 to_hour=input.get("to_hour"), prefix=input.get("prefix"), group=input.get("group"))


@mutation.field("removeMissedCallAdvert")
def resolve_remove_advert(_: Any, info: GraphQLResolveInfo, name: str) -> bool:
    c = operator(info)
    return bool(service(c).remove_advert(name, c.actor)["removed"])


BINDABLES = [query, mutation]
