"""The auditor's tools: replay to an instant, verify, and the digest chain, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from freezegun import freeze_time
from typer.testing import CliRunner

from ledger import house
from ringledger.audit.replay import replay
from ringledger.audit.verify import verify
from ringledger.cli import app
from ringledger.container import Container
from tests.charging_support import allow_frozen_time
from tests.support import settings_env

BEFORE = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
INSTANT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
AFTER = datetime(2024, 3, 1, 14, 0, tzinfo=UTC)


def history(c: Container) -> dict[str, tuple[int, int]]:
    """Money moves before and after INSTANT; returns the live (balance, held) seen at INSTANT."""
    allow_frozen_time(c)
    with freeze_time(BEFORE):
        c.ledger.open_account("phonebar", "t", number="5550001")
        c.ledger.open_account("subscriber", "t", number="8000000001")
        c.ledger.deposit("5550001", 100_0000, "t")
        c.ledger.transfer("5550001", "8000000001", 20_0000, "t")
        c.ledger.reserve("5550001", "call-1", 3_0000, "switch")
        c.ledger.debit("8000000001", 1_5000, house.revenue("direct", "local"), "t")
    c.catch_up()
    at_instant = {n: (b, h) for n, b, h in c.views.query("SELECT number, balance, held FROM accounts")}
    with freeze_time(AFTER):
        c.ledger.settle("5550001", "call-1", 2_0000, house.revenue("phonebar", "local"), "switch")
        c.ledger.adjust("8000000001", -5_0000, "t", "correction")
        c.ledger.open_account("subscriber", "t", number="8000000002")
    c.catch_up()
    return at_instant


def test_replay_as_of_an_instant_equals_the_live_balances_seen_then(container: Container) -> None:
    at_instant = history(container)
    result = replay(container.ledger, INSTANT)
    replayed = {r["number"]: (r["balance"], r["held"]) for r in result.rows()}
    assert replayed == at_instant == {"5550001": (80_0000, 3_0000), "8000000001": (18_5000, 0)}
    assert {r["number"]: r["holds"] for r in result.rows()}["5550001"] == {"call-1": 3_0000}
    assert result.trial_balance() == 0 and result.house()["house:revenue:direct:local"] == 1_5000
    # And now, replayed to the present, it equals the live views.
    now = replay(container.ledger, datetime(2100, 1, 1, tzinfo=UTC))
    live = {n: (b, h) for n, b, h in container.views.query("SELECT number, balance, held FROM accounts")}
    assert {r["number"]: (r["balance"], r["held"]) for r in now.rows()} == live


def _tamper(c: Container, position: int, old: bytes, new: bytes) -> None:
    table = c.ledger.recorder.events_table_name
    column = "notification_id" if c.views.is_postgres else "rowid"
    conn = c.views.connect()
    try:
        cur = conn.cursor()
        cur.execute(c.views.sql(f"SELECT state FROM {table} WHERE {column} = ?"), (position,))
        state = bytes(cur.fetchone()[0])
        assert old in state
        cur.execute(c.views.sql(f"UPDATE {table} SET state = ? WHERE {column} = ?"), (state.replace(old, new), position))
        if not c.views.is_postgres:
            conn.commit()
    finally:
        conn.close()


def test_verify_passes_on_a_clean_store_and_names_a_tampered_event(container: Container) -> None:
    history(container)
    clean = verify(container)
    assert clean.ok, clean.problems
    # Someone edits the deposit (event 3) in the database, behind the ledger's back.
    _tamper(container, 3, b'"amount":1000000', b'"amount":9000000')
    caught = verify(container)
    assert not caught.ok
    assert "position 3" in caught.problems[0]
    assert any(p.startswith("view gl_balances differs") for p in caught.problems), caught.problems


def test_a_digest_noted_earlier_proves_the_log_up_to_it_unchanged(container: Container) -> None:
    history(container)
    runner = CliRunner()
    env = settings_env(container.settings)
    noted = json.loads(runner.invoke(app, ["audit", "digest", "--json"], env=env).stdout)
    # More business happens after the auditor noted the digest.
    container.ledger.deposit("8000000002", 1_0000, "t")
    ok = runner.invoke(app, ["audit", "verify", "--digest", noted["digest"], "--position", str(noted["position"])],
                       env=env)
    assert ok.exit_code == 0, ok.output
    assert json.loads(runner.invoke(app, ["audit", "digest", "--json"], env=env).stdout)["position"] == \
        noted["position"] + 1
    _tamper(container, 2, b'"kind":"subscriber"', b'"kind":"phonebar"')
    bad = runner.invoke(app, ["audit", "verify", "--digest", noted["digest"], "--position", str(noted["position"])],
                        env=env)
    assert bad.exit_code == 1
    assert "position 2" in bad.stderr


def test_replay_writes_csv_for_an_instant_without_a_zone_read_in_the_operators_zone(container: Container,
                                                                                      tmp_path) -> None:
    history(container)
    out = tmp_path / "balances.csv"
    # 20:00 in Shanghai is 12:00 UTC: the same instant as INSTANT.
    result = CliRunner().invoke(app, ["audit", "replay", "--as-of", "2024-03-01T20:00:00", "--format", "csv",
                                      "--out", str(out)], env=settings_env(container.settings))
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == [
        "number,kind,status,balance,held,available,holds",
        "5550001,phonebar,active,80.0000,3.0000,77.0000,call-1=3.0000",
        "8000000001,subscriber,active,18.5000,0.0000,18.5000,",
    ]
