"""Usage errors (unknown option, missing or badly typed argument) are one `error:` line and exit 2."""

from __future__ import annotations

import json

import pytest



@pytest.mark.parametrize("args", [
    ("accounts", "adjust", "8613001", "-5.00", "--reason", "x"),  # a negative amount without --
    ("accounts", "adjust"),  # missing arguments
    ("cards", "activate", "--batch", "V1", "--from", "abc"),  # not a number
    ("cards", "issue", "--count", "0", "--face", "1.00", "--out", "x.csv"),  # out of range
    ("nosuch",),
    ("accounts", "show", "8613001", "--no-such-flag"),
])
def test_a_usage_error_is_one_error_line_with_exit_code_2_and_changes_nothing(cli, args) -> None:
    cli("accounts", "open", "--number", "8613001")
    cli("accounts", "adjust", "8613001", "10.00", "--reason", "seed")
    output = cli(*args, code=2)
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "╭" not in output
    assert json.loads(cli("accounts", "show", "8613001", "--json"))["balance"] == "10.0000"


def test_the_negative_amount_hint_names_the_way_that_works(cli) -> None:
    cli("accounts", "open", "--number", "8613001")
    output = cli("accounts", "adjust", "8613001", "-5.00", "--reason", "x", code=2)
    assert "--" in output.split("No such option: -5", 1)[1]
    cli("accounts", "adjust", "8613001", "--reason", "x", "--", "-5.00", code=2)  # overdraft: still one line


def test_help_still_works(cli) -> None:
    assert "adjust" in cli("accounts", "--help")
