"""The group commit of object versions (docs/decisions/0221): concurrent PUTs share one
transaction, yet each PUT gets its own outcome, and a failure never spreads to a neighbour."""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from lakevault.core import SystemClock
from lakevault.db import Database, models
from lakevault.storage import Conditions, LocalBackend, ObjectInfo, PreconditionFailed
from lakevault.storage._sweep import sweep_orphan_blobs
from tests.unit.storage.conftest import StorageWorld, build_storage_world

_JOURNAL = models.BlobJournal.__table__


@pytest.fixture
def local_world(database: Database, tmp_path: Path) -> StorageWorld:
    """Storage on each database with the local backend (the group commit is the database's)."""
    return build_storage_world(database, LocalBackend(tmp_path / "objects"))


def _in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(target())
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _wait_queued(world: StorageWorld, count: int) -> None:
    committer = world.storage.objects._core.version_committer
    deadline = time.monotonic() + 30
    while committer.queued < count:
        assert time.monotonic() < deadline, f"only {committer.queued} of {count} commits queued"
        time.sleep(0.01)


def _latest(world: StorageWorld, bucket: str, key: str) -> list[tuple[str, bool]]:
    with world.database.read_session() as session:
        rows = session.execute(
            select(models.ObjectVersion.etag, models.ObjectVersion.is_latest).where(
                models.ObjectVersion.bucket_name == bucket, models.ObjectVersion.key == key
            )
        ).all()
    return [(row.etag, row.is_latest) for row in rows]


