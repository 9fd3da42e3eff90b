"""A day at a phone bar, driven as the switch, the owner's browser and the SMS gateway would drive it.

The switch calls the REST hooks over HTTP; the owner uses GraphQL and the
printable bill page; the scheduler's alert job sends through a fake SMS
gateway. Time is frozen at 14:00 Beijing (peak) and moved on by hand. At the
end the money reconciles: the deposit paid exactly what the calls cost, every
call is on exactly one bill, and the trial balance is zero.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from freezegun import freeze_time

from rating.demo import DEMO_EFFECTIVE_FROM, demo_plan
from rating.tariffs import RateRow
from ringledger.container import Container
from ringledger.leader import Leader
from ringledger.phonebar import build_phonebars
from ringledger.scheduler import alerts_job
from ringledger.server import create_app
from services.api_keys import create_key
from services.charging import Charging
from services.fakes import RecordingCallControl, RecordingDialer, RecordingSmsGateway
from services.ports import Ports
from tests.charging_support import allow_frozen_time, trial_balance

TOKEN = "switch-secret-token"
SWITCH = {"Authorization": f"Bearer {TOKEN}"}
BAR, CALLER = "5550001", "+861062340003"
LOCAL, MOBILE, HONG_KONG, USA = "01062345678", "13800138000", "+85221234567", "+14155550100"


@pytest.fixture
def day(container: Container) -> Iterator[dict[str, Any]]:
    import pydantic.v1  # noqa: F401  (imported before time is frozen, as the portal tests do)

    with freeze_time("2024-05-06 06:00:00", tick=True) as frozen:  # 14:00 Beijing, a Monday
        allow_frozen_time(container)
        sms = RecordingSmsGateway()
        container.ports = Ports(RecordingDialer(), RecordingCallControl(), sms)
        container.settings.switch_tokens = "sw1=" + hashlib.sha256(TOKEN.encode()).hexdigest()
        charging = Charging(container.ledger)
        charging.publish_plan("demo", demo_plan().rows, DEMO_EFFECTIVE_FROM, "test")
        charging.publish_plan("walkin", [RateRow(name="Local (walk-in)", category="local", price_per_minute=5000),
                                         RateRow(name="Mobile (walk-in)", category="mobile", price_per_minute=10000)],
                              datetime(2024, 1, 1, tzinfo=UTC), "test")
        ledger = container.ledger
        ledger.open_account("phonebar", "operator", number=BAR, plan="demo")
        ledger.deposit(BAR, 20_0000, "operator")
        ledger.set_retail_plan(BAR, "walkin", "operator")
        owner, _ = create_key(ledger, "bar_owner", "operator", bar=BAR)
        app = create_app(container)
        yield {"client": TestClient(app), "owner": {"Authorization": f"Bearer {owner}"}, "sms": sms,
               "frozen": frozen, "container": container}


def hook(day: dict[str, Any], path: str, **body: Any) -> dict[str, Any]:
    response = day["client"].post(path, json=body, headers=SWITCH)
    assert response.status_code == 200, response.text
    return response.json()


def authorize(day: dict[str, Any], call_id: str, booth: str | None, callee: str) -> dict[str, Any]:
    return hook(day, "/v1/calls/authorize", call_id=call_id, caller=CALLER, callee=callee, service="phonebar",
                account=BAR, booth=booth)


def owner(day: dict[str, Any], query: str, **variables: Any) -> dict[str, Any]:
    response = day["client"].post("/graphql", json={"query": query, "variables": variables}, headers=day["owner"])
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def advance(day: dict[str, Any], seconds: int) -> None:
    """Move the frozen clock on from where it has ticked to (freezegun's own tick restarts from the start)."""
    day["frozen"].move_to(day["frozen"]() + timedelta(seconds=seconds))


def talk(day: dict[str, Any], call_id: str, booth: str, callee: str, seconds: int) -> dict[str, Any]:
    assert authorize(day, call_id, booth, callee)["authorized"] is True
    hook(day, f"/v1/calls/{call_id}/answer")
    advance(day, seconds)
    return hook(day, f"/v1/calls/{call_id}/end", billsec=seconds, cause="normal_clearing")


def test_a_day_at_the_phone_bar_reconciles(day: dict[str, Any]) -> None:
    c: Container = day["container"]
    # Morning: the owner sets up two booths and the low-deposit SMS.
    owner(day, 'mutation { addBooth(name: "1", permissions: {categories: ["local", "mobile"]}) { name } }')
    owner(day, 'mutation { addBooth(name: "2", permissions: {categories: ["local", "mobile", "hmt"], deny: ["852"]}) { name } }')
    owner(day, 'mutation { setLowDepositAlert(threshold: "19.0000", phone: "13900139000") { phone } }')

    # The switch asks; each booth may dial only what it is permitted.
    assert authorize(day, "usa", "1", USA)["reason"] == "booth_not_permitted"
    assert authorize(day, "hk", "2", HONG_KONG)["reason"] == "booth_not_permitted"
    assert authorize(day, "stranger", "9", LOCAL)["reason"] == "unknown_booth"

    # Booth 1 calls a mobile; 75 s later the board shows it talking, at retail so far.
    assert authorize(day, "c1", "1", MOBILE)["authorized"] is True
    hook(day, "/v1/calls/c1/answer")
    advance(day, 75)
    board = owner(day, "{ boothBoard { booth state dialled elapsed running pricedAt } }")["boothBoard"]
    assert board[1] == {"booth": "2", "state": "idle", "dialled": None, "elapsed": 0, "running": "0.0000",
                        "pricedAt": None}
    talking = board[0]
    assert (talking["state"], talking["dialled"], talking["pricedAt"]) == ("talking", MOBILE, "retail")
    assert 75 <= talking["elapsed"] <= 80 and talking["running"] == "2.0000"  # 2 started minutes at 1.00
    assert hook(day, "/v1/calls/c1/interim", used_seconds=75)["continue"] is True
    assert hook(day, "/v1/calls/c1/end", billsec=75)["charged"] == "0.4000"  # wholesale 2 min x 0.20

    # Booth 2: a local call, then a mobile one that takes the deposit under 19.00.
    assert talk(day, "c2", "2", LOCAL, 200)["balance"] == "19.2000"  # 4 min x 0.10
    assert talk(day, "c3", "2", MOBILE, 300)["balance"] == "18.2000"  # 5 min x 0.20
    assert day["sms"].sent == []  # recorded with the charge, sent by the job
    assert talk(day, "c4", "2", LOCAL, 30)["balance"] == "18.1000"  # still under: no second alert

    # The scheduler's job (leader only) sends the alert through the gateway, once.
    phonebars = build_phonebars(c)
    assert len(alerts_job(phonebars, Leader(c.views))) == 1
    assert alerts_job(phonebars, Leader(c.views)) == []
    (text,) = day["sms"].sent
    assert text.recipient == "+8613900139000" and "18.2000" in text.body

    # The customer at booth 2 pays: the bill, printed.
    bill = owner(day, 'mutation { checkoutBooth(booth: "2") { bill retailTotal costTotal printPath lines { callId retail } } }')["checkoutBooth"]
    assert [(line["callId"], line["retail"]) for line in bill["lines"]] == [
        ("c2", "2.0000"), ("c3", "5.0000"), ("c4", "0.5000")]
    assert (bill["retailTotal"], bill["costTotal"]) == ("7.5000", "1.5000")
    page = day["client"].get(bill["printPath"], headers=day["owner"])
    assert page.status_code == 200 and ">7.5000<" in page.text and "01062345678" in page.text
    # Bad input to the page: a clear error, nothing changes.
    bad = day["client"].get(f"/bars/{BAR}/booths/2/bills/first", headers=day["owner"])
    assert 400 <= bad.status_code < 500 and "error" in bad.json()
    # A second checkout has nothing to bill; booth 1's customer gets only c1.
    refused = day["client"].post("/graphql", json={"query": 'mutation { checkoutBooth(booth: "2") { bill } }'},
                                 headers=day["owner"]).json()
    assert refused["errors"][0]["extensions"]["code"] == "nothing_to_bill"
    first = owner(day, 'mutation { checkoutBooth(booth: "1") { lines { callId } retailTotal costTotal } }')["checkoutBooth"]
    assert first == {"lines": [{"callId": "c1"}], "retailTotal": "2.0000", "costTotal": "0.4000"}

    # The money reconciles.
    c.catch_up()
    charged = int(c.views.query("SELECT COALESCE(SUM(charged), 0) FROM cdrs WHERE bar = ?", (BAR,))[0][0])
    assert charged == 4000 + 4000 + 10000 + 1000
    assert c.ledger.account(BAR).balance == 20_0000 - charged and c.ledger.account(BAR).held == 0
    billed = c.views.query("SELECT lines FROM booth_bills WHERE bar = ?", (BAR,))
    billed_calls = [line["call_id"] for (lines,) in billed for line in json.loads(lines)]
    assert sorted(billed_calls) == ["c1", "c2", "c3", "c4"]  # each answered call on exactly one bill
    cost_on_bills = int(c.views.query("SELECT SUM(cost_total) FROM booth_bills WHERE bar = ?", (BAR,))[0][0])
    assert cost_on_bills == charged
    revenue = int(c.views.query("SELECT COALESCE(SUM(balance), 0) FROM gl_balances WHERE account LIKE ?",
                                ("house:revenue:phonebar:%",))[0][0])
    assert revenue == charged
    assert trial_balance(c) == 0
