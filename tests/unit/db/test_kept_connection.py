"""``Database.kept_connection()`` (ADR 0251): one write connection kept across transactions,
each a ``BEGIN`` … ``COMMIT`` on it, with the write lock and error translation of
``Database.transaction``; a failed transaction discards the connection, and a PostgreSQL
connection that died idle is recognised as stale."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy.exc
from sqlalchemy import Connection, text

from lakevault.db import Database, KeptConnection

_VALUE = "SELECT value FROM policy_generation WHERE id = 1"
_ADVANCE = "UPDATE policy_generation SET value = value + 1 WHERE id = 1"


def _value(database: Database) -> int:
    row = database.fetch_one(_VALUE, ())
    assert row is not None
    return int(row[0])


def _backend_pid(connection: Connection) -> int:
    return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def test_transactions_commit_on_one_connection_kept_between_them(database: Database) -> None:
    kept = database.kept_connection()
    start = _value(database)
    seen: list[Connection] = []
    for _ in range(3):
        with kept.transaction() as connection:
            connection.execute(text(_ADVANCE))
            seen.append(connection)
        # Committed: a read of its own connection sees it at once.
        assert _value(database) == start + len(seen)
    assert seen[0] is seen[1] is seen[2]
    assert kept.opened == 1 and kept.reused and kept.is_open


def test_a_failed_transaction_rolls_back_and_discards_its_connection(database: Database) -> None:
    kept = database.kept_connection()
    start = _value(database)
    with kept.transaction() as connection:
        connection.execute(text(_ADVANCE))
    first = connection
    with pytest.raises(RuntimeError, match="halfway"), kept.transaction() as connection:
        connection.execute(text(_ADVANCE))
        raise RuntimeError("failed halfway")
    assert _value(database) == start + 1  # nothing of the failed transaction remains
    assert not kept.is_open
    assert first.closed
    with kept.transaction() as connection:
        connection.execute(text(_ADVANCE))
    assert connection is not first and kept.opened == 2 and not kept.reused
    assert _value(database) == start + 2


def test_a_database_error_is_translated_and_the_next_transaction_works(
    database: Database,
) -> None:
    kept = database.kept_connection()
    with (
        pytest.raises(sqlalchemy.exc.ProgrammingError if not database.is_sqlite else Exception),
        kept.transaction() as connection,
    ):
        connection.execute(text("INSERT INTO no_such_table VALUES (1)"))
    start = _value(database)
    with kept.transaction() as connection:
        connection.execute(text(_ADVANCE))
    assert _value(database) == start + 1


def test_sqlite_writers_queue_behind_a_kept_transaction(database: Database) -> None:
    """The kept transaction holds the process's (and the file's) write lock from its begin to
    its commit, as ``Database.transaction`` does: another writer waits on that lock."""
    if not database.is_sqlite:
        pytest.skip("PostgreSQL has no database-wide write lock")
    kept = database.kept_connection()
    finished: list[float] = []

    def other_writer() -> None:
        with database.transaction() as connection:
            connection.execute(text(_ADVANCE))
        finished.append(time.monotonic())

    with kept.transaction() as connection:
        connection.execute(text(_ADVANCE))
        writer = threading.Thread(target=other_writer)
        writer.start()
        time.sleep(0.3)
        assert not finished, "another writer wrote inside the kept transaction"
        released = time.monotonic()
    writer.join(30)
    assert finished and finished[0] >= released


def test_dispose_gives_the_connection_back_and_the_next_transaction_reopens(
    database: Database,
) -> None:
    kept = database.kept_connection()
    with kept.transaction() as connection:
        connection.execute(text(_ADVANCE))
    database.dispose()
    assert not kept.is_open and connection.closed
    with kept.transaction() as connection:
        connection.execute(text(_ADVANCE))
    assert kept.opened == 2


def test_a_postgres_connection_killed_while_idle_is_recognised_as_stale(
    database: Database,
) -> None:
    if database.is_sqlite:
        pytest.skip("a SQLite connection cannot be killed from outside the process")
    kept: KeptConnection = database.kept_connection()
    with kept.transaction() as connection:
        pid = _backend_pid(connection)
    with database.engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    start = _value(database)
    with pytest.raises(Exception) as raised, kept.transaction() as connection:
        connection.execute(text(_ADVANCE))
    assert kept.went_stale(raised.value)
    assert not kept.is_open
    # A fresh connection is not stale, and its own failures are not a lost connection.
    with kept.transaction() as connection:
        assert _backend_pid(connection) != pid
        connection.execute(text(_ADVANCE))
    assert not kept.reused
    with pytest.raises(Exception) as raised, kept.transaction() as connection:
        connection.execute(text("INSERT INTO no_such_table VALUES (1)"))
    assert not kept.went_stale(raised.value)
    assert _value(database) == start + 1


def test_sqlite_failures_are_never_stale(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite only")
    kept = database.kept_connection()
    with kept.transaction() as connection:
        connection.execute(text(_ADVANCE))
    error = sqlalchemy.exc.OperationalError("BEGIN", (), Exception("database is locked"))
    assert not kept.went_stale(error)
