"""The subscription aggregate: a period is charged once, an unpaid fee suspends, arrears are paid whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.errors import InvalidRequest
from ledger.subscriptions import ACTIVE, ENDED, SUSPENDED, ArrearsUnpaid, Subscription, SubscriptionClosed

SH = "Asia/Shanghai"
NOW = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def subscribe(**terms: object) -> Subscription:
    args: dict[str, object] = {"fee": 2_0000, "period": "monthly", "anchor_day": 10, "term": 0, **terms}
    return Subscription.subscribe("8000000001", "missed_call_off", args["fee"], args["period"],  # type: ignore[arg-type]
                                  args["anchor_day"], args["term"], SH, NOW, "test")  # type: ignore[arg-type]


def test_a_period_is_charged_once_however_often_it_is_asked() -> None:
    s = subscribe()
    assert s.charge(10_0000, NOW) == "charged"
    assert s.charge(10_0000, NOW) is None
    assert s.charge(10_0000, NOW + timedelta(days=20)) is None  # February's period begins on the 10th
    assert s.next_period == "2027-02" and s.paid_periods == 1


def test_a_fee_the_balance_cannot_pay_suspends_with_arrears_and_nothing_is_billed_while_suspended() -> None:
    s = subscribe()
    assert s.charge(1_9999, NOW) == "unpaid"
    assert (s.status, s.arrears, s.unpaid) == (SUSPENDED, 2_0000, ["2027-01"])
    assert s.charge(100_0000, NOW + timedelta(days=40)) is None
    with pytest.raises(ArrearsUnpaid):
        s.resume(1_0000, NOW + timedelta(days=40), "test")
    # Paid on 2027-02-19: February's period (from the 10th) is the one it falls in, due at once.
    assert s.resume(2_0000, NOW + timedelta(days=40), "test") == 2_0000
    assert (s.status, s.arrears, s.next_period) == (ACTIVE, 0, "2027-02")
    assert s.charge(2_0000, NOW + timedelta(days=40)) == "charged"


def test_a_lease_with_a_term_ends_once_its_periods_are_paid() -> None:
    s = subscribe(period="daily", term=2)
    assert s.charge(9_0000, NOW) == "charged"
    assert s.charge(9_0000, NOW + timedelta(days=1)) == "charged"
    assert s.charge(9_0000, NOW + timedelta(days=2)) == "ended"
    assert s.status == ENDED and s.due_at() is None
    with pytest.raises(SubscriptionClosed):
        s.cancel(NOW, "test", "")


@pytest.mark.parametrize("terms", [{"fee": 0}, {"fee": 1.5}, {"period": "yearly"}, {"anchor_day": 32},
                                   {"anchor_day": 0}, {"term": -1}, {"fee": True}])
def test_terms_no_fee_can_be_charged_on_are_refused(terms: dict[str, object]) -> None:
    with pytest.raises(InvalidRequest):
        subscribe(**terms)


def test_a_service_name_is_a_plain_lower_case_name() -> None:
    for bad in ("", "Missed", "lease:", "lease:a b", "x" * 40, "a\x00"):
        with pytest.raises(InvalidRequest):
            Subscription.subscribe("8000000001", bad, 2_0000, "monthly", 1, 0, SH, NOW, "test")
