"""`ringledger bars …`: booths, board, checkout with a printable bill; bad input exits 2 and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from ringledger.container import Container
from tests.phonebar_support import BAR, MOBILE, USA, open_bar


def test_the_owner_adds_booths_checks_one_out_and_prints_the_bill(container: Container, cli, tmp_path: Path) -> None:
    bar = open_bar(container)
    cli("bars", "booth", "add", BAR, "1", "--categories", "local,mobile")
    cli("bars", "booth", "add", BAR, "2")
    assert bar.call("far", "1", USA)["reason"] == "booth_not_permitted"
    bar.talk("near", "1", 65, MOBILE)
    board = json.loads(cli("bars", "board", BAR, "--json"))
    assert [(row["booth"], row["state"]) for row in board] == [("1", "idle"), ("2", "idle")]
    page = tmp_path / "bill.html"
    bill = json.loads(cli("bars", "checkout", BAR, "1", "--html", str(page), "--json"))
    assert (bill["bill"], bill["retail_total"], [x["call_id"] for x in bill["lines"]]) == (1, "0.4000", ["near"])
    assert "13800138000" in page.read_text(encoding="utf-8") and ">0.4000<" in page.read_text(encoding="utf-8")
    again = tmp_path / "again.html"
    cli("bars", "bill", BAR, "1", "1", "--html", str(again))
    assert again.read_text(encoding="utf-8") == page.read_text(encoding="utf-8")
    assert json.loads(cli("bars", "bills", BAR, "--json"))[0]["retail_total"] == "0.4000"
    cli("bars", "booth", "permissions", BAR, "1", "--categories", "international")
    assert bar.call("far-2", "1", USA)["authorized"] is True


def test_bad_bar_commands_exit_2_with_one_line_and_change_nothing(container: Container, cli, tmp_path: Path) -> None:
    open_bar(container)
    cli("bars", "booth", "add", BAR, "1")
    container.catch_up()
    head = container.ledger.recorder.max_notification_id()
    page = tmp_path / "never.html"
    for args in (("bars", "booth", "add", BAR, "1"),
                 ("bars", "booth", "add", BAR, "2", "--categories", "satellite"),
                 ("bars", "booth", "add", BAR, "2", "--deny", "13x"),
                 ("bars", "booth", "add", "42", "2"),
                 ("bars", "booth", "remove", BAR, "9"),
                 ("bars", "checkout", BAR, "1", "--html", str(page)),  # nothing to bill yet
                 ("bars", "checkout", BAR, "9"),
                 ("bars", "bill", BAR, "1", "7"),
                 ("bars", "bill", BAR, "1", "seven"),
                 ("bars", "alert", BAR, "--below", "-5", "--phone", "13900139000"),
                 ("bars", "alert", BAR, "--below", "5.00"),
                 ("bars", "alert", BAR, "--off", "--below", "5.00")):
        out = cli(*args, code=2)
        errors = [line for line in out.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, (args, out)
    assert not page.exists()
    assert container.ledger.recorder.max_notification_id() == head
