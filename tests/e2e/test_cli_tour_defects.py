"""What the README tours tripped over, pinned on both stores: exporting and rerating with a
tariff that is not in force yet, an export that fails, a bar owner's key, the demo phone bar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ringledger.container import Container
from ringledger.demo import DEMO_BAR, load_demo
from tests.charging_support import call, set_up

DECK = Path(__file__).resolve().parents[2] / "docs" / "tours" / "retail-deck.csv"
NEXT_CENTURY = "2100-01-01T00:00:00+08:00"  # not in force whenever this runs


def one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), output
    return lines[0]


def test_a_tariff_not_yet_in_force_exports_the_version_that_starts_first(cli, tmp_path: Path) -> None:
    cli("tariffs", "import", str(DECK), "--plan", "retail", "--effective", NEXT_CENTURY)
    out = tmp_path / "retail.csv"
    cli("tariffs", "export", "--plan", "retail", "--out", str(out))
    assert out.read_text() == cli("tariffs", "export", "--plan", "retail")
    assert out.read_text().splitlines()[1].startswith(",local,")
    # An instant before it starts names that version too; a version that does not exist is refused.
    cli("tariffs", "export", "--plan", "retail", "--as-of", "2000-01-01T00:00:00+08:00", "--out", str(out))
    one_error_line(cli("tariffs", "export", "--plan", "retail", "--version", "7", code=2))


def test_a_failed_export_leaves_the_file_it_was_to_replace_as_it_was(cli, tmp_path: Path) -> None:
    folder = tmp_path / "decks"
    folder.mkdir()
    out = folder / "deck.csv"
    out.write_text("keep me")
    assert "unknown_tariff" in one_error_line(cli("tariffs", "export", "--plan", "nosuch", "--out", str(out), code=2))
    assert out.read_text() == "keep me"
    # A file that cannot be written: one error line, and no half-written file or temporary left behind.
    cli("tariffs", "import", str(DECK), "--plan", "retail", "--effective", NEXT_CENTURY)
    assert "cannot write" in one_error_line(
        cli("tariffs", "export", "--plan", "retail", "--out", str(folder / "missing" / "deck.csv"), code=2))
    assert [p.name for p in folder.iterdir()] == ["deck.csv"] and out.read_text() == "keep me"


def test_rerating_with_a_tariff_not_yet_in_force_names_each_call_and_changes_nothing(
        cli, container: Container) -> None:
    charging = set_up(container)  # demo tariff; the clock is 10:00 Beijing, peak
    charging.authorize(call("c1"))
    charging.end("c1", 125)  # 0.30
    cli("tariffs", "import", str(DECK), "--plan", "retail", "--effective", NEXT_CENTURY)
    result = json.loads(cli("calls", "rerate", "--account", "8000000001", "--plan", "retail", "--json"))
    assert (result["selected"], result["rerated"], result["difference"]) == (1, 0, "0.0000")
    (skipped,) = result["skipped"]
    assert skipped["call_id"] == "c1" and skipped["reason"] == "unknown_tariff"
    assert "no version in force" in skipped["message"]
    assert json.loads(cli("accounts", "show", "8000000001", "--json"))["balance"] == "99.7000"
    # Naming the version prices the call with it: 3 minutes at 0.15 instead of 0.10.
    result = json.loads(cli("calls", "rerate", "--account", "8000000001", "--plan", "retail", "--version", "1",
                            "--json"))
    assert (result["rerated"], result["difference"]) == (1, "0.1500")
    assert json.loads(cli("accounts", "show", "8000000001", "--json"))["balance"] == "99.5500"
    # A tariff that does not exist at all is refused before anything runs.
    assert "unknown_tariff" in one_error_line(cli("calls", "rerate", "--account", "8000000001", "--plan", "nosuch",
                                                  code=2))


def test_a_bar_owners_key_is_only_made_for_a_phone_bar_that_exists(cli) -> None:
    assert "no account 5550009" in one_error_line(
        cli("keys", "create", "--role", "bar_owner", "--bar", "5550009", code=2))
    cli("accounts", "open", "--number", "5550008")
    assert "not a phone bar" in one_error_line(cli("keys", "create", "--role", "bar_owner", "--bar", "5550008", code=2))
    assert json.loads(cli("keys", "list", "--json")) == []  # nothing was created
    cli("accounts", "open", "--kind", "phonebar", "--number", "5550009")
    created = json.loads(cli("keys", "create", "--role", "bar_owner", "--bar", "5550009", "--json"))
    assert created["bar"] == "5550009" and created["token"].startswith("rlk_")


def test_the_demo_data_holds_the_phone_bar_of_the_portal_tour_once(container: Container) -> None:
    load_demo(container)
    load_demo(container)  # a second start of `make run` keeps what is there
    bar = container.ledger.account(DEMO_BAR)
    assert (bar.kind, bar.plan, bar.balance) == ("phonebar", "demo", 200_0000)
