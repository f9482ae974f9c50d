"""SQLite writers of several processes queue on one ``flock`` beside the database (ADR 0250):
a waiter sleeps in the kernel, not in SQLite's busy handler, wakes when the holder ends its
transaction, and gets past a holder killed with SIGKILL. Real processes, real files."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from lakevault.core.errors import ConfigurationError
from lakevault.db import Database

# Holds a write transaction (its row inserted) until a line arrives on stdin, then commits.
_HOLDER = """
import sys
from sqlalchemy import text
from lakevault.db import Database
database = Database(sys.argv[1])
with database.session() as session:
    session.execute(text("INSERT INTO t VALUES (100)"))
    print("inside", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""

# THREADS threads each commit ROUNDS single-row transactions, alternating session() and
# transaction(); prints the errors it met (none expected).
_WRITERS = """
import sys, threading
from sqlalchemy import text
from lakevault.db import Database
database = Database(sys.argv[1])
tag, threads, rounds = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
errors = []
def write(n):
    for i in range(rounds):
        try:
            if i % 2:
                with database.session() as session:
                    session.execute(text("INSERT INTO t VALUES (:n)"), {"n": tag})
            else:
                with database.transaction() as connection:
                    connection.execute(text("INSERT INTO t VALUES (:n)"), {"n": tag})
        except Exception as exc:
            errors.append(repr(exc))
workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print("errors", errors, flush=True)
"""


def _database(tmp_path: Path) -> tuple[str, Database]:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    database = Database(url)
    with database.session() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    return url, database


def _python(script: str, *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _holding(tmp_path: Path, url: str) -> subprocess.Popen[str]:
    holder = _python(_HOLDER, url)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "inside", holder.stderr
    return holder


def _flock_entries(lock_file: Path) -> list[tuple[bool, int]]:
    """``(waiting, pid)`` of each ``flock`` on ``lock_file`` in ``/proc/locks``."""
    inode = os.stat(lock_file).st_ino
    entries = []
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        waiting = len(fields) > 1 and fields[1] == "->"
        if waiting:
            fields = fields[:1] + fields[2:]
        if len(fields) >= 6 and fields[1] == "FLOCK" and int(fields[5].rsplit(":", 1)[1]) == inode:
            entries.append((waiting, int(fields[4])))
    return entries


def _count(database: Database) -> int:
    with database.read_session() as session:
        return int(session.execute(text("SELECT count(*) FROM t")).scalar_one())


def test_a_writer_waits_in_the_kernel_for_another_process_and_wakes_at_its_commit(
    tmp_path: Path,
) -> None:
    url, database = _database(tmp_path)
    lock_file = tmp_path / "m.db-writelock"
    holder = _holding(tmp_path, url)
    assert _flock_entries(lock_file) == [(False, holder.pid)]
    # SQLite's own lock is held too: a connection that does not queue is refused at once.
    bare = sqlite3.connect(tmp_path / "m.db", timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        bare.execute("BEGIN IMMEDIATE")
    bare.close()
    finished: list[float] = []

    def write() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        finished.append(time.monotonic())

    waiter = threading.Thread(target=write)
    waiter.start()
    deadline = time.monotonic() + 10
    while (True, os.getpid()) not in _flock_entries(lock_file) and time.monotonic() < deadline:
        time.sleep(0.01)
    # Queued on the lock file (not asleep in SQLite's busy handler), and not done.
    assert (True, os.getpid()) in _flock_entries(lock_file)
    assert finished == []
    released_at = time.monotonic()
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    waiter.join(10)
    assert holder.stdout.readline().strip() == "committed"
    assert holder.wait(10) == 0
    # Woken by the kernel when the holder unlocked, not by a busy handler's 100 ms sleeps.
    assert finished and finished[0] - released_at < 0.09
    assert _count(database) == 2
    assert _flock_entries(lock_file) == []  # nothing holds it between transactions
    database.dispose()


def test_writers_of_three_processes_all_commit(tmp_path: Path) -> None:
    """Two processes of four threads and this one write at once; every transaction commits
    (no "database is locked", no lost row)."""
    url, database = _database(tmp_path)
    rounds = 60
    others = [_python(_WRITERS, url, str(tag), "4", str(rounds)) for tag in (1, 2)]
    errors: list[str] = []

    def write() -> None:
        for _ in range(rounds):
            try:
                with database.session() as session:
                    session.execute(text("INSERT INTO t VALUES (0)"))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))

    mine = [threading.Thread(target=write) for _ in range(4)]
    for thread in mine:
        thread.start()
    for thread in mine:
        thread.join(120)
    for other in others:
        out, err = other.communicate(timeout=120)
        assert other.returncode == 0, err
        assert out.strip() == "errors []"
    assert errors == []
    assert _count(database) == 12 * rounds
    database.dispose()


def test_a_holder_killed_with_sigkill_releases_the_lock(tmp_path: Path) -> None:
    url, database = _database(tmp_path)
    holder = _holding(tmp_path, url)
    done = threading.Event()

    def write() -> None:
        with database.session() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
        done.set()

    waiter = threading.Thread(target=write)
    waiter.start()
    assert not done.wait(0.3)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(10)
    assert done.wait(10)  # the kernel dropped the lock with the process
    waiter.join(10)
    with database.read_session() as session:
        # The killed transaction left nothing; the waiter's row is there.
        assert session.execute(text("SELECT n FROM t")).scalars().all() == [2]
    database.dispose()


def test_two_database_objects_of_one_file_share_the_lock_in_one_process(tmp_path: Path) -> None:
    """Two descriptors' flocks would exclude each other even in one process; one lock per file
    and process keeps a second ``Database`` of the file (the CLI's, a test's) queueing on the
    same re-entrant lock."""
    url, first = _database(tmp_path)
    second = Database(url)
    inside = threading.Event()
    release = threading.Event()
    finished: list[float] = []

    def hold() -> None:
        with first.session() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            inside.set()
            release.wait(10)

    def write() -> None:
        with second.transaction() as connection:
            connection.execute(text("INSERT INTO t VALUES (2)"))
        finished.append(time.monotonic())

    holding = threading.Thread(target=hold)
    holding.start()
    assert inside.wait(10)
    writing = threading.Thread(target=write)
    writing.start()
    time.sleep(0.3)
    assert finished == []
    released_at = time.monotonic()
    release.set()
    holding.join(10)
    writing.join(10)
    assert finished and finished[0] - released_at < 0.09
    assert _count(first) == 2
    first.dispose()
    second.dispose()


def test_a_lock_file_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "m.db-writelock").mkdir()  # in the way: not a file that can be locked
    database = Database(f"sqlite:///{tmp_path / 'm.db'}")
    with (
        pytest.raises(ConfigurationError, match=r"m\.db-writelock") as raised,
        database.session() as session,
    ):
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    assert "lakevault init" in str(raised.value)
    database.dispose()


def test_an_in_memory_database_needs_no_lock_file(tmp_path: Path) -> None:
    database = Database("sqlite://")
    with database.session() as session:
        session.execute(text("SELECT 1"))
    assert list(tmp_path.iterdir()) == []
    database.dispose()


def test_dispose_closes_the_lock_file_and_a_later_write_reopens_it(tmp_path: Path) -> None:
    _url, database = _database(tmp_path)
    lock_file = str(tmp_path / "m.db-writelock")

    def open_here() -> int:
        found = 0
        for fd in os.listdir("/proc/self/fd"):
            # (the directory listing's own descriptor is closed by now)
            with contextlib.suppress(FileNotFoundError):
                found += os.readlink(f"/proc/self/fd/{fd}") == lock_file
        return found

    assert open_here() == 1
    database.dispose()
    assert open_here() == 0
    with database.session() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
    assert open_here() == 1
    assert _count(database) == 1
    database.dispose()
