"""Driver connections of their own for the hot path's one-row reads (``Database.fetch_one``).

Every small object PUT made four ``fetch_one`` lookups (the caller's token row, the policy and
storage generations, the bucket key's record), each through SQLAlchemy's pool: a checkout, a
reset-on-return ``rollback()`` at the checkin, the fairy's bookkeeping, and on PostgreSQL a
pre-ping ``SELECT 1``, a ``BEGIN`` and a ``ROLLBACK`` around the one statement: four round trips
for one row (docs/performance.md, session 7; ADR 0240).

These reads need none of it. A :class:`ReadConnections` keeps its own driver connections, opened
read-only and in autocommit — a SQLite connection with ``PRAGMA query_only``, a PostgreSQL one
whose session's transactions are ``READ ONLY`` — so a statement is its own transaction, holds no
lock after it, and there is nothing to reset. Idle connections wait on a LIFO list (``append``
and ``pop`` are atomic under the GIL); a thread takes one, runs its statement and gives it
back, so no two threads ever use one connection at a time. At most ``keep`` stay idle; more are
closed as they come back.

A connection that failed is closed, never given back. A PostgreSQL connection that waited idle
may have died with a restarted server: the pool's pre-ping used to find that out; here the
statement itself does, and a read that failed on an idle connection is run once more on a new
one (it is read-only, so running it again changes nothing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

#: Idle connections kept per database and process.
DEFAULT_KEEP = 16


class ReadConnections:
    """Autocommit, read-only driver connections from ``open_connection``, reused LIFO.

    ``retryable`` are the driver's exception types that a dead idle connection raises (its
    ``OperationalError`` and ``InterfaceError``).
    """

    def __init__(
        self,
        open_connection: Callable[[], Any],
        *,
        retryable: tuple[type[BaseException], ...],
        keep: int = DEFAULT_KEEP,
    ) -> None:
        self._open = open_connection
        self._retryable = retryable
        self._keep = keep
        self._idle: list[Any] = []

    def fetch_one(self, sql: str, parameters: tuple[object, ...]) -> tuple[Any, ...] | None:
        """Run ``sql`` (the driver's own placeholders) and return its first row."""
        try:
            connection = self._idle.pop()
        except IndexError:
            return self._run(self._open(), sql, parameters)
        try:
            return self._run(connection, sql, parameters)
        except self._retryable:
            return self._run(self._open(), sql, parameters)

    def _run(
        self, connection: Any, sql: str, parameters: tuple[object, ...]
    ) -> tuple[Any, ...] | None:
        try:
            row = fetch_row(connection, sql, parameters)
        except BaseException:
            _close_quietly(connection)
            raise
        self._give_back(connection)
        return row

    def _give_back(self, connection: Any) -> None:
        if len(self._idle) < self._keep:
            self._idle.append(connection)
            return
        _close_quietly(connection)

    @property
    def idle(self) -> int:
        """How many connections wait idle (for tests and diagnostics)."""
        return len(self._idle)

    def close(self) -> None:
        """Close the idle connections (``Database.dispose``); the object stays usable, as
        SQLAlchemy's engine does after its own ``dispose``."""
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return
            _close_quietly(connection)


def fetch_row(connection: Any, sql: str, parameters: tuple[object, ...]) -> tuple[Any, ...] | None:
    """The first row of ``sql`` on a DB-API ``connection``, as a tuple; its cursor closed."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, parameters)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return tuple(row) if row is not None else None


def _close_quietly(connection: Any) -> None:
    # A broken connection is being thrown away anyway.
    with contextlib.suppress(Exception):
        connection.close()


def for_engine(
    engine: Engine, *, busy_seconds: float, connect_seconds: int
) -> ReadConnections | None:
    """Read connections to ``engine``'s database, opened as its pool would open them;
    ``None`` for an in-memory SQLite database (a new connection would see another, empty
    database), which keeps reading through the pool."""
    dialect = engine.dialect
    url = engine.url
    cargs, cparams = dialect.create_connect_args(url)
    dbapi = dialect.loaded_dbapi
    if dialect.name == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or "mode=memory" in str(url):
            return None
        cparams.update(timeout=busy_seconds, check_same_thread=False, isolation_level=None)

        def open_sqlite() -> Any:
            connection = dbapi.connect(*cargs, **cparams)
            try:
                connection.execute(f"PRAGMA busy_timeout = {int(busy_seconds * 1000)}")
                connection.execute("PRAGMA query_only = ON")
            except BaseException:
                connection.close()
                raise
            return connection

        # A SQLite connection does not die idle; its errors (a lock held past the busy
        # timeout) would only repeat.
        return ReadConnections(open_sqlite, retryable=())
    cparams.update(connect_timeout=connect_seconds, autocommit=True)

    def open_postgres() -> Any:
        connection = dbapi.connect(*cargs, **cparams)
        try:
            connection.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        except BaseException:
            connection.close()
            raise
        return connection

    return ReadConnections(open_postgres, retryable=(dbapi.OperationalError, dbapi.InterfaceError))
