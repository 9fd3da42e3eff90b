"""A card locked after five wrong PINs shows as locked, and an operator can unlock it (CLI and GraphQL)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ledger.errors import PinLocked, WrongPin
from ringledger.container import Container
from tests.integration.portal_support import open_portal


def lock(container: Container, number: str, phone: str) -> None:
    for attempt in range(5):
        with pytest.raises(PinLocked if attempt == 4 else WrongPin):
            container.ledger.redeem_voucher(number, "0000000000", phone, "test")


def test_a_locked_voucher_shows_locked_until_the_operator_unlocks_it(cli, tmp_path: Path) -> None:
    cli("accounts", "open", "--number", "8613001")
    cli("accounts", "bind", "8613001", "13800138000")
    out = tmp_path / "v.csv"
    cli("cards", "issue", "--count", "2", "--face", "10.00", "--batch", "VL", "--out", str(out))
    rows = list(csv.DictReader(out.open()))
    cli("cards", "activate", "--batch", "VL")
    number, pin = rows[0]["number"], rows[0]["pin"]
    for _ in range(5):
        cli("vouchers", "redeem", number, "--phone", "13800138000", "--pin", "0000000000", code=2)
    card = json.loads(cli("cards", "list", "--number", number, "--json"))[0]
    assert card["status"] == "locked"
    assert [c["number"] for c in json.loads(cli("cards", "list", "--status", "locked", "--json"))] == [number]
    # The right PIN does not help while it is locked.
    cli("vouchers", "redeem", number, "--phone", "13800138000", "--pin", pin, code=2)
    # Unlocking an unlocked card is refused; unlocking the locked one puts it back on sale.
    assert cli("cards", "unlock", rows[1]["number"], "--reason", "x", code=2).startswith("error:")
    cli("cards", "unlock", number, "--reason", "customer called, identity checked")
    assert json.loads(cli("cards", "list", "--number", number, "--json"))[0]["status"] == "sold"
    cli("vouchers", "redeem", number, "--phone", "13800138000", "--pin", pin)
    assert json.loads(cli("accounts", "show", "8613001", "--json"))["balance"] == "10.0000"
    assert '"events"' in cli("ledger", "rebuild")  # the view rebuilds to the same states
    assert json.loads(cli("cards", "list", "--number", number, "--json"))[0]["status"] == "redeemed"


def test_an_operator_unlocks_through_graphql_and_others_cannot(container: Container) -> None:
    portal = open_portal(container)
    container.ledger.open_account("subscriber", "test", number="8613001")
    container.ledger.bind("8613001", "+8613800138000", "test")
    issued = container.ledger.issue_batch("voucher", 1, 10_0000, "test", name="VG")
    number = issued[0][1]
    lock(container, number, "+8613800138000")  # never sold: locked while issued
    container.catch_up()
    card = '{ card(number: "%s") { status } }' % number
    assert portal.gql("auditor", card)["data"]["card"]["status"] == "locked"
    unlock = 'mutation { unlockCard(number: "%s", reason: "checked") { status } }' % number
    assert portal.gql("auditor", unlock)["errors"][0]["extensions"]["code"] == "forbidden"
    assert portal.gql("operator", unlock)["data"]["unlockCard"]["status"] == "issued"
    again = portal.gql("operator", unlock)
    assert again["errors"][0]["extensions"]["code"] == "invalid_request"


def test_a_locked_callback_card_shows_locked_and_a_pin_reset_unlocks_it(container: Container) -> None:
    issued = container.ledger.issue_batch("callback", 1, 10_0000, "test", name="CB")
    number = issued[0][1]
    container.ledger.sell_cards([number], "callback", 10_0000, "test")
    for attempt in range(5):
        answer = container.ledger.check_pin(number, "000000", "test")
        assert answer["reason"] == ("pin_locked" if attempt == 4 else "wrong_pin")
    container.catch_up()
    status = lambda: container.views.query("SELECT status FROM cards WHERE number = ?", (number,))[0][0]  # noqa: E731
    assert status() == "locked"
    container.ledger.change_pin(number, "654321", "test")
    container.catch_up()
    assert status() == "sold"
    assert container.ledger.check_pin(number, "654321", "test")["verified"] is True
