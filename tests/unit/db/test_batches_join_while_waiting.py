"""Group commits take their batch once the write lock is held (ADR 0266).

On SQLite the audit writer and the version committer of every process queue for one write lock.
What queues while a writer waits for it must join the transaction it then runs, not wait for
the next one: with two HTTP processes each writer spent half to three quarters of its time
waiting there, and a batch taken before the wait held only what had come before it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from lakevault.audit import DatabaseAuditLog
from lakevault.core.errors import ServiceUnavailable
from lakevault.db import Database
from lakevault.storage._version_commits import VersionCommitter
from tests.unit.audit.helpers import make_event


@pytest.fixture
def sqlite(database: Database) -> Database:
    if not database.is_sqlite:
        pytest.skip("only SQLite has a write lock that a group commit waits for")
    return database


@contextmanager
def _lock_held_elsewhere(database: Database) -> Iterator[None]:
    """The write lock, held by another thread of this process until the block ends."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with database.serialised_write():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(30)
    try:
        yield
    finally:
        release.set()
        holder.join()


def _wait_until_a_thread_waits_for_the_write_lock(name: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        for thread in threading.enumerate():
            frame = sys._current_frames().get(thread.ident or -1)
            while thread.name == name and frame is not None:
                if frame.f_code.co_filename.endswith("_write_lock.py"):
                    return
                frame = frame.f_back
        assert time.monotonic() < deadline, f"no thread {name!r} waits for the write lock"
        time.sleep(0.005)


def test_events_submitted_while_the_writer_waits_for_the_lock_join_its_transaction(
    sqlite: Database,
) -> None:
    log = DatabaseAuditLog(sqlite)
    try:
        log.append(make_event(0))  # the writer thread runs
        with _lock_held_elsewhere(sqlite):
            receipts = [log.submit(make_event(1))]
            _wait_until_a_thread_waits_for_the_write_lock("lakevault-audit-writer")
            receipts += [log.submit(make_event(number)) for number in range(2, 6)]
        assert [receipt.result() for receipt in receipts] == [1, 2, 3, 4, 5]
        assert log.batch_sizes[1:] == [5]  # one transaction, not [1, 4]
    finally:
        log.close()


def test_commits_queued_while_the_leader_waits_for_the_lock_join_its_batch(
    sqlite: Database,
) -> None:
    committer = VersionCommitter(sqlite)
    results: list[int] = []

    def commit(number: int) -> None:
        results.append(committer.commit("bucket", lambda batch: lambda: number))

    with _lock_held_elsewhere(sqlite):
        threads = [threading.Thread(target=commit, args=(number,)) for number in range(5)]
        for thread in threads:
            thread.start()
        # The leader waits for the lock with its own commit still queued: all five are.
        deadline = time.monotonic() + 30
        while committer.queued < 5:
            assert time.monotonic() < deadline, f"{committer.queued} of 5 commits queued"
            time.sleep(0.005)
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1, 2, 3, 4]
    assert (committer.batches, committer.commits) == (1, 5)


def test_events_that_cannot_get_the_lock_in_time_are_refused_and_the_writer_carries_on(
    sqlite: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lakevault.db._database._SQLITE_BUSY_SECONDS", 0.2)
    log = DatabaseAuditLog(sqlite)
    try:
        log.append(make_event(0))
        with _lock_held_elsewhere(sqlite):
            refused = log.submit(make_event(1))
            with pytest.raises(ServiceUnavailable, match="stayed locked"):
                refused.result()
        # Nothing of the refused event was written; the same thread takes the next one.
        assert log.append(make_event(2)) == 1
        assert log.batch_sizes == [1, 1]
    finally:
        log.close()
