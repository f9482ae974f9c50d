"""SQLite's log is checkpointed by a background thread, never inside a commit (ADR 0273)."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from lakevault.api import create_app
from lakevault.core import load_settings
from lakevault.db import Database
from lakevault.db._wal_checkpoints import WAL_AUTOCHECKPOINT_PAGES
from lakevault.runtime import Platform

_THREAD = "lakevault-wal-checkpoints"


def _checkpointers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == _THREAD]


def _rows_in_the_database_file(path: Path, scratch: Path) -> int:
    """Rows of ``t`` in the database file alone, without its log: what checkpoints copied."""
    shutil.copyfile(path, scratch)
    with contextlib.closing(sqlite3.connect(scratch)) as connection:
        try:
            return int(connection.execute("SELECT COUNT(*) FROM t").fetchone()[0])
        except sqlite3.DatabaseError:  # the table is still only in the log, or the copy
            return 0  # caught a checkpoint half-way through its pages


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'metadata.db'}")
    with database.session() as session:
        session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)"))
        session.execute(text("INSERT INTO t (body) VALUES (randomblob(4000))"), [{}] * 500)
    yield database
    database.dispose()


def test_the_log_is_copied_while_a_writer_holds_the_write_lock(
    database: Database, tmp_path: Path
) -> None:
    assert database.sqlite_path is not None
    scratch = tmp_path / "file-alone.db"
    # 500 rows of 4 KB are far below the commits' own threshold: still only in the log.
    assert _rows_in_the_database_file(database.sqlite_path, scratch) == 0
    holding, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t (body) VALUES (randomblob(4000))"))
            holding.set()
            release.wait(30)

    writer = threading.Thread(target=hold_the_write_lock)
    writer.start()
    try:
        assert holding.wait(30)
        database.start_wal_checkpoints(interval=0.02)
        deadline = time.monotonic() + 30
        while _rows_in_the_database_file(database.sqlite_path, scratch) < 500:
            assert time.monotonic() < deadline, "the checkpointer copied nothing"
            time.sleep(0.05)
        # The open transaction's row is not committed, so it is not copied.
        assert _rows_in_the_database_file(database.sqlite_path, scratch) == 500
    finally:
        release.set()
        writer.join()


def test_the_commits_keep_their_own_checkpoint_as_a_backstop(database: Database) -> None:
    with database.engine.connect() as connection:
        pages = connection.execute(text("PRAGMA wal_autocheckpoint")).scalar()
    assert pages == WAL_AUTOCHECKPOINT_PAGES


def test_one_thread_per_database_and_none_after_dispose(database: Database) -> None:
    before = len(_checkpointers())
    database.start_wal_checkpoints()
    database.start_wal_checkpoints()
    assert len(_checkpointers()) == before + 1
    database.dispose()
    assert len(_checkpointers()) == before


def test_nothing_starts_in_memory_and_no_file_is_created(tmp_path: Path) -> None:
    before = len(_checkpointers())
    in_memory = Database("sqlite://")
    in_memory.start_wal_checkpoints()
    assert len(_checkpointers()) == before
    in_memory.dispose()
    missing = tmp_path / "not-yet" / "metadata.db"
    absent = Database(f"sqlite:///{missing}")
    absent.start_wal_checkpoints(interval=0.01)
    time.sleep(0.1)
    absent.dispose()
    assert not missing.exists() and not missing.parent.exists()


def test_a_serving_app_checkpoints_until_it_stops(tmp_path: Path) -> None:
    settings = load_settings({"LAKEVAULT_HOME": str(tmp_path)})
    platform = Platform.build(settings)
    before = len(_checkpointers())
    try:
        with TestClient(create_app(platform)) as client:
            assert client.get("/healthz").status_code == 200
            assert len(_checkpointers()) == before + 1
        assert len(_checkpointers()) == before
    finally:
        platform.close()
