"""The README's CLI walk-through, and bad input exiting 2 without changing anything."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import pytest



def balance(cli, number: str) -> str:
    return json.loads(cli("accounts", "show", number, "--json"))["balance"]


def test_the_readme_walk_through_works_and_balances(cli, tmp_path: Path) -> None:
    cli("accounts", "open", "--number", "8613001", "--pin", "123456")
    cli("accounts", "adjust", "8613001", "20.00", "--reason", "welcome credit")
    cli("accounts", "bind", "8613001", "138 0013 8000")
    out = tmp_path / "batch.csv"
    cli("cards", "issue", "--kind", "voucher", "--count", "10", "--face", "50.00", "--batch", "V2026", "--out", str(out))
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 10 and all(len(r["pin"]) == 10 for r in rows)
    cli("cards", "activate", "--batch", "V2026", "--from", "1", "--to", "5")
    cli("vouchers", "redeem", rows[0]["number"], "--phone", "13800138000", "--pin", rows[0]["pin"])
    assert balance(cli, "8613001") == "70.0000"
    cli("accounts", "open", "--number", "8613002")
    cli("accounts", "transfer", "8613001", "8613002", "12.50")
    assert balance(cli, "8613002") == "12.5000"
    listing = json.loads(cli("cards", "list", "--batch", "V2026", "--json"))
    assert [c["status"] for c in listing].count("redeemed") == 1
    assert [c["status"] for c in listing].count("sold") == 4
    tb = json.loads(cli("ledger", "trial-balance", "--json"))
    assert tb["total"] == "0.0000"
    assert tb["house"]["house:voucher_float"] == "200.0000"  # 5 sold, 1 redeemed


def test_bad_input_exits_2_with_one_line_and_changes_nothing(cli, tmp_path: Path) -> None:
    cli("accounts", "open", "--number", "8613003")
    cli("accounts", "adjust", "8613003", "10.00", "--reason", "seed")
    for args in (
        ("accounts", "adjust", "8613003", "1.23456", "--reason", "x"),  # fifth decimal
        ("accounts", "adjust", "--reason", "x", "8613003", "--", "-10.01"),  # overdraft
        ("accounts", "transfer", "8613003", "9999999", "1.00"),  # unknown account
        ("accounts", "bind", "8613003", "not-a-phone"),
        ("vouchers", "redeem", "1234567890123456", "--phone", "13800138000", "--pin", "1"),  # bad check digit
        ("accounts", "open", "--number", "8613003"),  # exists
    ):
        output = cli(*args, code=2)
        assert output.strip().startswith("error:") and len(output.strip().splitlines()) == 1, output
    assert balance(cli, "8613003") == "10.0000"
    out = tmp_path / "exists.csv"
    out.write_text("keep me")
    cli("cards", "issue", "--count", "1", "--face", "1.00", "--out", str(out), code=2)
    assert out.read_text() == "keep me"


def test_views_can_be_rebuilt_from_the_cli(cli) -> None:
    cli("accounts", "open", "--number", "8613004")
    cli("accounts", "adjust", "8613004", "3.00", "--reason", "seed")
    assert '"events"' in cli("ledger", "rebuild")
    assert json.loads(cli("ledger", "trial-balance", "--json"))["customer_balances"] == "3.0000"
