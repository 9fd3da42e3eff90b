"""Booths of a phone bar: what each may dial, refused with its own reason; bad input changes nothing."""

from __future__ import annotations

import pytest

from ledger.booths import BoothExists, BoothNotFound
from ledger.errors import AccountNotFound, InvalidRequest
from ringledger.container import Container
from tests.charging_support import trial_balance
from tests.phonebar_support import BAR, HONG_KONG, LOCAL, MOBILE, NATIONAL, POLICE, USA, open_bar


def test_a_bar_without_booths_takes_calls_from_any_booth_as_before(container: Container) -> None:
    bar = open_bar(container)
    assert bar.call("a", "anything", USA)["authorized"] is True
    assert bar.call("b", None, MOBILE)["authorized"] is True


def test_a_booth_dials_only_its_permitted_categories(container: Container) -> None:
    bar = open_bar(container)
    bar.bars.add_booth(BAR, "1", "owner", categories=["local", "mobile"])
    assert bar.call("local", "1", LOCAL)["authorized"] is True
    assert bar.call("mobile", "1", MOBILE)["authorized"] is True
    for call_id, callee, category in (("nat", NATIONAL, "national"), ("hk", HONG_KONG, "hmt"),
                                      ("usa", USA, "international")):
        refused = bar.call(call_id, "1", callee)
        assert (refused["authorized"], refused["reason"]) == (False, "booth_not_permitted"), refused
        assert category in refused["message"] and refused["hold"] == 0
    # Emergency numbers always go through.
    assert bar.call("police", "1", POLICE)["authorized"] is True
    # Refusals hold nothing: only the authorized calls hold money (110 is free).
    assert sorted(container.ledger.account(BAR).holds) == ["local", "mobile"]


def test_a_whitelisted_prefix_passes_and_a_blacklisted_one_is_refused(container: Container) -> None:
    bar = open_bar(container)
    bar.bars.add_booth(BAR, "2", "owner", categories=["local", "mobile"], allow=["+852"], deny=["861380013"])
    assert bar.call("hk", "2", HONG_KONG)["authorized"] is True  # hmt, but 852 is whitelisted
    refused = bar.call("blocked", "2", MOBILE)  # a mobile, but its prefix is blacklisted
    assert refused["reason"] == "booth_not_permitted" and "861380013" in refused["message"]
    # The permissions change; the next call follows them.
    bar.bars.set_permissions(BAR, "2", "owner", categories=["mobile"])
    assert bar.call("mobile-2", "2", MOBILE)["authorized"] is True
    assert bar.call("local-2", "2", LOCAL)["reason"] == "booth_not_permitted"


def test_a_bar_with_booths_refuses_a_booth_it_does_not_have(container: Container) -> None:
    bar = open_bar(container)
    bar.bars.add_booth(BAR, "1", "owner")
    assert bar.call("x", "9", LOCAL)["reason"] == "unknown_booth"
    assert bar.call("y", None, LOCAL)["reason"] == "unknown_booth"
    bar.bars.remove_booth(BAR, "1", "owner")
    # Its last booth removed, the bar is again one without booths.
    assert bar.call("z", "9", LOCAL)["authorized"] is True
    bar.bars.add_booth(BAR, "1", "owner")
    bar.bars.add_booth(BAR, "3", "owner")
    assert [b["name"] for b in bar.bars.booths(BAR)] == ["1", "3"]
    assert bar.call("w", "9", LOCAL)["reason"] == "unknown_booth"


def test_bad_booth_commands_are_refused_and_change_nothing(container: Container) -> None:
    bar = open_bar(container)
    bar.bars.add_booth(BAR, "1", "owner")
    container.catch_up()
    head = container.ledger.recorder.max_notification_id()
    bad = [
        (lambda: bar.bars.add_booth(BAR, "1", "owner"), BoothExists),
        (lambda: bar.bars.add_booth(BAR, "", "owner"), InvalidRequest),
        (lambda: bar.bars.add_booth(BAR, "a\x00b", "owner"), InvalidRequest),
        (lambda: bar.bars.add_booth(BAR, "x" * 65, "owner"), InvalidRequest),
        (lambda: bar.bars.add_booth(BAR, "2", "owner", categories=["satellite"]), InvalidRequest),
        (lambda: bar.bars.add_booth(BAR, "2", "owner", allow=["12a"]), InvalidRequest),
        (lambda: bar.bars.add_booth(BAR, "2", "owner", deny=["１２"]), InvalidRequest),  # not ASCII digits
        (lambda: bar.bars.add_booth("9999999", "2", "owner"), AccountNotFound),
        (lambda: bar.bars.remove_booth(BAR, "7", "owner"), BoothNotFound),
        (lambda: bar.bars.set_permissions(BAR, "7", "owner", categories=["local"]), BoothNotFound),
        (lambda: bar.bars.set_alert(BAR, 5_0000, None, "owner"), InvalidRequest),
        (lambda: bar.bars.set_alert(BAR, -1, "13900139000", "owner"), InvalidRequest),
        (lambda: bar.bars.set_alert(BAR, 5_0000, "not a phone", "owner"), InvalidRequest),
        (lambda: bar.bars.checkout(BAR, "7", "owner"), BoothNotFound),
    ]
    for command, error in bad:
        with pytest.raises(error):
            command()
    container.ledger.open_account("subscriber", "test", number="8000000002", plan="demo")
    with pytest.raises(InvalidRequest, match="not a phone bar"):
        bar.bars.add_booth("8000000002", "1", "owner")
    assert container.ledger.recorder.max_notification_id() == head + 1  # only the subscriber's opening
    assert trial_balance(container) == 0
