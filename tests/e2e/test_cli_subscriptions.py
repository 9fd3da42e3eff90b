"""`ringledger subscriptions`: add, list with arrears, history, cancel; bad input is exit 2 and changes nothing."""

from __future__ import annotations

import json

import pytest


def test_a_subscription_added_from_the_cli_is_charged_and_one_it_cannot_pay_shows_arrears(cli) -> None:
    cli("accounts", "open", "--number", "8613001")
    cli("accounts", "deposit", "8613001", "3.00")
    off = json.loads(cli("subscriptions", "add", "8613001", "missed_call_off", "--fee", "2.00", "--json"))
    assert (off["status"], off["fee"], len(off["charged"])) == ("active", "2.0000", 1)
    busy = json.loads(cli("subscriptions", "add", "8613001", "missed_call_busy", "--fee", "2.00", "--json"))
    assert (busy["status"], busy["arrears"], busy["outcome"]) == ("suspended", "2.0000", "unpaid")
    listed = json.loads(cli("subscriptions", "list", "--account", "8613001", "--json"))
    assert [(s["service"], s["status"], s["arrears"]) for s in listed] == [
        ("missed_call_busy", "suspended", "2.0000"), ("missed_call_off", "active", "0.0000")]
    # Money comes in: the deposit resumes it at once and pays the arrears; a charge run then finds nothing.
    deposited = cli("accounts", "deposit", "8613001", "5.00")
    resumed = json.loads(deposited.strip().splitlines()[-1])
    assert (resumed["resumed"], resumed["paid"], resumed["balance"]) == ("missed_call_busy", "2.0000", "4.0000")
    assert json.loads(cli("subscriptions", "charge", "--json")) == []
    assert json.loads(cli("accounts", "show", "8613001", "--json"))["balance"] == "4.0000"
    history = json.loads(cli("subscriptions", "history", "8613001", "--service", "missed_call_busy", "--json"))
    assert [h["outcome"] for h in history] == ["unpaid", "paid"]
    cancelled = json.loads(cli("subscriptions", "cancel", "8613001", "missed_call_off", "--json"))
    assert cancelled["status"] == "cancelled" and cancelled["due_at"] is None


@pytest.mark.parametrize("args", [
    ("subscriptions", "add", "8613001", "Missed Call", "--fee", "2.00"),
    ("subscriptions", "add", "8613001", "missed_call_off", "--fee", "0"),
    ("subscriptions", "add", "8613001", "missed_call_off", "--fee", "2.00", "--period", "yearly"),
    ("subscriptions", "add", "8613001", "missed_call_off", "--fee", "2.00", "--anchor-day", "0"),
    ("subscriptions", "add", "8613009", "missed_call_off", "--fee", "2.00"),
    ("subscriptions", "add", "8613001", "lease:pbx", "--fee", "2.00", "--term", "-1"),
    ("subscriptions", "cancel", "8613001", "missed_call_busy"),
    ("subscriptions", "list", "--status", "late"),
    ("subscriptions", "list", "--account", "8613009"),
])
def test_bad_subscription_input_is_one_error_line_and_changes_nothing(cli, args: tuple[str, ...]) -> None:
    cli("accounts", "open", "--number", "8613001")
    cli("accounts", "deposit", "8613001", "10.00")
    output = cli(*args, code=2)
    assert len(output.strip().splitlines()) == 1 and output.startswith("error: "), output
    assert json.loads(cli("subscriptions", "list", "--json")) == []
    assert json.loads(cli("accounts", "show", "8613001", "--json"))["balance"] == "10.0000"
