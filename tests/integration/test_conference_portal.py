"""Booking through the portal: what the operator sees, pages of conferences, and a repeated booking."""

from __future__ import annotations

from ringledger.container import Container
from tests.charging_support import ACCOUNT, LOCAL, PHONE
from tests.conference_support import switch

BOOK = ("mutation ($input: BookConferenceInput!) { bookConference(input: $input) { conferenceId mode status "
        "account initiator participants startAt retries retryInterval legs { leg } charged } }")


def test_a_booking_shows_what_was_booked_and_a_repeat_with_its_op_id_books_once(container: Container) -> None:
    with switch(container) as sw:
        booking = {"initiator": "13800138000", "participants": [LOCAL, "02150001234"],
                   "startAt": "2024-05-06T11:30:00+08:00", "retries": 2, "retryInterval": 120, "opId": "bk-1"}
        first = sw.gql(BOOK, input=booking)["data"]["bookConference"]
        assert {k: v for k, v in first.items() if k != "conferenceId"} == {
            "mode": "booked", "status": "booked", "account": ACCOUNT, "initiator": PHONE,
            "participants": ["+861062345678", "+862150001234"], "startAt": "2024-05-06T03:30:00+00:00",
            "retries": 2, "retryInterval": 120, "legs": [], "charged": "0.0000"}
        again = sw.gql(BOOK, input=booking)["data"]["bookConference"]
        assert again["conferenceId"] == first["conferenceId"]
        listed = sw.gql("{ conferences { edges { node { conferenceId } } } }", "auditor")
        assert [e["node"]["conferenceId"] for e in listed["data"]["conferences"]["edges"]] == [first["conferenceId"]]


def test_conferences_come_in_pages_by_start_time(container: Container) -> None:
    with switch(container) as sw:
        ids = []
        for start in ("2024-05-06T13:00:00+08:00", "2024-05-06T11:00:00+08:00", "2024-05-06T12:00:00+08:00"):
            answer = sw.gql(BOOK, input={"initiator": PHONE, "participants": [LOCAL], "startAt": start})
            ids.append(answer["data"]["bookConference"]["conferenceId"])
        page = "query ($after: String) { conferences(account: \"%s\", first: 2, after: $after) { edges { node {" \
               " conferenceId } } pageInfo { hasNextPage endCursor } } }" % ACCOUNT
        one = sw.gql(page, after=None)["data"]["conferences"]
        two = sw.gql(page, after=one["pageInfo"]["endCursor"])["data"]["conferences"]
        seen = [e["node"]["conferenceId"] for e in one["edges"] + two["edges"]]
        assert seen == [ids[1], ids[2], ids[0]]
        assert (one["pageInfo"]["hasNextPage"], two["pageInfo"]["hasNextPage"]) == (True, False)