def test_refused_conditions_fail_their_puts_only_while_the_batch_commits(
    local_world: StorageWorld,
) -> None:
    """Two create-only PUTs of one new key and two If-Match PUTs on one ETag pass the early
    check, queue together, and meet in one transaction: the first of each pair wins, the second
    is refused there, and the plain PUTs of the same batch commit."""
    world = local_world
    committer = world.storage.objects._core.version_committer
    world.storage.buckets.create_bucket(world.caller(), "batch")
    existing = world.put("batch", "taken", b"old" * 100)
    batches_before = committer.batches
    with committer.paused():
        conditional = []
        for n in range(2):
            conditional.append(
                _in_thread(
                    lambda n=n: world.put(
                        "batch", "new", bytes([n]) * 10, conditions=Conditions(if_none_match="*")
                    )
                )
            )
            conditional.append(
                _in_thread(
                    lambda n=n: world.put(
                        "batch",
                        "taken",
                        bytes([n]) * 20,
                        conditions=Conditions(if_match=existing.etag),
                    )
                )
            )
        plain = [
            _in_thread(lambda n=n: world.put("batch", f"fresh-{n}", b"x" * 4096)) for n in range(2)
        ]
        _wait_queued(world, 6)
    for thread, _ in (*conditional, *plain):
        thread.join(30)
    assert committer.batches - batches_before == 1  # the six commits in one transaction
    for key, outcomes in (
        ("new", [conditional[0][1][0], conditional[2][1][0]]),
        ("taken", [conditional[1][1][0], conditional[3][1][0]]),
    ):
        won = [outcome for outcome in outcomes if isinstance(outcome, ObjectInfo)]
        lost = [outcome for outcome in outcomes if isinstance(outcome, PreconditionFailed)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert _latest(world, "batch", key) == [(won[0].etag, True)]
    for _, outcome in plain:
        assert isinstance(outcome[0], ObjectInfo), outcome
    for n in range(2):
        assert world.get("batch", f"fresh-{n}") == b"x" * 4096
    # The refused PUTs' blobs and their journal rows are gone: four objects remain, and the
    # journal holds only the replaced blob's row that a later commit removes (ADR 0196).
    assert len(world.blobs()) == 4
    with world.database.read_session() as session:
        states = list(session.scalars(select(models.BlobJournal.state)))
    assert states == ["deleting"]


def test_two_puts_of_one_key_in_one_batch_leave_one_latest_version(
    local_world: StorageWorld,
) -> None:
    world = local_world
    committer = world.storage.objects._core.version_committer
    world.storage.buckets.create_bucket(world.caller(), "same-key")
    batches_before = committer.batches
    with committer.paused():
        writers = [
            _in_thread(lambda n=n: world.put("same-key", "k", bytes([n]) * 1000)) for n in range(3)
        ]
        _wait_queued(world, 3)
    for thread, _ in writers:
        thread.join(30)
    infos = [outcome[0] for _, outcome in writers]
    assert all(isinstance(info, ObjectInfo) for info in infos), infos
    assert committer.batches - batches_before == 1
    rows = _latest(world, "same-key", "k")
    assert len(rows) == 1 and rows[0][1] is True  # unversioned: one null version remains
    assert world.get("same-key", "k") in {bytes([n]) * 1000 for n in range(3)}
    assert len(world.blobs()) == 1  # the replaced blobs were deleted


def test_a_failing_write_reruns_the_batch_commit_by_commit(local_world: StorageWorld) -> None:
    """A write that fails after writing part of itself rolls the shared transaction back; each
    commit then runs alone, so only the failing one fails and nothing of it remains."""
    world = local_world
    committer = world.storage.objects._core.version_committer
    world.storage.buckets.create_bucket(world.caller(), "rerun")

    def journal_row(path: str, *, fail: bool) -> Callable[[Any], Callable[[], str]]:
        def check(batch: Any) -> Callable[[], str]:
            def write() -> str:
                batch.connection.execute(
                    insert(_JOURNAL).values(
                        blob_path=path,
                        bucket_name="rerun",
                        state="writing",
                        created_at=world.clock.now(),
                    )
                )
                if fail:
                    raise RuntimeError("the write failed halfway")
                return path

            return write

        return check

    batches_before = committer.batches
    with committer.paused():
        commits = [
            _in_thread(lambda n=n: committer.commit("rerun", journal_row(f"p{n}", fail=n == 1)))
            for n in range(3)
        ]
        _wait_queued(world, 3)
    for thread, _ in commits:
        thread.join(30)
    outcomes = [outcome[0] for _, outcome in commits]
    assert outcomes[0] == "p0" and outcomes[2] == "p2", outcomes
    assert isinstance(outcomes[1], RuntimeError)
    with world.database.read_session() as session:
        paths = set(session.scalars(select(models.BlobJournal.blob_path)))
    assert paths == {"p0", "p2"}
    # The shared transaction rolled back (not counted); then each commit alone, two of which
    # committed.
    assert committer.batches - batches_before == 2


def test_a_missing_bucket_refuses_its_commit_only(local_world: StorageWorld) -> None:
    world = local_world
    committer = world.storage.objects._core.version_committer

    def check(batch: Any) -> Callable[[], None]:
        batch.versioning("no-such-bucket")
        return lambda: None

    with pytest.raises(Exception, match="no-such-bucket"):
        committer.commit("no-such-bucket", check)


def _journal_rows(world: StorageWorld) -> set[str]:
    with world.database.read_session() as session:
        return set(session.scalars(select(models.BlobJournal.blob_path)))


def _journal_commit(
    world: StorageWorld, path: str, *, before_write: Callable[[Any], None]
) -> Callable[[Any], Callable[[], str]]:
    """A commit that inserts the journal row ``path`` after ``before_write(batch)``."""

    def check(batch: Any) -> Callable[[], str]:
        def write() -> str:
            before_write(batch)
            batch.connection.execute(
                insert(_JOURNAL).values(
                    blob_path=path,
                    bucket_name="kept",
                    state="writing",
                    created_at=world.clock.now(),
                )
            )
            return path

        return write

    return check


def _batch_of_three(
    world: StorageWorld, commits: list[Callable[[Any], Callable[[], str]]]
) -> list[Any]:
    committer = world.storage.objects._core.version_committer
    with committer.paused():
        threads = [
            _in_thread(lambda check=check: committer.commit("kept", check)) for check in commits
        ]
        _wait_queued(world, len(commits))
    for thread, _ in threads:
        thread.join(30)
    return [outcome[0] for _, outcome in threads]


def test_the_committer_keeps_one_connection_across_its_batches(local_world: StorageWorld) -> None:
    """ADR 0251: the batches run on one connection kept open, not one checked out per batch."""
    world = local_world
    kept = world.storage.objects._core.version_committer._kept
    world.storage.buckets.create_bucket(world.caller(), "kept")
    opened = kept.opened
    for n in range(5):
        world.put("kept", f"k{n}", b"x" * 100)
    assert kept.opened - opened <= 1 and kept.is_open
    assert [world.get("kept", f"k{n}") for n in range(5)] == [b"x" * 100] * 5


def test_a_batch_whose_every_write_fails_fails_every_waiter_and_leaves_nothing(
    local_world: StorageWorld,
) -> None:
    """Every commit of the batch fails, in the batch and alone: each waiter gets its error,
    nothing of any is visible, and the next commit runs on a new connection and commits."""
    world = local_world
    committer = world.storage.objects._core.version_committer
    world.storage.buckets.create_bucket(world.caller(), "kept")

    def fail(batch: Any) -> None:
        batch.connection.execute(
            insert(_JOURNAL).values(
                blob_path="half", bucket_name="kept", state="writing", created_at=world.clock.now()
            )
        )
        raise RuntimeError("the write failed")

    outcomes = _batch_of_three(
        world, [_journal_commit(world, f"f{n}", before_write=fail) for n in range(3)]
    )
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes), outcomes
    assert _journal_rows(world) == set()
    opened = committer._kept.opened
    assert committer.commit("kept", _journal_commit(world, "ok", before_write=lambda _: None))
    assert _journal_rows(world) == {"ok"}
    assert committer._kept.opened == opened + 1


def _kill_own_backend(batch: Any) -> None:
    batch.connection.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")


