"""Bad input to every conference hook and mutation, and to the PIN change: a clear error, nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from ringledger.container import Container
from tests.charging_support import ACCOUNT, LOCAL, PHONE
from tests.conference_support import Switch, switch

LATER = "2024-05-06T11:00:00+08:00"
BOOK = ("mutation ($input: BookConferenceInput!) { bookConference(input: $input) { conferenceId status } }")


def head(c: Container) -> int:
    return c.ledger.recorder.max_notification_id() or 0


@pytest.fixture
def sw(container: Container):
    with switch(container) as s:
        yield s


def running(sw: Switch) -> str:
    cid = sw.post("/v1/conferences", {"call_id": "access-9", "caller": PHONE})["conference_id"]
    sw.post(f"/v1/conferences/{cid}/legs/{cid}-1", {"event": "joined"})
    return str(cid)


def booked(sw: Switch) -> str:
    answer = sw.gql(BOOK, input={"initiator": PHONE, "participants": [LOCAL], "startAt": LATER})
    return str(answer["data"]["bookConference"]["conferenceId"])


HOOK_CASES: list[tuple[str, str, Any, int, str]] = [
    # (name, path ({cid}: a running conference), body, status, error code)
    ("trigger without a caller", "/v1/conferences", {"call_id": "x"}, 422, "invalid_request"),
    ("trigger with a number as text", "/v1/conferences", {"call_id": "x", "caller": 13800138000}, 422,
     "invalid_request"),
    ("trigger from no phone number", "/v1/conferences", {"call_id": "x", "caller": "not a number"}, 422,
     "invalid_request"),
    ("trigger with a control character", "/v1/conferences", {"call_id": "x\x00", "caller": PHONE}, 422,
     "invalid_request"),
    ("trigger with a call id too long", "/v1/conferences", {"call_id": "x" * 201, "caller": PHONE}, 422,
     "invalid_request"),
    ("invite into no conference", "/v1/conferences/c404/participants", {"number": LOCAL}, 404, "unknown_conference"),
    ("invite no phone number", "/v1/conferences/{cid}/participants", {"number": "12ab"}, 422, "invalid_request"),
    ("invite the initiator", "/v1/conferences/{cid}/participants", {"number": PHONE}, 422, "invalid_request"),
    ("invite without a number", "/v1/conferences/{cid}/participants", {}, 422, "invalid_request"),
    ("drop a stranger", "/v1/conferences/{cid}/drop", {"number": "13900139999"}, 404, "unknown_participant"),
    ("drop from no conference", "/v1/conferences/c404/drop", {"number": LOCAL}, 404, "unknown_conference"),
    ("report an unknown event", "/v1/conferences/{cid}/legs/{cid}-1", {"event": "exploded"}, 422,
     "invalid_request"),
    ("report an unknown leg", "/v1/conferences/{cid}/legs/{cid}-99", {"event": "joined"}, 404, "unknown_leg"),
    ("report a cause with a control character", "/v1/conferences/{cid}/legs/{cid}-1",
     {"event": "hangup", "cause": "a\x07"}, 422, "invalid_request"),
    ("change the PIN with a malformed old PIN", f"/v1/accounts/{ACCOUNT}/pin/change",
     {"old_pin": "12ab56", "new_pin": "654321"}, 422, "invalid_request"),
    ("change the PIN to a short one", f"/v1/accounts/{ACCOUNT}/pin/change",
     {"old_pin": "123456", "new_pin": "12"}, 422, "invalid_request"),
    ("change the PIN without a new one", f"/v1/accounts/{ACCOUNT}/pin/change", {"old_pin": "123456"}, 422,
     "invalid_request"),
    ("change the PIN of no account", "/v1/accounts/13999999999/pin/change",
     {"old_pin": "123456", "new_pin": "654321"}, 404, "unknown_account"),
]


@pytest.mark.parametrize(("name", "path", "body", "status", "code"), HOOK_CASES, ids=[c[0] for c in HOOK_CASES])
def test_a_bad_hook_request_is_refused_and_changes_nothing(container: Container, sw: Switch, name: str, path: str,
                                                           body: Any, status: int, code: str) -> None:
    cid = running(sw)
    before = head(container)
    answer = sw.post(path.replace("{cid}", cid), body, status=status)
    assert answer["error"] == code and answer["message"], answer
    assert head(container) == before


def test_a_hook_without_the_switch_token_is_refused(container: Container, sw: Switch) -> None:
    before = head(container)
    for path in ("/v1/conferences", "/v1/conferences/c1/participants", "/v1/conferences/c1/drop",
                 "/v1/conferences/c1/legs/c1-1", f"/v1/accounts/{ACCOUNT}/pin/change"):
        response = sw.client.post(path, json={}, headers={"Authorization": "Bearer wrong"})
        assert response.status_code == 401 and response.json()["error"] == "unauthorized", path
    assert head(container) == before


def test_a_trigger_from_a_number_of_no_account_is_refused_without_a_callback(container: Container,
                                                                            sw: Switch) -> None:
    before = head(container)
    answer = sw.post("/v1/conferences", {"call_id": "stranger", "caller": "13900139999"})
    assert (answer["accepted"], answer["reason"], answer["answer"]) == (False, "unknown_account", "reject")
    assert sw.dialer.originated == [] and head(container) == before


MUTATION_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("book in the past", BOOK, {"input": {"initiator": PHONE, "participants": [LOCAL],
                                          "startAt": "2024-05-06T09:00:00+08:00"}}, "invalid_request"),
    ("book without participants", BOOK, {"input": {"initiator": PHONE, "participants": [], "startAt": LATER}},
     "invalid_request"),
    ("book a participant twice", BOOK, {"input": {"initiator": PHONE, "participants": [LOCAL, LOCAL],
                                                  "startAt": LATER}}, "invalid_request"),
    ("book too many retries", BOOK, {"input": {"initiator": PHONE, "participants": [LOCAL], "startAt": LATER,
                                               "retries": 11}}, "invalid_request"),
    ("book a negative interval", BOOK, {"input": {"initiator": PHONE, "participants": [LOCAL], "startAt": LATER,
                                                  "retryInterval": -1}}, "invalid_request"),
    ("book for no phone number", BOOK, {"input": {"initiator": "abc", "participants": [LOCAL], "startAt": LATER}},
     "invalid_request"),
    ("book for an unbound initiator", BOOK, {"input": {"initiator": "13900139999", "participants": [LOCAL],
                                                       "startAt": LATER}}, "unknown_account"),
    ("book on no account", BOOK, {"input": {"initiator": PHONE, "participants": [LOCAL], "startAt": LATER,
                                            "account": "99999999"}}, "unknown_account"),
    ("book without a zone", BOOK, {"input": {"initiator": PHONE, "participants": [LOCAL],
                                             "startAt": "2024-05-06T11:00:00"}}, "invalid_request"),
    ("cancel no conference", "mutation { cancelConference(id: \"c404\") { status } }", {}, "unknown_conference"),
    ("cancel with a control character", "mutation ($id: String!) { cancelConference(id: $id, reason: \"a\\u0007\")"
     " { status } }", {"id": "{booked}"}, "invalid_request"),
    ("invite into a booking not started", "mutation ($id: String!) { inviteParticipant(id: $id, number: "
     "\"13900139000\") { status } }", {"id": "{booked}"}, "conference_not_running"),
    ("drop from no conference", "mutation { dropParticipant(id: \"c404\", number: \"13900139000\") { status } }",
     {}, "unknown_conference"),
    ("change a PIN with a malformed old PIN", f"mutation {{ changePin(number: \"{ACCOUNT}\", newPin: \"654321\","
     " oldPin: \"x\") }", {}, "invalid_request"),
]


@pytest.mark.parametrize(("name", "query", "variables", "code"), MUTATION_CASES, ids=[c[0] for c in MUTATION_CASES])
def test_a_bad_mutation_is_refused_with_a_code_and_changes_nothing(container: Container, sw: Switch, name: str,
                                                                   query: str, variables: dict[str, Any],
                                                                   code: str) -> None:
    cid = booked(sw)
    variables = {k: (cid if v == "{booked}" else v) for k, v in variables.items()}
    before = head(container)
    answer = sw.gql(query, **variables)
    assert answer["errors"][0]["extensions"]["code"] == code, answer
    assert head(container) == before


def test_an_auditor_cannot_book_or_cancel(container: Container, sw: Switch) -> None:
    cid = booked(sw)
    before = head(container)
    for query, variables in ((BOOK, {"input": {"initiator": PHONE, "participants": [LOCAL], "startAt": LATER}}),
                             ("mutation ($id: String!) { cancelConference(id: $id) { status } }", {"id": cid})):
        assert sw.gql(query, "auditor", **variables)["errors"][0]["extensions"]["code"] == "forbidden"
    assert head(container) == before
