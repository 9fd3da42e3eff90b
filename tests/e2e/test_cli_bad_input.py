"""Bad input at the CLI is exit 2 with one `error:` line and changes nothing: the cases an outside
check found exiting 0, exiting 1, crashing after a change, or asking for input nobody can type."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import ringledger.cli.common as common


def one_error_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


def batches(cli) -> list[dict]:
    return json.loads(cli("cards", "batches", "--json"))


@pytest.mark.parametrize("where", ["missing/x.csv", "."])
def test_issuing_into_a_file_that_cannot_be_created_records_no_batch(cli, tmp_path: Path, where: str) -> None:
    out = tmp_path / where
    message = one_error_line(cli("cards", "issue", "--count", "3", "--face", "1.00", "--batch", "B1",
                                 "--out", str(out), code=2))
    assert str(out) in message
    assert batches(cli) == []  # no PIN was lost: no card was issued
    # With a file that can be made, the same batch is issued and its PINs are in the file.
    good = tmp_path / "b1.csv"
    cli("cards", "issue", "--count", "3", "--face", "1.00", "--batch", "B1", "--out", str(good))
    assert len(list(csv.DictReader(good.open()))) == 3 and batches(cli)[0]["count"] == 3


def test_issuing_over_an_existing_file_changes_neither_it_nor_the_ledger(cli, tmp_path: Path) -> None:
    out = tmp_path / "pins.csv"
    out.write_text("earlier PINs\n")
    assert "exists" in one_error_line(cli("cards", "issue", "--count", "1", "--face", "1.00", "--out", str(out),
                                          code=2))
    assert out.read_text() == "earlier PINs\n" and batches(cli) == []


def test_a_failed_issue_leaves_no_empty_pin_file(cli, tmp_path: Path) -> None:
    cli("cards", "issue", "--count", "1", "--face", "1.00", "--batch", "B1", "--out", str(tmp_path / "a.csv"))
    again = tmp_path / "b.csv"
    assert "already exists" in one_error_line(cli("cards", "issue", "--count", "1", "--face", "1.00", "--batch",
                                                  "B1", "--out", str(again), code=2))
    assert not again.exists()


@pytest.mark.parametrize("args", [
    ("--digest", "zz", "--position", "1"),
    ("--digest", "0" * 64, "--position", "-1"),
    ("--digest", "zz", "--position", "-1"),
    ("--digest", "0" * 63, "--position", "1"),
])
def test_a_malformed_noted_digest_is_exit_2_not_an_audit_failure(cli, args: tuple[str, ...]) -> None:
    cli("accounts", "open", "--number", "8613001")
    one_error_line(cli("audit", "verify", *args, code=2))


def test_a_noted_digest_still_verifies_and_a_wrong_one_still_fails_the_audit(cli) -> None:
    cli("accounts", "open", "--number", "8613001")
    noted = json.loads(cli("audit", "digest", "--json"))
    ok = json.loads(cli("audit", "verify", "--digest", noted["digest"], "--position", str(noted["position"]),
                        "--json"))
    assert ok["ok"] is True
    wrong = "f" * 64
    failed = cli("audit", "verify", "--digest", wrong, "--position", str(noted["position"]), "--json", code=1)
    assert "verify failed" in failed


def test_the_digest_of_an_empty_log_verifies_at_position_0(cli) -> None:
    noted = json.loads(cli("audit", "digest", "--json"))
    assert noted["position"] == 0
    assert json.loads(cli("audit", "verify", "--digest", noted["digest"], "--position", "0", "--json"))["ok"]


@pytest.mark.parametrize("amount", [" 1.00", "1.00 ", "+1.00"])
def test_a_padded_or_plus_signed_amount_is_refused(cli, amount: str) -> None:
    cli("accounts", "open", "--number", "8613001")
    one_error_line(cli("accounts", "adjust", "8613001", amount, "--reason", "x", code=2))
    one_error_line(cli("accounts", "deposit", "8613001", amount, code=2))
    assert json.loads(cli("accounts", "show", "8613001", "--json"))["balance"] == "0.0000"


def test_listing_cards_in_a_state_that_does_not_exist_is_exit_2(cli) -> None:
    assert "issued" in one_error_line(cli("cards", "list", "--status", "bogus", code=2))


def test_a_revenue_report_from_after_to_is_exit_2(cli) -> None:
    assert "before" in one_error_line(cli("reports", "revenue", "--from", "2024-05-07", "--to", "2024-05-06",
                                          code=2))


@pytest.mark.parametrize("args", [
    ("cards", "list", "--batch", "NOPE"),
    ("reports", "inventory", "--batch", "NOPE"),
    ("reports", "calls", "--bar", "5559999"),
    ("calls", "list", "--bar", "5559999"),
    ("calls", "list", "--bar", "8613001"),  # an account, but no phone bar
])
def test_an_unknown_bar_or_batch_is_exit_2_not_an_empty_answer(cli, args: tuple[str, ...]) -> None:
    cli("accounts", "open", "--number", "8613001")
    one_error_line(cli(*args, code=2))


def test_a_known_bar_and_batch_still_answer(cli, tmp_path: Path) -> None:
    cli("accounts", "open", "--kind", "phonebar", "--number", "5550001")
    cli("cards", "issue", "--count", "1", "--face", "1.00", "--batch", "B1", "--out", str(tmp_path / "b.csv"))
    assert json.loads(cli("calls", "list", "--bar", "5550001", "--json")) == []
    assert len(json.loads(cli("cards", "list", "--batch", "B1", "--json"))) == 1


@pytest.mark.parametrize(("args", "flag"), [
    (("accounts", "pin", "8613001"), "--new-pin"),
    (("accounts", "check-pin", "8613001"), "--pin"),
    (("vouchers", "redeem", "1234567890123452", "--phone", "13800138000"), "--pin"),
])
def test_a_missing_pin_without_a_terminal_is_exit_2_naming_the_flag(cli, args: tuple[str, ...], flag: str) -> None:
    cli("accounts", "open", "--number", "8613001", "--pin", "123456")
    assert flag in one_error_line(cli(*args, code=2))
    # Nothing was changed or counted: the old PIN is right and has all its tries.
    assert json.loads(cli("accounts", "check-pin", "8613001", "--pin", "123456"))["tries_left"] == 5


def test_on_a_terminal_a_missing_pin_is_asked_for_without_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[dict] = []

    class Terminal:
        @staticmethod
        def isatty() -> bool:
            return True

    monkeypatch.setattr(common.sys, "stdin", Terminal())
    monkeypatch.setattr(common.typer, "prompt", lambda text, **kw: asked.append({"text": text, **kw}) or "654321")
    assert common.secret(None, "--new-pin", confirm=True) == "654321"
    assert asked == [{"text": "New pin", "hide_input": True, "confirmation_prompt": True}]
    assert common.secret("111111", "--pin") == "111111" and len(asked) == 1


def test_a_transfer_echoes_its_amount_with_four_places(cli) -> None:
    cli("accounts", "open", "--number", "8613001")
    cli("accounts", "open", "--number", "8613002")
    cli("accounts", "adjust", "8613001", "20.00", "--reason", "seed")
    assert json.loads(cli("accounts", "transfer", "8613001", "8613002", "12.5"))["amount"] == "12.5000"


@pytest.mark.parametrize("command", [("accounts", "show", "8000000001"), ("serve", "--port", "1")])
def test_a_malformed_setting_names_its_variable_and_never_prints_the_secret_in_it(
        command: tuple[str, ...], tmp_path: Path) -> None:
    """A mistyped AMI URL carries the manager's password: the error names the variable, not its value."""
    from typer.testing import CliRunner

    from ringledger.cli.main import app

    env = {"RINGLEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}", "RINGLEDGER_PIN_KEY": "00" * 32,
           "RINGLEDGER_AMI_URL": "amx://ringledger:S3cretPassw0rd@127.0.0.1:5038"}
    result = CliRunner().invoke(app, list(command), env=env)
    assert result.exit_code == 2, (result.output, result.exception)
    line = one_error_line(result.output)
    assert "RINGLEDGER_AMI_URL" in line and "ami://user:secret@host:port" in line
    assert "S3cretPassw0rd" not in result.output + repr(result.exception)
