"""Helpers shared by the tests: the PostgreSQL probe and store settings."""

from __future__ import annotations

import os

import pytest

from ringledger.config import Settings

PG_URL = os.environ.get("RINGLEDGER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_PIN_KEY = "11" * 32
#: The business clock of every process a test starts, unless its settings pin another:
#: 10:00 Beijing on a Monday (peak in the demo tariff).
TEST_CLOCK_START = "2024-05-06T10:00:00+08:00"


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except Exception as err:  # the reason is shown in the skip message
        return f"PostgreSQL at {PG_URL} is unreachable: {err}"


_PG_PROBLEM: str | None | bool = False


def pg_problem() -> str | None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _pg_reachable()
    return _PG_PROBLEM  # type: ignore[return-value]


def require(problem: str | None) -> None:
    """A test that needs a real server: skip with the reason, but fail under CI=true, where it must run."""
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)


def require_postgres() -> None:
    require(pg_problem())


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')




def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that make a subprocess use the same store and a fixed business clock."""
    return {
        **os.environ,
        "RINGLEDGER_DATABASE_URL": settings.database_url,
        "RINGLEDGER_DATABASE_SCHEMA": settings.database_schema,
        "RINGLEDGER_PIN_KEY": settings.pin_key,
        "RINGLEDGER_CLOCK_START": settings.clock_start or TEST_CLOCK_START,
    }


def admin_url() -> str:
    """The same PostgreSQL server, database `postgres`: for CREATE/DROP/ALTER DATABASE of our own."""
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(PG_URL)._replace(path="/postgres"))


def own_database_url(name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))


def create_own_database() -> str:
    """A fresh database `rl_fault_<hex>` that a test may cut off; never the shared one."""
    import uuid

    import psycopg

    name = "rl_fault_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def cut_off(name: str, *, refuse_new: bool = True) -> None:
    """Terminate every connection to OUR database `name` (and refuse new ones if asked)."""
    import psycopg

    assert name.startswith("rl_fault_"), "only a test's own database may be cut off"
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        if refuse_new:
            conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                     "AND pid <> pg_backend_pid()", (name,))


def reopen(name: str) -> None:
    import psycopg

    assert name.startswith("rl_fault_")
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def drop_own_database(name: str) -> None:
    import psycopg

    assert name.startswith("rl_fault_")
    reopen(name)
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
