"""Every Query field that takes an id is scoped by role, single-object look-ups included.

The fields are read from the schema itself: a new field with an id argument
is covered here automatically, and one whose argument this test cannot
classify fails until it is added to IDS or NOT_IDS below.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_required_argument,
)
from services.charging import CallRequest, Charging
from services.conferences import Conferences
from services.fakes import RecordingCallControl, RecordingDialer
from ringledger.container import Container
from ringledger.forwarding import build_forwarding
from ringledger.phonebar import build_phonebars
from ringledger.portal.schema import build_schema
from ringledger.subscriptions import build_subscriptions
from tests.integration.portal_support import TODAY, BAR_A, BAR_B, Portal, make_calls, open_portal, peak_today

# Arguments (and input-object fields) that name no object: filters, inputs of a computation.
NOT_IDS = {"after", "kind", "status", "dialled", "caller", "callee", "booth", "category", "service",
           "agent"}  # agent: a filter within one business's calls
# Arguments that name an object: how to fill them with another customer's object, and with the bar's own.
IDS = ("number", "id", "phone", "account", "bar", "callId", "batch", "name", "plan", "business")
SCHEMA = build_schema()
BUSINESS = "+862150009999"


def _id_cases() -> list[tuple[str, str, tuple[str, ...]]]:
    """(field, argument path, ...) for every Query field taking an id, read from the schema."""
    cases = []
    for name, field in SCHEMA.query_type.fields.items():
        for arg_name, arg in field.args.items():
            named = get_named_type(arg.type)
            if isinstance(named, GraphQLInputObjectType):
                paths = [(arg_name, inner) for inner, f in named.fields.items()
                         if isinstance(get_named_type(f.type), GraphQLScalarType)
                         and get_named_type(f.type).name in ("String", "ID")]
            elif named.name in ("String", "ID"):
                paths = [(arg_name,)]
            else:
                paths = []
            for path in paths:
                if path[-1] in NOT_IDS:
                    continue
                cases.append((name, ".".join(path), path))
    return cases


CASES = _id_cases()


def test_every_argument_of_the_schema_is_classified() -> None:
    unknown = {(f, p) for f, p, path in CASES if path[-1] not in IDS}
    assert not unknown, f"say whether these arguments name an object (IDS) or not (NOT_IDS): {unknown}"
    assert {"cdr", "account", "card", "tariff", "holds", "conference", "conferences",
            "feeSubscriptions"} <= {f for f, _, _ in CASES}




@pytest.fixture
def world(container: Container) -> dict[str, Any]:
    portal = open_portal(container)
    ledger = container.ledger
    ledger.bind(BAR_B, "+8613900139000", "test")
    own_calls = make_calls(container, BAR_A, 1)
    other_calls = make_calls(container, BAR_B, 1)
    charging = Charging(ledger, clock=peak_today)
    # A call of no bar at all (a subscriber's), and an open hold on the other bar.
    ledger.open_account("subscriber", "test", number="8000000009", plan="demo")
    ledger.deposit("8000000009", 10_0000, "test")
    charging.authorize(CallRequest(call_id="private-1", caller="+862150001234", callee="13800138000",
                                   service="direct", account="8000000009"))
    charging.answer("private-1")
    charging.end("private-1", 30)
    charging.authorize(CallRequest(call_id="open-b", caller="+862150001234", callee="13800138000",
                                   service="phonebar", account=BAR_B, booth="1"))
    charging.publish_plan("retail_b", charging.tariff("demo").at(peak_today()).rows, peak_today() - timedelta(days=1),
                          "test")
    ledger.set_retail_plan(BAR_B, "retail_b", "test")
    issued = ledger.issue_batch("voucher", 1, 5_0000, "test", name="V1")
    # A conference booked on the other bar's account.
    conferences = Conferences(ledger, RecordingDialer(), RecordingCallControl(), peak_today)
    conference = conferences.book(initiator="+8613900139000", participants=["13800138000"],
                                  start_at=peak_today() + timedelta(days=1), retries=0, retry_interval=60,
                                  actor="test", account=BAR_B)["conference_id"]
    # Each bar has booth 3 (where its call was made), checked out once: bill 1.
    bars = build_phonebars(container, charging)
    for bar in (BAR_A, BAR_B):
        bars.add_booth(bar, "3", "test")
        bars.checkout(bar, "3", "test")
    # The other bar's missed-call subscription.
    build_subscriptions(container, peak_today).subscribe(BAR_B, "missed_call_busy", 2_0000, "test")
    # A business forwarding its number, paid by the subscriber's account, with one call.
    build_forwarding(container, charging).register(BUSINESS, "8000000009", "test", agents=["+862150001235"])
    charging.authorize(CallRequest(call_id="forwarded-1", caller="+862150001234", callee=BUSINESS,
                                   service="forward", forwarded_from=BUSINESS))
    container.catch_up()
    other = {"number": BAR_B, "account": BAR_B, "bar": BAR_B, "phone": "+8613900139000",
             "id": ledger.account(BAR_B).id.hex, "batch": "V1", "name": "V1", "plan": "retail_b",
             "callId": other_calls[0], ("card", "number"): issued[0][1], ("tariff", "name"): "retail_b",
             ("conference", "id"): conference, "business": BUSINESS, ("business", "number"): BUSINESS,
             ("missedCallNotices", "number"): "+8613900139000"}  # a callee's phone, not an account
    return {"portal": portal, "other": other, "own_call": own_calls[0], "other_calls": [other_calls[0], "private-1"],
            "card": issued[0][1]}


def _selection(type_: Any, depth: int = 0) -> str:
    named = get_named_type(type_)
    if not isinstance(named, GraphQLObjectType):
        return ""
    parts = []
    for name, field in named.fields.items():
        if any(is_required_argument(a) for a in field.args.values()):
            continue
        inner = get_named_type(field.type)
        if isinstance(inner, GraphQLObjectType):
            if depth < 3:
                sub = _selection(field.type, depth + 1)
                if sub:
                    parts.append(f"{name} {sub}")
        else:
            parts.append(name)
    return "{ " + " ".join(parts) + " }" if parts else ""


def _literal(value: Any) -> str:
    return json.dumps(value)


def _query(field_name: str, path: tuple[str, ...], value: str) -> str:
    field: GraphQLField = SCHEMA.query_type.fields[field_name]
    today = date.fromisoformat(TODAY)
    filler = {"Date": {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
              "String": {"dialled": "13800138000", "booth": "3"}, "Int": {"bill": 1}}
    args = []
    for name, arg in field.args.items():
        if name == path[0]:
            args.append(f"{name}: {_literal(value)}" if len(path) == 1 else f"{name}: {{{path[1]}: {_literal(value)}}}")
        elif is_required_argument(arg):
            args.append(f"{name}: {_literal(filler[get_named_type(arg.type).name][name])}")
    return f"{{ {field_name}({', '.join(args)}) {_selection(field.type)} }}"


def _markers(world: dict[str, Any], value: str) -> set[str]:
    """What would betray the other customers' objects in an answer."""
    return {value, BAR_B, "+8613900139000", "retail_b", world["card"], *world["other_calls"]}


