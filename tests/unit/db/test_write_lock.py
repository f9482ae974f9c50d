"""SQLite writers of one process queue on a lock taken at their first statement (ADR 0169)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from lakevault.db import Database


def _database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'm.db'}")
    with database.session() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    return database


def test_a_second_writer_waits_for_the_first_and_then_proceeds(tmp_path: Path) -> None:
    database = _database(tmp_path)
    inside = threading.Event()
    release = threading.Event()
    finished: list[float] = []

    def first() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            inside.set()
            release.wait(10)

    def second() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
        finished.append(time.monotonic())

    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(10)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.3)
    assert finished == []  # queued behind the first writer, not failed
    released_at = time.monotonic()
    release.set()
    one.join(10)
    two.join(10)
    assert finished and finished[0] >= released_at
    # Woken by the lock, not by SQLite's sleeping busy handler (whose sleeps reach 100 ms).
    assert finished[0] - released_at < 0.09
    with database.read_session() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
    database.dispose()


def test_a_session_holds_nothing_before_its_first_statement(tmp_path: Path) -> None:
    database = _database(tmp_path)
    done = threading.Event()

    def other() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES (3)"))
        done.set()

    with database.session() as session:
        worker = threading.Thread(target=other)
        worker.start()
        assert done.wait(10)  # the open but unused session did not block it
        session.execute(text("INSERT INTO t VALUES (4)"))
    worker.join(10)
    database.dispose()


def test_nested_sessions_in_one_thread_and_a_failed_one_release_the_lock(tmp_path: Path) -> None:
    database = _database(tmp_path)
    try:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES (5)"))
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    done = threading.Event()

    def other() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES (6)"))
        done.set()

    worker = threading.Thread(target=other)
    worker.start()
    assert done.wait(10)  # the rolled-back writer released the lock
    worker.join(10)
    with database.read_session() as session:
        assert session.execute(text("SELECT n FROM t")).scalars().all() == [6]
    database.dispose()


def test_a_core_transaction_queues_behind_a_session_and_commits(tmp_path: Path) -> None:
    """``Database.transaction()`` (Core statements on a bare connection, ADR 0177) takes the
    same per-process lock as a session, commits on success and rolls back on an error."""
    database = _database(tmp_path)
    inside = threading.Event()
    release = threading.Event()
    finished: list[float] = []

    def first() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            inside.set()
            release.wait(10)

    def second() -> None:
        with database.transaction() as connection:
            connection.execute(text("INSERT INTO t VALUES (2)"))
        finished.append(time.monotonic())

    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(10)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.3)
    assert finished == []
    released_at = time.monotonic()
    release.set()
    one.join(10)
    two.join(10)
    assert finished and finished[0] - released_at < 0.09
    try:
        with database.transaction() as connection:
            connection.execute(text("INSERT INTO t VALUES (3)"))
            raise RuntimeError("abandon")
    except RuntimeError:
        pass
    with database.transaction() as connection:  # the lock was released by the rollback
        connection.execute(text("INSERT INTO t VALUES (4)"))
    with database.read_session() as session:
        assert sorted(session.execute(text("SELECT n FROM t")).scalars()) == [1, 2, 4]
    database.dispose()
