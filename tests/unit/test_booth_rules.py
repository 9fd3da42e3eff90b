"""Booth rules on their own: permission checks, and a call on at most one bill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.booths import Booth, NothingToBill, check_permissions, refusal
from ledger.errors import InvalidRequest
from ledger.phonebars import PhoneBar

T0 = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)


def line(call_id: str, at: datetime) -> dict:
    return {"call_id": call_id, "authorized_at": at.isoformat(), "retail": 100, "cost": 50}


def test_the_blacklist_wins_over_the_whitelist_and_the_whitelist_over_categories() -> None:
    p = check_permissions(["local"], allow=["+8613"], deny=["86138"])
    assert refusal(p, "+8613912345678", "mobile") is None  # whitelisted
    assert "86138" in (refusal(p, "+8613812345678", "mobile") or "")  # blacklisted inside the whitelist
    assert "mobile" in (refusal(p, "+8615012345678", "mobile") or "")
    assert refusal(p, "+861062345678", "local") is None
    assert refusal(check_permissions([]), "+86110", "special") is None  # emergency numbers always


def test_permissions_refuse_unknown_categories_and_non_digit_prefixes() -> None:
    for bad in ({"categories": ["special"]}, {"categories": "local"}, {"categories": [], "allow": ["+"]},
                {"categories": [], "deny": ["1" * 21]}, {"categories": [], "allow": "86"}):
        with pytest.raises(InvalidRequest):
            check_permissions(**bad)


def test_a_call_is_on_at_most_one_bill() -> None:
    booth = Booth.add("5550001", "1", check_permissions(["local"]), "t")
    booth.check_out([line("a", T0), line("b", T0 + timedelta(minutes=5))], T0 + timedelta(hours=1), "t")
    with pytest.raises(InvalidRequest, match="already on a bill"):
        booth.check_out([line("b", T0 + timedelta(minutes=5)), line("c", T0)], T0, "t")
    with pytest.raises(NothingToBill):
        booth.check_out([], T0, "t")
    assert booth.bills == 1 and booth.bill_window_start() == T0 + timedelta(minutes=5) - timedelta(days=1)
    # Billed ids are forgotten once they are a day older than the latest billed call.
    booth.check_out([line("d", T0 + timedelta(days=2))], T0 + timedelta(days=2), "t")
    assert set(booth.billed) == {"d"} and booth.bills == 2


def test_one_alert_per_downward_crossing() -> None:
    bar = PhoneBar.register("5550001")
    assert bar.note_balance(100, 10, T0, "x") is False  # no threshold set
    bar.set_alert(50, "+8613900139000", "t")
    assert bar.note_balance(60, 50, T0, "x") is False  # at the threshold is not under it
    assert bar.note_balance(50, 49, T0, "x") is True
    assert bar.note_balance(49, 10, T0, "x") is False  # already under
    assert bar.note_balance(60, 55, T0, "x") is False
    assert bar.note_balance(55, 0, T0, "x") is True and sorted(bar.unsent) == [1, 2]
    bar.mark_sent(1, "m1", T0)
    with pytest.raises(Exception, match="not waiting"):
        bar.mark_sent(1, "m1", T0)
