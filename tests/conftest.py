"""Every store-dependent test runs twice: on SQLite and on PostgreSQL.

PostgreSQL is 127.0.0.1:5432 database `test` (override with
RINGLEDGER_TEST_PG_URL). Each test gets its own schema, dropped afterwards.
Under CI=true an unreachable PostgreSQL fails the run; elsewhere those tests
skip with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from typer.testing import CliRunner

from ringledger.cli import app
from ringledger.config import Settings
from ringledger.container import Container, build
from tests.support import PG_URL, TEST_PIN_KEY, drop_schema, require_postgres, settings_env

# `make mutate` runs the properties under tracing on a busy machine: fewer
# examples, no timing health checks (selected with --hypothesis-profile=mutate).
hypothesis_settings.register_profile(
    "mutate", max_examples=25, deadline=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path) -> Iterator[Settings]:
    """Settings for a fresh, empty store of each kind."""
    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite:///{tmp_path}/ledger.db", pin_key=TEST_PIN_KEY)
        return
    require_postgres()
    schema = "t_" + uuid.uuid4().hex[:12]
    yield Settings(database_url=PG_URL, database_schema=schema, pin_key=TEST_PIN_KEY)
    drop_schema(schema)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    c = build(settings)
    yield c
    c.close()


@pytest.fixture
def cli(settings: Settings):
    """The CLI in-process on the test's store: `cli(*args, code=0)` returns its output, asserting the exit code."""
    runner = CliRunner()
    env = {k: v for k, v in settings_env(settings).items() if k.startswith("RINGLEDGER_")}

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.output

    return run
