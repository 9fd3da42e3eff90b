"""An instant conference driven as the switch drives it, end to end, on each store.

The initiator rings the access number (rejected unanswered), is called back,
keys two participants (one local, one long distance), drops one, and hangs
up; every leg is authorized, answered and ended through the charging hooks.
The initiator's account pays each leg at its own rate, and nothing else moves.
"""

from __future__ import annotations

from ringledger.container import Container
from tests.charging_support import ACCOUNT, LOCAL, PHONE, trial_balance
from tests.conference_support import SWITCH, Switch, switch

SHANGHAI = "02150001234"  # long distance from Beijing: national, 0.30/min peak, 6/6


def leg_call(sw: Switch, leg: str, cid: str, callee: str) -> dict:
    """What the switch does for a leg the platform placed: authorize, answer, report it joined."""
    answer = sw.post("/v1/calls/authorize", {"call_id": leg, "caller": PHONE, "callee": callee,
                                             "service": "conference", "conference_id": cid, "account": ACCOUNT})
    assert answer["authorized"] is True and answer["account"] == ACCOUNT, answer
    sw.post(f"/v1/calls/{leg}/answer")
    sw.post(f"/v1/conferences/{cid}/legs/{leg}", {"event": "joined"})
    return answer


def test_an_instant_conference_charges_each_leg_to_the_initiator_and_ends_with_the_initiator(
        container: Container) -> None:
    with switch(container) as sw:
        # The initiator rings the access number: rejected unanswered, called back at once.
        trigger = sw.post("/v1/conferences", {"call_id": "access-1", "caller": "13800138000"})
        assert (trigger["accepted"], trigger["answer"], trigger["status"]) == (True, "reject", "running")
        cid = trigger["conference_id"]
        assert [(o.call_id, o.callee, o.conference_id) for o in sw.dialer.originated] == [(f"{cid}-1", PHONE, cid)]
        # The switch retries the trigger: the same conference, nobody called twice.
        assert sw.post("/v1/conferences", {"call_id": "access-1", "caller": "13800138000"})["conference_id"] == cid
        assert len(sw.dialer.originated) == 1
        first = leg_call(sw, f"{cid}-1", cid, PHONE)

        # The initiator keys a local number, then a long-distance one: each is called.
        assert sw.post(f"/v1/conferences/{cid}/participants", {"number": LOCAL})["legs"] == [f"{cid}-2"]
        assert sw.post(f"/v1/conferences/{cid}/participants", {"number": SHANGHAI})["legs"] == [f"{cid}-3"]
        assert [o.callee for o in sw.dialer.originated[1:]] == ["+861062345678", "+862150001234"]
        local = leg_call(sw, f"{cid}-2", cid, LOCAL)
        far = leg_call(sw, f"{cid}-3", cid, SHANGHAI)
        assert (first["destination"]["category"], local["destination"]["category"],
                far["destination"]["category"]) == ("mobile", "local", "national")

        # The initiator drops the long-distance participant: its leg is cut, the switch ends it.
        sw.clock.advance(60)
        dropped = sw.post(f"/v1/conferences/{cid}/drop", {"number": SHANGHAI})
        assert dropped["legs"] == [f"{cid}-3"] and dropped["participants"] == ["+861062345678"]
        assert sw.control.cuts == [(f"{cid}-3", "dropped")]
        assert sw.post(f"/v1/calls/{cid}-3/end", {"billsec": 60})["charged"] == "0.3000"  # 60 s at 0.30

        # The initiator hangs up: the conference ends and the other legs are cut.
        sw.clock.advance(120)
        ended = sw.post(f"/v1/conferences/{cid}/legs/{cid}-1", {"event": "hangup", "cause": "normal_clearing"})
        assert ended["status"] == "ended" and ended["legs"] == [f"{cid}-2"]
        assert sw.control.cuts[-1] == (f"{cid}-2", "conference_ended")
        assert sw.post(f"/v1/calls/{cid}-2/end", {"billsec": 125})["charged"] == "0.3000"  # 3 min at 0.10
        last = sw.post(f"/v1/calls/{cid}-1/end", {"billsec": 180})
        assert last["charged"] == "0.6000"  # 3 min to a mobile at 0.20
        # Nobody can be called into an ended conference.
        refused = sw.post(f"/v1/conferences/{cid}/participants", {"number": LOCAL}, status=409)
        assert refused["error"] == "conference_not_running"

        # The money reconciles: the account paid exactly its legs, the portal shows the same, nothing else moved.
        assert last["balance"] == "98.8000"
        balance = sw.client.get("/v1/accounts/by-number/13800138000/balance",
                                headers=SWITCH).json()
        assert balance["balance"] == "98.8000" and balance["available"] == "98.8000"
        portal = sw.gql("query ($id: String!) { conference(id: $id) { status endCause charged account "
                        "legs { leg number status category charged } } }", id=cid)
        conference = portal["data"]["conference"]
        assert (conference["status"], conference["endCause"], conference["charged"]) == (
            "ended", "initiator_hung_up", "1.2000")
        assert [(leg["status"], leg["category"], leg["charged"]) for leg in conference["legs"]] == [
            ("hung_up", "mobile", "0.6000"), ("hung_up", "local", "0.3000"), ("dropped", "national", "0.3000")]
        assert trial_balance(container) == 0
