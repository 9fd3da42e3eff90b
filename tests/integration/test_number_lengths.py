"""Number lengths at the hooks: callers up to 20 digits, callees up to 28 (the SIP server's requirements).

A number within the limit is taken (a callee the number plan cannot place answers no_rate, as any
unplaceable number); one digit more is a 422 and changes nothing. Separators and a leading + are not digits.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ledger.errors import InvalidRequest
from ringledger.container import Container
from tests.charging_support import ACCOUNT, LOCAL, PHONE, call, set_up
# The switch client (a fixed clock at the peak) and the log-head counter of the input-limit tests.
from tests.integration.test_input_limits import AUTH, client, events  # noqa: F401


def authorize(client: TestClient, call_id: str, status: int = 200, **fields: str) -> dict:
    body = {"call_id": call_id, "caller": PHONE, "callee": LOCAL, "service": "direct", **fields}
    response = client.post("/v1/calls/authorize", json=body, headers=AUTH)
    assert response.status_code == status, response.text
    return response.json()


def test_a_caller_of_20_digits_is_taken_and_one_of_21_is_refused(container: Container, client: TestClient) -> None:
    set_up(container, 10_0000)
    for i, caller in enumerate(("8" * 20, "+" + "8" * 20, "00 86 " + "8" * 16)):
        answer = authorize(client, f"c{i}", caller=caller, account=ACCOUNT)
        assert answer["authorized"] is True and answer["account"] == ACCOUNT, caller
    before = events(container)
    for i, caller in enumerate(("8" * 21, "+" + "8" * 21, "00 86 " + "8" * 17)):
        answer = authorize(client, f"long{i}", 422, caller=caller, account=ACCOUNT)
        assert answer["error"] == "invalid_request" and "20 digits" in answer["message"], answer
    assert events(container) == before


def test_a_callee_of_28_digits_gets_no_rate_and_one_of_29_is_refused(container: Container, client: TestClient) -> None:
    set_up(container, 10_0000)
    for i, callee in enumerate(("4" * 28, "+" + "9" * 28, "00" + "4" * 26, "0086 10 " + "6" * 22)):
        answer = authorize(client, f"c{i}", callee=callee)
        assert (answer["authorized"], answer["reason"], answer["hold"]) == (False, "no_rate", "0.0000"), answer
    before = events(container)
    for i, callee in enumerate(("4" * 29, "+" + "9" * 29, "0086 10 " + "6" * 23)):
        answer = authorize(client, f"long{i}", 422, callee=callee)
        assert answer["error"] == "invalid_request" and "28 digits" in answer["message"], answer
    # The callback's destination and a conference's participant are callees; the caller who triggers one is a caller.
    for path, body in (("/v1/callback/calls/cb-1/destination", {"destination": "4" * 29}),
                       ("/v1/callback/calls", {"call_id": "cb-2", "caller": "8" * 21, "access_number": "95000"}),
                       ("/v1/conferences", {"call_id": "conf-1", "caller": "8" * 21}),
                       ("/v1/conferences/conf-1/participants", {"number": "4" * 29})):
        response = client.post(path, json=body, headers=AUTH)
        assert response.status_code == 422 and response.json()["error"] == "invalid_request", (path, response.text)
    assert events(container) == before


def test_the_domain_refuses_what_the_edge_would(container: Container) -> None:
    charging = set_up(container, 10_0000)
    before = events(container)
    for request in (call("d1", caller="8" * 21, account=ACCOUNT), call("d2", callee="4" * 29)):
        with pytest.raises(InvalidRequest):
            charging.authorize(request)
    assert events(container) == before
    assert charging.authorize(call("d3", callee="4" * 28))["reason"] == "no_rate"
