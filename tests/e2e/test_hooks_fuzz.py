"""Fuzz the switch hooks from their own OpenAPI document: no input makes the server fail (5xx).

The store has a tariff and a funded account bound to a phone, and half of the
generated requests are steered to that phone and to a small pool of call ids,
so authorize, answer, interim and end reach the hold and settle path, not
only refusals.
"""

from __future__ import annotations

import hashlib
import itertools

import schemathesis
from hypothesis import HealthCheck, given, settings

from ringledger.config import Settings
from ringledger.container import build
from ringledger.server import create_app
from tests.charging_support import ACCOUNT, HONG_KONG, LOCAL, PEAK, PHONE, set_up, trial_balance
from tests.support import TEST_CLOCK_START, TEST_PIN_KEY

TOKEN = "fuzz-token"
CALL_IDS = [f"fuzz-{i}" for i in range(4)]
STEERED = itertools.count()
CONFERENCE = ""


def steer(case) -> None:
    """Every other generated request is aimed at the funded phone and the pool of call ids.

    The choice is a plain counter, not a drawn value: hypothesis would shrink a
    drawn choice towards "do not steer" and the pool's first id.
    """
    n = next(STEERED)
    if n % 2:
        return
    call_id = CALL_IDS[(n // 2) % len(CALL_IDS)]
    if case.operation.path == "/v1/calls/authorize" and isinstance(case.body, dict):
        case.body.pop("account", None)
        case.body.update(call_id=call_id, caller=PHONE, callee=(LOCAL, HONG_KONG)[(n // 2) % 2], service="direct")
    elif "call_id" in (case.path_parameters or {}):
        case.path_parameters["call_id"] = call_id
        if isinstance(case.body, dict):
            for seconds in ("billsec", "used_seconds"):
                if seconds in case.body:
                    case.body[seconds] = 60 + n
    elif "number" in (case.path_parameters or {}):
        case.path_parameters["number"] = PHONE
    elif "conference_id" in (case.path_parameters or {}):
        case.path_parameters["conference_id"] = CONFERENCE
        if "leg" in case.path_parameters:
            case.path_parameters["leg"] = f"{CONFERENCE}-{1 + n % 3}"
    elif case.operation.path == "/v1/conferences" and isinstance(case.body, dict):
        case.body.update(caller=PHONE)


def test_no_generated_request_makes_a_hook_fail_with_a_server_error(tmp_path) -> None:
    container = build(Settings(
        database_url=f"sqlite:///{tmp_path}/ledger.db",
        pin_key=TEST_PIN_KEY,
        clock_start=TEST_CLOCK_START,
        switch_tokens="fuzzer=" + hashlib.sha256(TOKEN.encode()).hexdigest(),
        max_call_seconds=600,  # each call is granted 5 minutes at a time, at most 10, so all the pool's calls fit
    ))
    set_up(container, 100_0000)  # the demo tariff; 100.00 on ACCOUNT, bound to PHONE
    app = create_app(container)
    app.state.charging.clock = lambda: PEAK  # every call is priced at one fixed instant
    app.state.conferences.clock = lambda: PEAK
    # A running instant conference the steered requests aim at.
    global CONFERENCE
    CONFERENCE = app.state.conferences.start_instant("fuzz-access", PHONE, "test")["conference_id"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [op.ok() for op in schema.get_all_operations() if op.ok().path.startswith("/v1/")]
    # authorize, answer, interim, end, balance, pin verify and change; conference trigger, participants,
    # drop and leg reports; the callback's calls, destination, end, bind and recharge; the logging
    # gateway's SMS inbound and outbox; a forwarded business's agent reported busy or free; missed-call
    # notification's missed call, reachable-again request, reachable report, and the owner's PIN check,
    # PIN change, history and blacklist
    assert len(operations) == 26
    statuses: list[int] = []
    answers: dict[str, list[dict]] = {}
    try:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def no_server_error(case) -> None:
                steer(case)
                response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
                statuses.append(response.status_code)
                assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text)
                if response.status_code == 200:
                    answers.setdefault(case.operation.path, []).append(response.json())

            no_server_error()
        # The fuzz reached the money path: a hold was taken and a call was settled.
        assert any(a.get("authorized") and a.get("hold") for a in answers["/v1/calls/authorize"])
        assert any(a.get("charged") not in (None, "0.0000") for a in answers["/v1/calls/{call_id}/end"])
        # The switch is never told it may run past what is granted (and held), nor to go on when told to stop.
        for interim in answers.get("/v1/calls/{call_id}/interim", []):
            assert interim["max_seconds"] <= interim["granted_seconds"] <= 600
            assert interim["continue"] or (interim["max_seconds"] == 0 and interim["reason"])
        account = container.ledger.account(ACCOUNT)
        assert account.balance >= 0 and account.available >= 0
        assert trial_balance(container) == 0
    finally:
        container.close()
    assert any(s == 200 for s in statuses) and any(400 <= s < 500 for s in statuses)
