"""A subscriber changes their PIN by phone (hook) or through the portal: one rule behind both."""

from __future__ import annotations

from ringledger.container import Container
from tests.charging_support import ACCOUNT
from tests.conference_support import switch

CHANGE = "mutation ($old: String, $new: String!) { changePin(number: \"13800138000\", newPin: $new, oldPin: $old) }"


def test_a_pin_changed_by_phone_opens_the_account_and_the_old_one_no_longer_does(container: Container) -> None:
    with switch(container) as sw:
        container.ledger.change_pin(ACCOUNT, "123456", "test")
        changed = sw.post("/v1/accounts/13800138000/pin/change", {"old_pin": "123456", "new_pin": "246810"})
        assert changed == {"account": ACCOUNT, "changed": True, "reason": None, "tries_left": 5}
        assert sw.post(f"/v1/accounts/{ACCOUNT}/pin/verify", {"pin": "246810"})["verified"] is True
        assert sw.post(f"/v1/accounts/{ACCOUNT}/pin/verify", {"pin": "123456"})["verified"] is False


def test_wrong_old_pins_count_toward_the_lockout_on_both_ways_in(container: Container) -> None:
    with switch(container) as sw:
        container.ledger.change_pin(ACCOUNT, "123456", "test")
        wrong = sw.post("/v1/accounts/13800138000/pin/change", {"old_pin": "111111", "new_pin": "246810"})
        assert wrong == {"account": ACCOUNT, "changed": False, "reason": "wrong_pin", "tries_left": 4}
        refused = sw.gql(CHANGE, old="222222", new="246810")
        assert refused["errors"][0]["extensions"]["code"] == "wrong_pin"
        assert sw.post(f"/v1/accounts/{ACCOUNT}/pin/verify", {"pin": "333333"})["tries_left"] == 2
        sw.post("/v1/accounts/13800138000/pin/change", {"old_pin": "444444", "new_pin": "246810"})
        locked = sw.post("/v1/accounts/13800138000/pin/change", {"old_pin": "555555", "new_pin": "246810"})
        assert (locked["changed"], locked["reason"], locked["tries_left"]) == (False, "pin_locked", 0)
        # Locked: even the right old PIN changes nothing until an operator resets it.
        still = sw.post("/v1/accounts/13800138000/pin/change", {"old_pin": "123456", "new_pin": "246810"})
        assert (still["changed"], still["reason"]) == (False, "pin_locked")
        assert sw.gql(CHANGE, old=None, new="246810") == {"data": {"changePin": True}}  # the operator's reset
        assert sw.post(f"/v1/accounts/{ACCOUNT}/pin/verify", {"pin": "246810"})["verified"] is True


def test_the_portal_changes_a_pin_with_the_old_one_as_the_phone_does(container: Container) -> None:
    with switch(container) as sw:
        container.ledger.change_pin(ACCOUNT, "123456", "test")
        assert sw.gql(CHANGE, old="123456", new="987654") == {"data": {"changePin": True}}
        assert sw.post(f"/v1/accounts/{ACCOUNT}/pin/verify", {"pin": "987654"})["verified"] is True
        balance = sw.gql("{ account(phone: \"13800138000\") { number balance } }")
        assert balance["data"]["account"] == {"number": ACCOUNT, "balance": "100.0000"}
