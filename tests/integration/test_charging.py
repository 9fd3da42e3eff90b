"""The charging engine on each store: holds, exact charges, idempotency, tariffs, blacklist, rerating."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from ledger.errors import InvalidRequest
from projections.runner import Projector
from rating.demo import DEMO_DECK
from services.charging import ChargingPolicy
from ringledger.cli import app as cli
from ringledger.container import Container
from ringledger.scheduler import expire_job
from tests.charging_support import (
    ACCOUNT,
    HONG_KONG,
    LOCAL,
    PEAK,
    PHONE,
    allow_frozen_time,
    call,
    flat_rows,
    set_up,
    trial_balance,
)
from tests.support import settings_env


def test_a_call_holds_one_slice_and_the_end_charges_the_exact_rated_cost(container: Container) -> None:
    charging = set_up(container, 10_0000)
    answer = charging.authorize(call("c1"))
    # 10.00 at 0.10/min would pay 100 minutes; the grant is one slice of 300 s and the hold its price.
    assert answer["authorized"] and answer["max_seconds"] == answer["granted_seconds"] == 300
    assert answer["hold"] == 5000 and container.ledger.account(ACCOUNT).available == 9_5000
    charging.answer("c1")
    end = charging.end("c1", 125)  # 60/60 increments: 3 minutes
    assert end["charged"] == 3000 and end["balance"] == 9_7000
    account = container.ledger.account(ACCOUNT)
    assert account.balance == 9_7000 and account.held == 0
    container.catch_up()
    assert container.views.query("SELECT balance FROM gl_balances WHERE account = ?",
                                 ("house:revenue:direct:local",)) == [(3000,)]
    assert trial_balance(container) == 0


def test_a_retried_authorize_returns_the_first_answer_and_holds_once(container: Container) -> None:
    charging = set_up(container, 10_0000)
    first = charging.authorize(call("c1", HONG_KONG))
    again = charging.authorize(call("c1", HONG_KONG))
    assert again == first
    assert container.ledger.account(ACCOUNT).held == first["hold"]
    # The same call id for another call is refused and changes nothing.
    other = charging.authorize(call("c1", LOCAL))
    assert other["authorized"] is False and other["reason"] == "duplicate_call"
    assert container.ledger.account(ACCOUNT).held == first["hold"]


def test_a_repeated_end_charges_once(container: Container) -> None:
    charging = set_up(container, 10_0000)
    charging.authorize(call("c1"))
    first = charging.end("c1", 61)
    assert charging.end("c1", 61) == first == charging.end("c1", 999)
    assert container.ledger.account(ACCOUNT).balance == 10_0000 - 2000


def test_an_account_that_cannot_pay_the_first_increment_is_refused(container: Container) -> None:
    charging = set_up(container, 999)  # 0.0999 < 0.10 for the first minute
    answer = charging.authorize(call("c1"))
    assert answer["reason"] == "insufficient_funds" and answer["max_seconds"] == 0
    assert container.ledger.account(ACCOUNT).held == 0


def test_the_low_balance_warning_follows_the_configured_threshold(container: Container) -> None:
    charging = set_up(container, 3_0000, policy=ChargingPolicy(refresh_seconds=0, low_balance=2_0000,
                                                                grant_seconds=600))
    answer = charging.authorize(call("c1"))  # 10 minutes held: 1.00, leaving 2.00 available
    assert answer["hold"] == 1_0000 and answer["low_balance"] is False
    end = charging.end("c1", 600)
    assert end["charged"] == 1_0000 and end["flags"] == ""
    assert end["low_balance"] is False and end["balance"] == 2_0000
    charging.authorize(call("c2"))
    assert charging.end("c2", 1)["low_balance"] is True


def test_an_end_past_the_grant_collects_what_the_balance_still_pays_and_caps_the_rest(container: Container) -> None:
    charging = set_up(container, 1_5000, policy=ChargingPolicy(refresh_seconds=0, grant_seconds=600))
    assert charging.authorize(call("c1"))["hold"] == 1_0000
    # A switch that neither reported nor stopped: 601 s cost 1.10, and 0.50 was still available.
    end = charging.end("c1", 601)
    assert (end["charged"], end["cost"], end["flags"]) == (1_1000, 1_1000, "over_max")
    charging.authorize(call("c2"))  # 0.40 left: 4 minutes granted
    end = charging.end("c2", 900)  # 15 minutes cost 1.50; only the 0.40 there was is charged
    assert (end["charged"], end["cost"], end["flags"], end["balance"]) == (4000, 1_5000, "capped,over_max", 0)
    account = container.ledger.account(ACCOUNT)
    assert account.balance == 0 and account.held == 0
    assert trial_balance(container) == 0


def test_the_tariff_version_in_force_at_the_call_prices_it(container: Container) -> None:
    now = [PEAK]
    charging = set_up(container, 10_0000, clock=lambda: now[0])
    charging.publish_plan("demo", flat_rows(500), PEAK + timedelta(days=1), "test")
    assert charging.authorize(call("before"))["rate"]["version"] == 1
    charging.end("before", 0)
    now[0] = PEAK + timedelta(days=2)
    after = charging.authorize(call("after"))
    assert after["rate"]["version"] == 2 and after["rate"]["price_per_minute"] == 500
    assert charging.end("after", 60)["charged"] == 500


def test_a_blacklisted_caller_is_refused_until_unblocked(container: Container) -> None:
    charging = set_up(container, 10_0000)
    charging.block(PHONE, "op", account=ACCOUNT, reason="fraud")
    assert charging.authorize(call("c1"))["reason"] == "blacklisted"
    charging.unblock(PHONE, "op", account=ACCOUNT)
    assert charging.authorize(call("c2"))["authorized"] is True
    # An operator-wide entry blocks a destination for every account.
    charging.block(HONG_KONG, "op")
    assert charging.authorize(call("c3", HONG_KONG))["reason"] == "blacklisted"
    with pytest.raises(InvalidRequest):
        charging.unblock("+8613900139000", "op")


def test_an_abandoned_hold_expires_at_its_last_usage_and_a_late_end_settles_once(container: Container) -> None:
    policy = ChargingPolicy(refresh_seconds=0, hold_ttl=600, max_call_seconds=3600, grant_seconds=3600)
    with freeze_time("2024-05-06 02:00:00", tick=False) as frozen:
        from services.charging import utcnow

        allow_frozen_time(container)
        charging = set_up(container, 10_0000, policy=policy, clock=utcnow)
        charging.authorize(call("lost"))
        charging.answer("lost")
        charging.interim("lost", 300)  # 5 minutes: 0.50
        charging.authorize(call("kept"))
        charging.end("kept", 60)
        frozen.tick(timedelta(seconds=3600 + 599))
        assert expire_job(container, charging, utcnow) == []  # not due yet
        frozen.tick(timedelta(seconds=2))
        expired = expire_job(container, charging, utcnow)
        assert [e["call_id"] for e in expired] == ["lost"] and expired[0]["charged"] == 5000
        assert expire_job(container, charging, utcnow) == []  # settles once
        # The late hangup's 2000 s (34 minutes: 3.40) is recorded and the rest collected.
        late = charging.end("lost", 2000)
        assert late["flags"] == "expired,late_end,review" and late["charged"] == 34000
        assert charging.end("lost", 2000) == late
    account = container.ledger.account(ACCOUNT)
    assert account.held == 0 and account.balance == 10_0000 - 34000 - 1000
    container.catch_up()
    assert container.views.query("SELECT status, billsec, charged, flags FROM cdrs WHERE call_id = 'lost'") == [
        ("expired", 2000, 34000, "expired,late_end,review")]
    assert trial_balance(container) == 0


def test_rerating_corrects_by_new_events_and_keeps_the_trial_balance_zero(container: Container, settings) -> None:
    charging = set_up(container, 10_0000)
    for i, billsec in enumerate((125, 61, 0)):
        charging.authorize(call(f"c{i}"))
        charging.end(f"c{i}", billsec)
    charging.publish_plan("demo", flat_rows(500), PEAK - timedelta(days=1), "test")
    container.catch_up()
    runner = CliRunner()
    env = settings_env(settings)
    result = runner.invoke(cli, ["calls", "rerate", "--plan", "demo", "--version", "2", "--account", ACCOUNT,
                                 "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert '"rerated": 3' in result.stdout and '"difference": "-0.2500"' in result.stdout
    # 3 min + 2 min at 0.10 became 0.05: 0.25 back; the unanswered call stays free.
    assert container.ledger.account(ACCOUNT).balance == 10_0000 - 5000 + 2500
    container.catch_up()
    rows = container.views.query("SELECT call_id, charged, cost, plan_version, flags FROM cdrs ORDER BY call_id")
    assert rows == [("c0", 3000, 1500, 2, "rerated"), ("c1", 2000, 1000, 2, "rerated"), ("c2", 0, 0, 2, "rerated")]
    assert trial_balance(container) == 0
    # Rerating again with the same version changes nothing.
    again = runner.invoke(cli, ["calls", "rerate", "--plan", "demo", "--version", "2", "--account", ACCOUNT,
                                "--json"], env=env)
    assert '"unchanged": 3' in again.stdout
    assert container.ledger.account(ACCOUNT).balance == 10_0000 - 2500


def test_a_deck_with_bad_rows_is_reported_by_line_and_nothing_is_published(container: Container, settings,
                                                                           tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    lines = DEMO_DECK.splitlines()
    lines[2] = lines[2].replace("0.3000", "0.3.00", 1)
    lines[5] = lines[5].replace(",hmt,", ",galactic,")
    bad.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    env = settings_env(settings)
    result = runner.invoke(cli, ["tariffs", "import", str(bad), "--plan", "retail", "--effective",
                                 "2024-06-01T00:00"], env=env)
    assert result.exit_code == 2
    assert f"{bad}:3:" in result.stderr and f"{bad}:6:" in result.stderr
    listed = runner.invoke(cli, ["tariffs", "list", "--json"], env=env)
    assert "retail" not in listed.stdout
    good = tmp_path / "good.csv"
    good.write_text(DEMO_DECK)
    ok = runner.invoke(cli, ["tariffs", "import", str(good), "--plan", "retail", "--effective",
                             "2024-06-01T00:00", "--json"], env=env)
    assert ok.exit_code == 0, ok.output
    assert '"effective_from": "2024-05-31T16:00:00+00:00"' in ok.stdout  # read in Asia/Shanghai
    exported = runner.invoke(cli, ["tariffs", "export", "--plan", "retail", "--version", "1"], env=env)
    assert exported.exit_code == 0 and exported.stdout.splitlines()[0] == DEMO_DECK.splitlines()[0]
    assert len(exported.stdout.splitlines()) == len(DEMO_DECK.splitlines())


def test_the_cdr_view_rebuilt_from_zero_equals_the_live_one(container: Container) -> None:
    charging = set_up(container, 10_0000)
    charging.authorize(call("a"))
    charging.answer("a")
    charging.interim("a", 30)
    charging.end("a", 90, cause="normal")
    charging.authorize(call("b", caller="+8613900139000"))
    charging.authorize(call("c", HONG_KONG))
    container.catch_up()
    scratch = Projector(container.ledger, container.views, prefix="scratch_")
    try:
        scratch.run()
        live, rebuilt = container.projector.dump(), scratch.dump()
        assert len(live["cdrs"]) == 3 and live["tariffs"]
        assert rebuilt == live
    finally:
        scratch.drop()
        scratch.close()