@pytest.mark.parametrize(("field", "argument", "path"), CASES, ids=[f"{f}({a})" for f, a, _ in CASES])
def test_a_field_taking_an_id_is_scoped_for_each_role(world: dict[str, Any], field: str, argument: str,
                                                       path: tuple[str, ...]) -> None:
    portal: Portal = world["portal"]
    value = world["other"].get((field, path[-1])) or world["other"][path[-1]]
    values = [value, "private-1"] if path[-1] == "callId" else [value]
    for v in values:
        query = _query(field, path, v)
        # Operators and auditors read every customer's object.
        for who in ("operator", "auditor"):
            answer = portal.gql(who, query)
            assert "errors" not in answer and answer["data"][field] is not None, (who, query, answer)
        # A bar owner reads nothing of another customer: refused, or an answer without a trace of it.
        answer = portal.gql("bar_a", query)
        seen = json.dumps(answer.get("data"))
        if "errors" in answer:
            assert answer["errors"][0]["extensions"]["code"] == "forbidden", (query, answer)
            assert not answer.get("data") or all(x is None for x in answer["data"].values()), answer
        else:
            leaked = {m for m in _markers(world, v) if m in seen}
            assert not leaked, (query, leaked)
            operator_sees = json.dumps(portal.gql("operator", query)["data"])
            assert any(m in operator_sees for m in _markers(world, v)) or answer["data"][field] is None, (
                "this field's answer shows no id to compare: make the bar owner's answer null or forbidden", query)


OWN = {"number": BAR_A, "account": BAR_A, "bar": BAR_A}
HOUSE = {"card", "business", "missedCallNotices"}  # objects a bar owner has none of: house-wide ones, businesses,
# a subscriber's missed-call notices
OWN_CASES = [c for c in CASES if c[2][-1] in (*OWN, "callId") and c[0] not in HOUSE]


@pytest.mark.parametrize(("field", "argument", "path"), OWN_CASES, ids=[f"{f}({a})" for f, a, _ in OWN_CASES])
def test_a_bar_owner_reads_its_own_bar_through_the_same_field(world: dict[str, Any], field: str, argument: str,
                                                              path: tuple[str, ...]) -> None:
    value = world["own_call"] if path[-1] == "callId" else OWN[path[-1]]
    answer = world["portal"].gql("bar_a", _query(field, path, value))
    assert "errors" not in answer and answer["data"][field] is not None, answer
