"""``Database.fetch_one`` runs on driver connections of its own (ADR 0240): autocommit, so each
read sees every commit made before it, by any connection or process, and holds nothing after
it; opened read-only, so a statement that writes is refused; a connection that died idle is
replaced without the caller noticing; at most a few wait idle, and ``dispose`` closes them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
import sqlalchemy.exc
from sqlalchemy import text

from lakevault.core.errors import ServiceUnavailable
from lakevault.db import Database
from lakevault.db._readers import ReadConnections

_GENERATION = "SELECT value FROM policy_generation WHERE id = 1"


def _advance(database: Database) -> None:
    with database.session() as session:
        session.execute(text("UPDATE policy_generation SET value = value + 1 WHERE id = 1"))


def test_a_read_sees_a_commit_made_after_the_previous_read(database: Database) -> None:
    first = database.fetch_one(_GENERATION, ())
    assert first is not None
    # Another process: its own Database, engine and connections on the same store.
    other = Database(database.url)
    try:
        _advance(other)
        assert database.fetch_one(_GENERATION, ()) == (first[0] + 1,)
        _advance(database)
        assert other.fetch_one(_GENERATION, ()) == (first[0] + 2,)
    finally:
        other.dispose()


def test_a_read_holds_no_transaction_after_it(database: Database) -> None:
    database.fetch_one(_GENERATION, ())
    if database.is_sqlite:
        # A writer of another process takes the whole database at once: no reader holds a
        # snapshot (WAL would let it write anyway; an EXCLUSIVE lock would wait on a reader).
        other = sqlalchemy.create_engine(database.url, connect_args={"timeout": 0.5})
        try:
            with other.connect() as connection:
                connection.exec_driver_sql("BEGIN EXCLUSIVE")
                connection.exec_driver_sql("ROLLBACK")
        finally:
            other.dispose()
        return
    with database.engine.connect() as connection:
        states = connection.execute(
            text(
                "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ).scalars()
        assert "idle in transaction" not in list(states)


def test_a_writing_statement_is_refused_and_changes_nothing(database: Database) -> None:
    before = database.fetch_one(_GENERATION, ())
    with pytest.raises(ServiceUnavailable):
        database.fetch_one(
            "UPDATE policy_generation SET value = value + 100 WHERE id = ? RETURNING value", (1,)
        )
    assert database.fetch_one(_GENERATION, ()) == before


def test_a_reader_killed_while_idle_is_replaced(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("a SQLite connection cannot be killed from outside the process")
    before = database.fetch_one(_GENERATION, ())
    with database.engine.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query = :query"
            ),
            {"query": _GENERATION},
        ).all()
    assert killed  # the idle reader was there, and is gone
    assert database.fetch_one(_GENERATION, ()) == before


def test_dispose_closes_the_idle_readers_and_the_database_stays_usable(
    database: Database,
) -> None:
    database.fetch_one(_GENERATION, ())
    database.dispose()
    if not database.is_sqlite:
        with database.engine.connect() as connection:
            others = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert others == 0
    assert database.fetch_one(_GENERATION, ()) is not None


def test_an_in_memory_sqlite_database_reads_through_its_pool() -> None:
    database = Database("sqlite://")
    try:
        with database.session() as session:
            session.execute(text("CREATE TABLE t (n INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (7)"))
        # A connection of its own would open another, empty database.
        assert database.fetch_one("SELECT n FROM t", ()) == (7,)
    finally:
        database.dispose()


def test_a_missing_sqlite_directory_says_to_run_init(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'nowhere' / 'metadata.db'}")
    with pytest.raises(Exception, match="lakevault init"):
        database.fetch_one("SELECT 1", ())


class _Connection:
    """A driver connection that counts what it was asked to do."""

    def __init__(self, opened: list[_Connection], *, fail: BaseException | None = None) -> None:
        self.closed = False
        self.fail = fail
        self.hold: threading.Event | None = None
        opened.append(self)

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    def close(self) -> None:
        self.closed = True


class _Cursor:
    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    def execute(self, _sql: str, _parameters: Any) -> None:
        if self._connection.fail is not None:
            raise self._connection.fail

    def fetchone(self) -> tuple[int]:
        if self._connection.hold is not None:
            self._connection.hold.wait(5)
        return (1,)

    def close(self) -> None:
        pass


class _Gone(Exception):
    pass


def test_at_most_keep_connections_wait_idle_and_the_rest_are_closed() -> None:
    opened: list[_Connection] = []
    hold = threading.Event()

    def open_held() -> _Connection:
        connection = _Connection(opened)
        connection.hold = hold
        return connection

    readers = ReadConnections(open_held, retryable=(), keep=2)
    threads = [threading.Thread(target=readers.fetch_one, args=("SELECT 1", ())) for _ in range(4)]
    for thread in threads:
        thread.start()
    while len(opened) < 4:
        threading.Event().wait(0.01)
    for connection in opened:
        connection.hold = None
    hold.set()
    for thread in threads:
        thread.join(5)
    assert len(opened) == 4  # four readers at once: four connections, none shared
    assert readers.idle == 2
    assert sum(connection.closed for connection in opened) == 2
    assert readers.fetch_one("SELECT 1", ()) == (1,)
    assert len(opened) == 4  # an idle one was reused
    readers.close()
    assert readers.idle == 0 and all(connection.closed for connection in opened)


def test_a_failed_idle_connection_is_closed_and_only_a_retryable_failure_is_retried() -> None:
    opened: list[_Connection] = []
    readers = ReadConnections(lambda: _Connection(opened), retryable=(_Gone,))
    assert readers.fetch_one("SELECT 1", ()) == (1,)
    opened[0].fail = _Gone("server closed the connection")
    assert readers.fetch_one("SELECT 1", ()) == (1,)  # retried on a new connection
    assert len(opened) == 2 and opened[0].closed and not opened[1].closed
    opened[1].fail = ValueError("a real error")
    with pytest.raises(ValueError, match="a real error"):
        readers.fetch_one("SELECT 1", ())
    assert opened[1].closed and readers.idle == 0


def test_a_failed_sqlite_begin_is_sqlalchemys_error_and_translated(tmp_path: Path) -> None:
    """BEGIN runs on the driver's connection (ADR 0242); its failure is still SQLAlchemy's
    ``OperationalError`` (so ``translate_errors`` and callers see what they always saw)."""
    database = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with database.engine.connect() as connection:
            connection.connection.driver_connection.execute("BEGIN")
            with pytest.raises(sqlalchemy.exc.OperationalError, match="within a transaction"):
                connection.begin()
            connection.connection.driver_connection.execute("ROLLBACK")
        with database.transaction() as connection:
            connection.exec_driver_sql("CREATE TABLE t (n INTEGER)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        with pytest.raises(RuntimeError), database.transaction() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (2)")
            raise RuntimeError("roll back")
        assert database.fetch_one("SELECT count(*) FROM t", ()) == (1,)
    finally:
        database.dispose()
