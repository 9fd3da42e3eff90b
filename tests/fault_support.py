"""Stores a test may take away: its own PostgreSQL database, or its own SQLite file.

`lose_connections` is a server-side termination of every connection (on
SQLite, where no server exists, the held connections are closed under their
owners); `outage()` makes the store refuse work until the block ends:
PostgreSQL refuses connections to the test's own database, SQLite is locked
exclusively by another connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ringledger.config import Settings
from tests.support import (
    TEST_PIN_KEY,
    create_own_database,
    cut_off,
    drop_own_database,
    own_database_url,
    reopen,
    require_postgres,
)


@dataclass
class Store:
    kind: str
    settings: Settings
    database: str = ""

    def lose_connections(self, container: Any = None) -> None:
        if self.kind == "postgres":
            cut_off(self.database, refuse_new=False)
        elif container is not None:
            container.projector._conn.close()
            container.views.conn().close()

    @contextmanager
    def outage(self) -> Iterator[None]:
        if self.kind == "postgres":
            cut_off(self.database)
            try:
                yield
            finally:
                reopen(self.database)
            return
        blocker = sqlite3.connect(self.settings.sqlite_path, timeout=30, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()


@contextmanager
def own_store(kind: str, tmp_path: Path, **overrides: Any) -> Iterator[Store]:
    if kind == "sqlite":
        yield Store(kind, Settings(database_url=f"sqlite:///{tmp_path}/ledger.db", pin_key=TEST_PIN_KEY,
                                   **overrides))
        return
    require_postgres()
    name = create_own_database()
    try:
        yield Store(kind, Settings(database_url=own_database_url(name), pin_key=TEST_PIN_KEY, **overrides), name)
    finally:
        drop_own_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with own_store(request.param, tmp_path) as s:
        yield s
