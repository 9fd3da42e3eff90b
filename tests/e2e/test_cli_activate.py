"""Selling a serial range of a batch from the CLI: whole or not at all."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo



def _issue(cli, tmp_path: Path, count: int = 20) -> list[dict[str, str]]:
    out = tmp_path / "v.csv"
    cli("cards", "issue", "--count", str(count), "--face", "10.00", "--batch", "VR", "--out", str(out))
    return list(csv.DictReader(out.open()))


def _statuses(cli) -> dict[str, int]:
    listing = json.loads(cli("cards", "list", "--batch", "VR", "--json"))
    counts: dict[str, int] = {}
    for card in listing:
        counts[card["status"]] = counts.get(card["status"], 0) + 1
    return counts


def _one_error_line(output: str) -> None:
    assert output.strip().startswith("error:") and len(output.strip().splitlines()) == 1, output


def test_a_range_reaching_outside_the_batch_sells_nothing(cli, tmp_path: Path) -> None:
    _issue(cli, tmp_path)
    _one_error_line(cli("cards", "activate", "--batch", "VR", "--from", "5", "--to", "200", code=2))
    assert _statuses(cli) == {"issued": 20}
    tb = json.loads(cli("ledger", "trial-balance", "--json"))
    assert tb["house"].get("house:voucher_float", "0.0000") == "0.0000"


def test_a_partly_sold_range_is_refused_unless_the_rest_is_asked_for(cli, tmp_path: Path) -> None:
    rows = _issue(cli, tmp_path)
    cli("cards", "activate", "--batch", "VR", "--from", "3", "--to", "4")
    cli("cards", "cancel", rows[9]["number"], "--reason", "damaged")  # serial 10
    _one_error_line(cli("cards", "activate", "--batch", "VR", "--from", "1", "--to", "12", code=2))
    assert _statuses(cli) == {"issued": 17, "sold": 2, "cancelled": 1}
    out = json.loads(cli("cards", "activate", "--batch", "VR", "--from", "1", "--to", "12", "--rest"))
    assert out["sold"] == 9 and out["value"] == "90.0000"
    assert _statuses(cli) == {"issued": 8, "sold": 11, "cancelled": 1}


def test_a_whole_unsold_batch_sells_without_naming_a_range(cli, tmp_path: Path) -> None:
    _issue(cli, tmp_path, count=5)
    assert json.loads(cli("cards", "activate", "--batch", "VR"))["sold"] == 5
    _one_error_line(cli("cards", "activate", "--batch", "VR", "--rest", code=2))  # nothing left to sell


def test_a_card_sold_at_45_for_a_50_face_books_the_discount(cli, tmp_path: Path) -> None:
    out = tmp_path / "v.csv"
    cli("cards", "issue", "--count", "1", "--face", "50.00", "--batch", "VD", "--out", str(out))
    sale = json.loads(cli("cards", "activate", "--batch", "VD", "--price", "45.00"))
    assert sale == {"batch": "VD", "sold": 1, "value": "50.0000", "paid": "45.0000", "discount": "5.0000"}
    tb = json.loads(cli("ledger", "trial-balance", "--json"))
    assert tb["house"]["house:card_sales"] == "-45.0000"  # cash received
    assert tb["house"]["house:discounts:cards"] == "-5.0000"
    assert tb["house"]["house:voucher_float"] == "50.0000"  # the card's credit
    assert tb["total"] == "0.0000"
    (row,) = json.loads(cli("reports", "inventory", "--batch", "VD"))
    assert (row["sold"], row["paid"], row["discount"]) == (1, "45.0000", "5.0000")
    assert cli("reports", "inventory", "--batch", "VD", "--csv", "-").splitlines()[0].endswith(
        "outstanding,paid,discount")
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the day the sale event was recorded
    (sold,) = json.loads(cli("reports", "card-sales", "--from", str(today - dt.timedelta(days=1)),
                             "--to", str(today + dt.timedelta(days=1))))
    assert (sold["batch"], sold["cards"], sold["face"], sold["paid"], sold["discount"]) == (
        "VD", 1, "50.0000", "45.0000", "5.0000")


def test_a_price_above_face_or_below_zero_sells_nothing(cli, tmp_path: Path) -> None:
    _issue(cli, tmp_path, count=3)
    for price in ("10.01", "-1.00", "abc"):
        _one_error_line(cli("cards", "activate", "--batch", "VR", "--price", price, code=2))
    assert _statuses(cli) == {"issued": 3}
    tb = json.loads(cli("ledger", "trial-balance", "--json"))
    assert tb["house"].get("house:card_sales", "0.0000") == "0.0000"