def test_a_connection_that_died_idle_is_replaced_and_the_batch_commits_once(
    local_world: StorageWorld,
) -> None:
    """PostgreSQL restarted (here: the committer's backend terminated) between two batches:
    the next batch fails at its first statement, before anything could commit, and runs once
    more on a new connection; every PUT of it succeeds, each version written once."""
    world = local_world
    if world.database.is_sqlite:
        pytest.skip("a SQLite connection cannot be killed from outside the process")
    committer = world.storage.objects._core.version_committer
    world.storage.buckets.create_bucket(world.caller(), "kept")
    world.put("kept", "before", b"b" * 10)
    kept = committer._kept
    assert kept.is_open
    pid = kept._connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with world.database.engine.connect() as other:
        other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    opened = kept.opened
    outcomes = _batch_of_three(
        world, [_journal_commit(world, f"r{n}", before_write=lambda _: None) for n in range(3)]
    )
    assert outcomes == ["r0", "r1", "r2"]
    assert _journal_rows(world) == {"r0", "r1", "r2"}
    assert kept.opened == opened + 1
    world.put("kept", "after", b"a" * 10)
    assert world.get("kept", "after") == b"a" * 10


def test_a_connection_lost_in_every_attempt_fails_every_waiter_and_leaves_nothing(
    local_world: StorageWorld,
) -> None:
    """A connection lost mid-batch is retried once on a new one, then the commits run alone;
    when each attempt loses its connection too, every waiter gets the error and nothing of
    the batch is visible."""
    world = local_world
    if world.database.is_sqlite:
        pytest.skip("a SQLite connection cannot be killed from inside its transaction")
    committer = world.storage.objects._core.version_committer
    world.storage.buckets.create_bucket(world.caller(), "kept")
    world.put("kept", "before", b"b" * 10)
    outcomes = _batch_of_three(
        world,
        [_journal_commit(world, f"l{n}", before_write=_kill_own_backend) for n in range(3)],
    )
    assert all(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    assert _journal_rows(world) == set()
    # And a reused connection lost only once is retried: every commit of the batch succeeds.
    world.put("kept", "between", b"b" * 10)
    assert committer._kept.is_open
    lost: list[bool] = []

    def once(batch: Any) -> None:
        if not lost:
            lost.append(True)
            _kill_own_backend(batch)

    batches = committer.batches
    outcomes = _batch_of_three(
        world, [_journal_commit(world, f"o{n}", before_write=once) for n in range(3)]
    )
    assert outcomes == ["o0", "o1", "o2"]
    assert _journal_rows(world) == {"o0", "o1", "o2"}
    assert committer.batches == batches + 1


_CRASH_MID_BATCH = """
import io, os, signal, sys, threading, time
from pathlib import Path
sys.path.insert(0, {root!r})
from lakevault.db import Database
from lakevault.storage import LocalBackend
from lakevault.storage._version_commits import VersionBatch
from tests.unit.storage.conftest import build_storage_world

world = build_storage_world(Database({url!r}), LocalBackend(Path({objects!r})))
world.storage.buckets.create_bucket(world.caller(), "crash")
for n in range(3):
    world.put("crash", f"old-{{n}}", b"old" * (n + 1))
committer = world.storage.objects._core.version_committer
finish = VersionBatch.finish


def crash(batch: VersionBatch) -> None:
    # Every version of the batch is written, its journal rows and events not yet: die here.
    os.kill(os.getpid(), signal.SIGKILL)


VersionBatch.finish = crash
with committer.paused():
    for n in range(3):
        threading.Thread(target=world.put, args=("crash", f"old-{{n}}", b"new" * 10)).start()
        threading.Thread(target=world.put, args=("crash", f"new-{{n}}", b"new" * 10)).start()
    while committer.queued < 6:
        time.sleep(0.01)
time.sleep(60)
"""


def test_a_crash_in_the_middle_of_a_batch_leaves_every_put_as_it_was(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """kill -9 after the batch wrote every version but before its commit: each PUT of the batch
    is old (the overwrites) or absent (the new keys), and the sweep finds every new blob."""

    database_path = tmp_path / "metadata.db"
    shutil.copyfile(sqlite_template, database_path)
    url = f"sqlite:///{database_path}"
    objects = tmp_path / "objects"
    root = str(Path(__file__).resolve().parents[3])
    script = _CRASH_MID_BATCH.format(root=root, url=url, objects=str(objects))
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=root,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    database = Database(url)
    backend = LocalBackend(objects)

    def latest_sha256(key: str) -> list[str]:
        with database.read_session() as session:
            return list(
                session.scalars(
                    select(models.ObjectVersion.sha256).where(
                        models.ObjectVersion.bucket_name == "crash",
                        models.ObjectVersion.key == key,
                        models.ObjectVersion.is_latest.is_(True),
                    )
                )
            )

    def old_state() -> None:
        for n in range(3):
            assert latest_sha256(f"old-{n}") == [hashlib.sha256(b"old" * (n + 1)).hexdigest()]
            assert latest_sha256(f"new-{n}") == []

    old_state()
    # Six new blobs were written durably before the batch began; the journal names each.
    assert len(list(backend.list_paths(""))) == 9
    with database.read_session() as session:
        states = list(session.scalars(select(models.BlobJournal.state)))
    assert states == ["writing"] * 6
    assert sweep_orphan_blobs(database, backend, SystemClock(), older_than=timedelta(0)) == 6
    assert len(list(backend.list_paths(""))) == 3
    old_state()
    database.dispose()
