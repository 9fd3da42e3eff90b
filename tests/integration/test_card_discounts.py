"""Cards sold below face value: cash gets the price paid, the discount its own account, the card its face."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ledger import house
from eventsourcing.persistence import StoredEvent

from ledger.errors import InvalidRequest
from ledger.ids import voucher_id
from projections.reports import card_inventory, daily_card_sales
from ringledger.container import Container
from tests.charging_support import trial_balance
from tests.integration.portal_support import TODAY, on_business_day
from tests.integration.test_grants import assert_views_rebuild_alike


def gl(c: Container, account: str) -> int:
    c.catch_up()
    rows = c.views.query("SELECT balance FROM gl_balances WHERE account = ?", (account,))
    return int(rows[0][0]) if rows else 0


def _issue(c: Container, kind: str, count: int = 1, face: int = 50_0000) -> list[str]:
    return [n for _, n, _ in c.ledger.issue_batch(kind, count, face, "op", name="B1")]


@pytest.mark.parametrize("kind", ["callback", "voucher"])
def test_a_card_sold_at_45_for_a_50_face(container: Container, kind: str) -> None:
    (number,) = _issue(container, kind)
    with on_business_day(container):  # the sale's report day is TODAY, whatever the hour of the run
        assert container.ledger.sell_cards([number], kind, 50_0000, "op", price=45_0000) == 1
    # Cash shows 45.00 received (a debit), the discount 5.00 on its own account.
    assert gl(container, house.CARD_SALES) == -45_0000
    assert gl(container, house.CARD_DISCOUNTS) == -5_0000
    # The card carries its full face of credit.
    if kind == "callback":
        assert container.ledger.account(number).balance == 50_0000
    else:
        assert gl(container, house.VOUCHER_FLOAT) == 50_0000
    assert trial_balance(container) == 0
    (row,) = card_inventory(container.views, "B1")
    assert (row["sold"], row["paid"], row["discount"]) == (1, 45_0000, 5_0000)
    today = date.fromisoformat(TODAY)
    (sales,) = daily_card_sales(container.views, "Asia/Shanghai", today - timedelta(days=1), today + timedelta(days=1))
    assert (sales["batch"], sales["cards"], sales["face"], sales["paid"], sales["discount"]) == (
        "B1", 1, 50_0000, 45_0000, 5_0000)
    assert_views_rebuild_alike(container)


def test_a_sale_at_face_value_books_no_discount(container: Container) -> None:
    numbers = _issue(container, "voucher", count=3, face=10_0000)
    container.ledger.sell_cards(numbers, "voucher", 10_0000, "op")
    assert gl(container, house.CARD_SALES) == -30_0000
    assert gl(container, house.CARD_DISCOUNTS) == 0
    (row,) = card_inventory(container.views, "B1")
    assert (row["paid"], row["discount"]) == (30_0000, 0)


@pytest.mark.parametrize("price", [50_0001, -1, True])
def test_a_price_above_face_or_below_zero_sells_nothing(container: Container, price: int) -> None:
    numbers = _issue(container, "callback", count=2)
    with pytest.raises(InvalidRequest):
        container.ledger.sell_cards(numbers, "callback", 50_0000, "op", price=price)
    assert gl(container, house.CARD_SALES) == 0
    assert [container.ledger.account(n).status for n in numbers] == ["issued", "issued"]
    (row,) = card_inventory(container.views, "B1")
    assert (row["sold"], row["paid"], row["discount"]) == (0, 0, 0)


def test_a_card_given_away_free_books_its_whole_face_as_discount(container: Container) -> None:
    (number,) = _issue(container, "callback")
    container.ledger.sell_cards([number], "callback", 50_0000, "op", price=0)
    assert gl(container, house.CARD_SALES) == 0
    assert gl(container, house.CARD_DISCOUNTS) == -50_0000
    assert container.ledger.account(number).balance == 50_0000
    assert trial_balance(container) == 0



def test_a_sale_recorded_before_prices_reads_back_at_face_value(container: Container) -> None:
    """A stored sale event of the older version (no price) upcasts to a sale at face value, no discount."""
    (number,) = _issue(container, "voucher")
    container.ledger.sell_cards([number], "voucher", 50_0000, "op", price=45_0000)
    mapper = container.ledger.mapper
    (stored,) = [s for s in container.ledger.recorder.select_events(voucher_id(number))
                 if s.topic.endswith("Voucher.Sold")]
    state = mapper.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2 and state.pop("price") == 45_0000
    old = StoredEvent(stored.originator_id, stored.originator_version, stored.topic, mapper.transcoder.encode(state))
    event = mapper.to_domain_event(old)
    assert event.price == 50_0000
    assert event.postings() == [(house.VOUCHER_FLOAT, 50_0000), (house.CARD_SALES, -50_0000)]
