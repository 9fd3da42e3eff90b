"""The rules of a callee's missed-call box and of advert choice, without a store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.errors import InvalidRequest, PinLocked, WrongPin
from ledger.missed_call_adverts import Adverts, choose
from ledger.missed_calls import LAPSED, PENDING, SENT, MissedCallBox, NoPin
from services.missed_calls.wording import notice_text, reachable_text, shown

TZ = "Asia/Shanghai"
AT = datetime(2026, 11, 25, 6, 5, tzinfo=UTC)  # 14:05 in Beijing
CALLER = "+8613800138000"


def box() -> MissedCallBox:
    return MissedCallBox.open("+8613900139000", TZ, "test")


def test_one_callers_calls_within_a_local_hour_are_one_window_and_the_next_hour_another() -> None:
    b = box()
    first = b.miss("c1", CALLER, "off", "acc", AT)
    assert b.miss("c2", CALLER, "busy", "acc", AT + timedelta(minutes=50)) == {"window": first["window"], "count": 2}
    assert b.miss("c1", CALLER, "off", "acc", AT) is None  # the same call id records nothing
    later = b.miss("c3", CALLER, "off", "acc", AT + timedelta(minutes=56))  # 15:01
    assert later["window"] != first["window"] and later["count"] == 1
    assert first["window"] == "+8613800138000@2026-11-25T14"


def test_a_window_is_claimed_once_and_a_refused_send_makes_it_pending_again() -> None:
    b = box()
    key = b.miss("c1", CALLER, "off", "acc", AT)["window"]
    b.claim_notice(key, "text", AT)
    with pytest.raises(InvalidRequest):
        b.claim_notice(key, "text", AT)
    b.notice_failed(key, "SMSC away", AT)
    assert b.windows[key]["status"] == PENDING
    b.claim_notice(key, "text", AT)
    assert b.windows[key]["status"] == SENT
    # Calls of that hour after the notice went out open a new window rather than growing a sent one.
    again = b.miss("c2", CALLER, "off", "acc", AT + timedelta(minutes=5))
    assert again["window"] != key and again["count"] == 1


def test_notices_and_requests_lapse_24_hours_after_they_began_and_not_before() -> None:
    b = box()
    key = b.miss("c1", CALLER, "off", "acc", AT)["window"]
    b.request_reachable("c1", CALLER, CALLER, "acc", AT)
    assert b.lapse(AT + timedelta(hours=24) - timedelta(seconds=1)) == []
    assert b.lapse(AT + timedelta(hours=24)) == [key, "c1"]
    assert b.windows[key]["status"] == LAPSED and b.requests["c1"]["status"] == LAPSED
    assert b.pending_windows() == [] and b.pending_requests() == []


def test_the_owners_pin_locks_after_five_wrong_tries_and_a_right_one_resets_the_count() -> None:
    b = box()
    with pytest.raises(NoPin):
        b.verify_pin(True, "ivr")
    b.set_pin("pvv", "sms")
    with pytest.raises(WrongPin):
        b.verify_pin(False, "ivr")
    b.verify_pin(True, "ivr")
    assert b.pin_failures == 0
    for _ in range(4):
        with pytest.raises(WrongPin):
            b.verify_pin(False, "ivr")
    with pytest.raises(PinLocked):
        b.verify_pin(False, "ivr")
    with pytest.raises(PinLocked):
        b.verify_pin(True, "ivr")  # locked: even the right PIN is refused
    b.set_pin("pvv2", "operator")  # the operator's reset lifts it
    b.verify_pin(True, "ivr")


def test_the_most_specific_advert_that_applies_is_chosen() -> None:
    ads = [
        {"name": "all", "text": "A", "from_hour": None, "to_hour": None, "prefix": None, "group": None},
        {"name": "day", "text": "D", "from_hour": 8, "to_hour": 20, "prefix": None, "group": None},
        {"name": "night", "text": "N", "from_hour": 22, "to_hour": 6, "prefix": None, "group": None},
        {"name": "p139", "text": "P", "from_hour": None, "to_hour": None, "prefix": "+86139", "group": None},
        {"name": "p1390", "text": "Q", "from_hour": None, "to_hour": None, "prefix": "+861390", "group": None},
        {"name": "vip", "text": "V", "from_hour": None, "to_hour": None, "prefix": None, "group": "vip"},
    ]
    assert choose(ads, 14, "+8613800138000", None) == "D"
    assert choose(ads, 23, "+8613800138000", None) == "N"  # a band past midnight
    assert choose(ads, 3, "+8613800138000", None) == "N"
    assert choose(ads, 21, "+8613800138000", None) == "A"
    assert choose(ads, 14, "+8613912345678", None) == "P"
    assert choose(ads, 14, "+8613901234567", None) == "Q"
    assert choose(ads, 14, "+8613901234567", "vip") == "V"
    assert choose([], 14, "+8613901234567", "vip") is None


def test_an_advert_with_a_bad_condition_is_refused() -> None:
    book = Adverts.start("test")
    for args in [("Bad", "t", None, None, None, None), ("a", "", None, None, None, None),
                 ("a", "t" * 41, None, None, None, None), ("a", "t", 8, None, None, None),
                 ("a", "t", 8, 8, None, None), ("a", "t", 8, 25, None, None), ("a", "t", None, None, "139", None)]:
        with pytest.raises(InvalidRequest):
            book.set(*args, actor="test")  # type: ignore[misc]
    assert book.adverts == {}


def test_the_texts_are_worded_as_the_brochure_gives_them() -> None:
    assert notice_text(CALLER, AT, 3, TZ, None) == "您好，用户13800138000于11月25日14时呼叫您3次，请回电！"
    assert reachable_text("+861062345678", "XX公司") == "您好，用户01062345678已可达，请及时联系。XX公司"
    assert shown("+85221234567") == "+85221234567"
