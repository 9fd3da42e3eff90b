"""activateCards sells a range whole or not at all, like the CLI."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ringledger.container import Container
from tests.integration.portal_support import TODAY, Portal, on_business_day, open_portal

ACTIVATE = "mutation($f: Int, $t: Int, $r: Boolean) { activateCards(batch: \"V1\", fromSerial: $f, toSerial: $t, rest: $r) { sold value } }"
SOLD = '{ cards(batch: "V1", status: "sold") { edges { node { serial } } } }'


@pytest.fixture
def portal(container: Container) -> Portal:
    p = open_portal(container)
    p.gql("operator", 'mutation { issueCards(kind: "voucher", count: 10, face: "5.00", batch: "V1") { batch { name } } }')
    return p


def sold(portal: Portal) -> list[int]:
    return [e["node"]["serial"] for e in portal.gql("auditor", SOLD)["data"]["cards"]["edges"]]


def test_a_range_outside_the_batch_is_refused_and_sells_nothing(portal: Portal) -> None:
    out = portal.gql("operator", ACTIVATE, f=5, t=2000)
    assert out["errors"][0]["extensions"]["code"] == "invalid_request"
    assert sold(portal) == []


def test_a_partly_sold_range_needs_rest(portal: Portal) -> None:
    assert portal.gql("operator", ACTIVATE, f=2, t=3)["data"]["activateCards"]["sold"] == 2
    refused = portal.gql("operator", ACTIVATE, f=1, t=5)
    assert refused["errors"][0]["extensions"]["code"] == "invalid_request"
    assert sold(portal) == [2, 3]
    done = portal.gql("operator", ACTIVATE, f=1, t=5, r=True)["data"]["activateCards"]
    assert done == {"sold": 3, "value": "15.0000"}
    assert sold(portal) == [1, 2, 3, 4, 5]


PRICED = "mutation($p: Money) { activateCards(batch: \"V1\", fromSerial: 1, toSerial: 2, price: $p) { sold value paid discount } }"
HOUSE = '{ cardInventory(batch: "V1") { rows { sold paid discount } } }'


def test_cards_sold_below_face_show_price_paid_and_discount(portal: Portal) -> None:
    with on_business_day(portal.container):  # the sale's report day is TODAY, whatever the hour of the run
        done = portal.gql("operator", PRICED, p="4.50")["data"]["activateCards"]
    assert done == {"sold": 2, "value": "10.0000", "paid": "9.0000", "discount": "1.0000"}
    rows = portal.gql("auditor", HOUSE)["data"]["cardInventory"]["rows"]
    assert rows == [{"sold": 2, "paid": "9.0000", "discount": "1.0000"}]
    today = date.fromisoformat(TODAY)
    sales = portal.gql("auditor", "query($f: Date!, $t: Date!) { dailyRevenue(from: $f, to: $t) "
                       "{ cardSales { batch cards face paid discount } } }",
                       f=(today - timedelta(days=1)).isoformat(), t=(today + timedelta(days=1)).isoformat())
    assert sales["data"]["dailyRevenue"]["cardSales"] == [
        {"batch": "V1", "cards": 2, "face": "10.0000", "paid": "9.0000", "discount": "1.0000"}]


@pytest.mark.parametrize("price", ["5.01", "-0.01"])
def test_a_price_above_face_or_below_zero_is_refused_and_sells_nothing(portal: Portal, price: str) -> None:
    out = portal.gql("operator", PRICED, p=price)
    assert out["errors"][0]["extensions"]["code"] == "invalid_request"
    assert sold(portal) == []
