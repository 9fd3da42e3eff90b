"""A projection turns a batch of (position, event) into rows, inside the runner's transaction."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from projections.db import ViewDB

Item = tuple[int, Any]  # (notification position, domain event)


def storable(value: Any) -> Any:
    """Text as every store can hold it: a NUL (refused since, but in logs recorded before) reads as U+FFFD.

    PostgreSQL text cannot hold NUL; without this one such old event would stop a view for good.
    The same on both stores, so a rebuild gives the same rows.
    """
    if type(value) is str and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


class Projection(ABC):
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

    def apply_page(self, cur: Any, items: Sequence[Item], notifications: Sequence[Any]) -> None:
        """One page from the log: decoded events, and the stored notifications they came from."""
        self.apply(cur, items)

    @abstractmethod
    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        """Write the rows for these events (positions ascending) with `cur`, inside the runner's transaction."""

    def dump(self, cur: Any) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table in a stable order, for byte-for-byte comparison."""
        out = {}
        for table in self.tables:
            cur.execute(f"SELECT * FROM {self.t(table)} ORDER BY 1, 2")
            out[table] = [tuple(r) for r in cur.fetchall()]
        return out

