"""The views' database: the same SQLite file or PostgreSQL schema as the events.

SQL is written once with `?` placeholders; on PostgreSQL they become `%s`.
Table names carry a prefix so a rebuild can go into scratch tables and be
compared with the live ones.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

#: Seconds to wait for a PostgreSQL connection before calling the store unavailable.
CONNECT_TIMEOUT = 2


def is_connection_lost(exc: BaseException) -> bool:
    """True for errors that mean "this connection (or the server) is gone", not "this SQL is wrong".

    psycopg's OperationalError / InterfaceError (terminated backend, closed
    connection, refused connection) and sqlite3's use of a closed connection.
    A caller may drop the connection and try again on a fresh one.
    """
    if isinstance(exc, sqlite3.ProgrammingError):
        return "closed" in str(exc)
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


def is_broken(conn: Any) -> bool:
    """A connection that can no longer be used (closed, or its server side is gone)."""
    return bool(getattr(conn, "closed", False) or getattr(conn, "broken", False))


class ViewDB:
    def __init__(self, url: str, schema: str = "public") -> None:
        self.url = url
        self.schema = schema
        self.is_postgres = url.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        #: Every per-thread connection handed out, so that `close` closes them all (worker threads too).
        self._opened: list[Any] = []
        self._opened_lock = threading.Lock()

    def connect(self) -> Any:
        if self.is_postgres:
            import psycopg

            u = urlsplit(self.url)
            conn = psycopg.connect(
                host=u.hostname or "127.0.0.1",
                port=u.port or 5432,
                user=u.username or "postgres",
                password=u.password or None,
                dbname=u.path.lstrip("/") or "postgres",
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
            )
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(f'SET search_path TO "{self.schema}"')
            return conn
        conn = sqlite3.connect(
            self.url.removeprefix("sqlite:///"), timeout=30, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.is_postgres else statement

    def insert_many(
        self, cur: Any, table: str, rows: list[tuple[Any, ...]], columns: str = "", conflict: str = ""
    ) -> None:
        """Insert many rows, optionally `ON CONFLICT …` (an upsert).

        SQLite: executemany (in process, fast). PostgreSQL: COPY, straight into
        the table, or for an upsert into a temporary stage and then one
        `INSERT … SELECT … ON CONFLICT` — a few round trips for any number of rows.
        """
        if not rows:
            return
        cols = f" ({columns})" if columns else ""
        if not self.is_postgres:
            marks = ", ".join("?" * len(rows[0]))
            cur.executemany(f"INSERT INTO {table}{cols} VALUES ({marks}) {conflict}", rows)
            return
        target = table
        if conflict:
            target = f"stage_{table}"
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {target} (LIKE {table}) ON COMMIT DELETE ROWS"
            )
        with cur.copy(f"COPY {target}{cols} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if conflict:
            select_cols = columns or "*"
            cur.execute(f"INSERT INTO {table}{cols} SELECT {select_cols} FROM {target} {conflict}")
            cur.execute(f"DELETE FROM {target}")

    def select_in(self, cur: Any, head: str, keys: list[Any]) -> list[tuple[Any, ...]]:
        """`head IN (…)` over many keys, in chunks; `head` ends with `… column`."""
        out: list[tuple[Any, ...]] = []
        mark = "%s" if self.is_postgres else "?"
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            cur.execute(f"{head} IN ({', '.join([mark] * len(chunk))})", chunk)
            out.extend(tuple(r) for r in cur.fetchall())
        return out

    def conn(self) -> Any:
        """A connection owned by the calling thread (reused; reopened when it was lost)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and is_broken(conn):
            self.discard()
            conn = None
        if conn is None:
            conn = self._local.conn = self.connect()
            with self._opened_lock:
                self._opened = [c for c in self._opened if not is_broken(c)]
                self._opened.append(conn)
        return conn

    def discard(self) -> None:
        """Forget the calling thread's connection (after it was lost); the next use opens another."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already gone
                pass

    @contextmanager
    def transaction(self, conn: Any | None = None, *, write: bool = True) -> Iterator[Any]:
        conn = conn or self.conn()
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if write and not self.is_postgres else "BEGIN")
        try:
            yield cur
        except BaseException:
            try:
                cur.execute("ROLLBACK")
            except Exception:  # the connection is gone: the server has rolled back already
                pass
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

    def query(self, statement: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read; a connection lost since its last use is replaced and the read tried once more."""
        for attempt in (1, 2):
            try:
                cur = self.conn().cursor()
                try:
                    cur.execute(self.sql(statement), params)
                    return [tuple(r) for r in cur.fetchall()]
                finally:
                    cur.close()
            except Exception as exc:
                if attempt == 2 or not is_connection_lost(exc):
                    raise
                self.discard()
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close every thread's connection (the calling thread's and any worker's)."""
        self.discard()
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            try:
                conn.close()
            except Exception:  # already gone
                pass


def equal_filters(pairs: tuple[tuple[str, Any], ...]) -> tuple[list[str], list[Any]]:
    """`column = ?` conditions and their values for every pair whose value is given (not None)."""
    given = [(column, value) for column, value in pairs if value is not None]
    return [f"{column} = ?" for column, _ in given], [value for _, value in given]
