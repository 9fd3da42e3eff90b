"""A projection turns a batch of (position, event) into rows, inside the runner's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from projections.db import ViewDB

Item = tuple[int, Any]  # (notification position, domain event)


class Projection:
    """Subclasses declare DDL (with `{p}` for the table prefix) and handlers by event class."""

    name: ClassVar[str]
    ddl: ClassVar[list[str]]
    tables: ClassVar[list[str]]  # table names (without prefix), in dump order

    def __init__(self, db: ViewDB, prefix: str = "") -> None:
        self.db = db
        self.prefix = prefix

    def t(self, table: str) -> str:
        return self.prefix + table

    def q(self, statement: str) -> str:
        return self.db.sql(statement.replace("{p}", self.prefix))

    def create(self, cur: Any) -> None:
        for statement in self.ddl:
            cur.execute(statement.replace("{p}", self.prefix))

    def drop(self, cur: Any) -> None:
        for table in self.tables:
            cur.execute(f"DROP TABLE IF EXISTS {self.t(table)}")

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        raise NotImplementedError  # every concrete projection defines apply()

    def dump(self, cur: Any) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table in a stable order, for byte-for-byte comparison."""
        out = {}
        for table in self.tables:
            cur.execute(f"SELECT * FROM {self.t(table)} ORDER BY 1, 2")
            out[table] = [tuple(r) for r in cur.fetchall()]
        return out

