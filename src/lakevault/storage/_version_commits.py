"""Group commit of object versions: concurrent PUTs' version commits share one transaction.

A PUT's version commit (the new version's row, the retirement of the one it replaces, its
change event, the removal of its blob-journal row) was a write transaction of its own: on
SQLite a ``BEGIN IMMEDIATE``, this process's write lock handed over between request threads,
and a commit, per PUT; on PostgreSQL a commit (a WAL flush) per PUT. Here the commits of the
PUTs that arrive while one is running queue, and the next of their threads (the *leader*)
runs them all in one transaction; the others sleep until their own outcome is known
(docs/decisions/0221).

Each commit is a :data:`Check`: called with the batch, it reads what it needs and checks its
conditions (``If-Match``, ``If-None-Match``) without writing, and returns the function that
writes. A check that raises fails its own PUT only: nothing of it was written, and the batch
goes on. A write that raises, or a batch whose end (the journal rows' removal, the commit)
fails, rolls the whole transaction back, and every commit of the batch runs again in a
transaction of its own, so a failure is reported to its own PUT and never to a neighbour.
Commits run in arrival order on one connection, so a later commit of the same key reads what
an earlier one of the batch wrote.

A crash before the batch's commit leaves every PUT of it as it was (the journal names their
blobs, which the sweep removes); none was acknowledged.

The batches run on one connection kept open from one to the next (``db.KeptConnection``, ADR
0251), not one checked out of the pool per batch. A failed batch discards it; a batch that
failed on a reused connection found dead (a restarted PostgreSQL) before its commit was sent
runs once more on a new one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Table, bindparam, select

from lakevault.audit import AuditEvent, append_all_in
from lakevault.db import Database, DriverStatement, driver_cursor, models
from lakevault.storage._errors import NoSuchBucket
from lakevault.storage._types import Versioning

T = TypeVar("T")

#: Commits one transaction takes at most: bounds the time the write lock is held and the
#: wait of the last PUT of a long queue.
MAX_BATCH = 64

_BUCKETS: Table = models.Bucket.__table__  # type: ignore[assignment]
_JOURNAL: Table = models.BlobJournal.__table__  # type: ignore[assignment]
_SELECT_VERSIONING = select(_BUCKETS.c.versioning).where(_BUCKETS.c.name == bindparam("bucket"))
#: PostgreSQL: each of the batch's bucket rows locked, in name order (two processes' batches
#: never lock the same rows in opposite orders), so a concurrent versioning change or a PUT of
#: the same key in another process waits for this transaction. SQLite's write transactions are
#: serialised by ``BEGIN IMMEDIATE``.
_DRIVER_SELECT_VERSIONING = DriverStatement(_SELECT_VERSIONING)
_DRIVER_LOCK_VERSIONING = DriverStatement(_SELECT_VERSIONING.with_for_update())
_DRIVER_DELETE_JOURNAL = DriverStatement(
    _JOURNAL.delete().where(_JOURNAL.c.blob_path == bindparam("path"))
)


class VersionBatch:
    """What the commits of one transaction share: the connection, the buckets' versioning
    (read, and on PostgreSQL locked, once per batch), the journal rows to remove and the
    change events to append (one statement each for the whole batch)."""

    def __init__(self, connection: Connection, *, is_sqlite: bool, buckets: Iterable[str]):
        self.connection = connection
        #: The driver's cursor for the hot statements (``DriverStatement``, ADR 0222).
        self.cursor: Any = driver_cursor(connection)
        read = _DRIVER_SELECT_VERSIONING if is_sqlite else _DRIVER_LOCK_VERSIONING
        self._versioning: dict[str, str] = {}
        for bucket in sorted(set(buckets)):
            found = read.execute(connection, self.cursor, {"bucket": bucket}).fetchone()
            if found is not None:
                self._versioning[bucket] = found[0]
        self._journal_paths: list[str] = []
        self._events: list[AuditEvent] = []

    def versioning(self, bucket: str) -> Versioning:
        """The bucket's versioning as of this transaction, or ``NoSuchBucket``."""
        found = self._versioning.get(bucket)
        if found is None:
            raise NoSuchBucket(f"the bucket {bucket!r} does not exist; check the name")
        return Versioning(found)

    def remove_journal_rows(self, paths: Sequence[str]) -> None:
        """Remove these blob-journal rows with the batch (one statement for all its PUTs)."""
        self._journal_paths.extend(paths)

    def claim_journal_row(self, path: str) -> bool:
        """Keep the journal row of ``path`` when an earlier commit of this batch meant to
        remove it (a later commit of the batch replaced that version at once): ``True`` if
        the row stays, for the caller to mark ``deleting`` rather than insert."""
        if path not in self._journal_paths:
            return False
        self._journal_paths.remove(path)
        return True

    def record_change(self, event: AuditEvent) -> None:
        """Append this change event with the batch (in order, one ``INSERT`` for all)."""
        self._events.append(event)

    def finish(self) -> None:
        """The batch's shared statements, last in its transaction."""
        if self._journal_paths:
            _DRIVER_DELETE_JOURNAL.execute_many(
                self.connection, self.cursor, [{"path": path} for path in self._journal_paths]
            )
            self._journal_paths = []
        if self._events:
            append_all_in(self.connection, self._events)
            self._events = []


#: One PUT's commit: reads and checks (raising to refuse), then returns the writes to run.
Check = Callable[[VersionBatch], Callable[[], T]]


def _held_lock() -> Any:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(slots=True, eq=False)
class _Pending(Generic[T]):
    bucket: str
    check: Check[T]
    #: Held while the commit's thread sleeps; released once to wake it (its outcome is set,
    #: or it is to lead the next batch). A bare lock: waking one thread, not every waiter.
    wake: Any = field(default_factory=_held_lock)
    done: bool = False
    leads: bool = False
    result: T | None = None
    error: BaseException | None = None


class VersionCommitter:
    """Runs version commits in shared transactions; one per process and database.

    Leadership passes from thread to thread: a commit that finds no batch running leads; a
    leader that has its own outcome hands the queue to the oldest waiting commit and wakes the
    members of its batch one by one (waking every waiter with ``notify_all`` was a fifth of
    the committer's CPU under 8 clients).
    """

    def __init__(self, database: Database, *, max_batch: int = MAX_BATCH) -> None:
        self._database = database
        #: The batches' connection, kept open from one transaction to the next (ADR 0251).
        self._kept = database.kept_connection()
        self._max_batch = max_batch
        self._mutex = threading.Lock()
        self._queue: list[_Pending[Any]] = []
        self._leading = False
        #: Transactions run and commits in them (for tests and benchmarks).
        self.batches = 0
        self.commits = 0

    @property
    def queued(self) -> int:
        """Commits waiting for the running transaction to end."""
        with self._mutex:
            return len(self._queue)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hold back every commit until the block ends, then run the queued ones together (no
        transaction is open meanwhile): for tests that need a batch of a known make-up."""
        while True:
            with self._mutex:
                if not self._leading:
                    self._leading = True
                    break
            time.sleep(0.01)
        try:
            yield
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        """End this leadership: pass it to the oldest queued commit, if any, and wake it."""
        with self._mutex:
            following = self._queue[0] if self._queue else None
            if following is None:
                self._leading = False
            else:
                following.leads = True
        if following is not None:
            following.wake.release()

    def commit(self, bucket: str, check: Check[T]) -> T:
        """Run ``check`` and its writes in a transaction (shared with concurrent commits) and
        return what the writes returned once that transaction has committed; or raise what the
        check or its writes raised, with nothing of this commit written."""
        pending: _Pending[T] = _Pending(bucket=bucket, check=check)
        with self._mutex:
            self._queue.append(pending)
            if not self._leading:
                self._leading = pending.leads = True
        while not pending.done:
            if not pending.leads:
                pending.wake.acquire()  # until woken: done, or made the leader
                continue
            batch: list[_Pending[Any]] = []
            try:
                self._run(batch)
            finally:
                if pending.done:
                    self._hand_over()
                for member in batch:
                    if member is not pending:
                        member.wake.release()
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]

    def _take(self, batch: list[_Pending[Any]]) -> None:
        """Move the oldest queued commits (the leader's first among them) into ``batch``."""
        with self._mutex:
            batch.extend(self._queue[: self._max_batch])
            del self._queue[: self._max_batch]

    def _run(self, batch: list[_Pending[Any]]) -> None:
        """Run the next batch (taken into ``batch``, empty when called) and tell its members."""
        try:
            if not self._run_together(batch):
                for pending in batch:
                    self._run_together([pending])
        except BaseException as exc:  # every waiter must learn its outcome, then re-raise
            if not batch:
                self._take(batch)
            for pending in batch:
                if not pending.done:
                    pending.error, pending.done = exc, True
            raise

    def _run_together(self, batch: list[_Pending[Any]]) -> bool:
        """Run ``batch`` in one transaction; ``False`` (nothing committed, nobody told) when a
        write or the commit failed and a batch of several must run commit by commit.

        An empty ``batch`` is filled from the queue only once the transaction has begun, i.e.
        on SQLite once the write lock is held (ADR 0266): the commits that queued while this
        thread waited for another writer (another process's, or the audit writer) join this
        transaction instead of waiting for the next one. If the transaction cannot begin, the
        batch is taken all the same, so its members learn the error."""
        retried = False
        while True:
            refused: list[tuple[_Pending[Any], Exception]] = []
            applied: list[tuple[_Pending[Any], Any]] = []
            committing = False
            try:
                with self._kept.transaction() as connection:
                    if not batch:
                        self._take(batch)
                    shared = VersionBatch(
                        connection,
                        is_sqlite=self._database.is_sqlite,
                        buckets=[pending.bucket for pending in batch],
                    )
                    for pending in batch:
                        try:
                            write = pending.check(shared)
                        except Exception as exc:  # noqa: BLE001 - refused: its own PUT's error
                            refused.append((pending, exc))
                            continue
                        applied.append((pending, write()))
                    shared.finish()
                    committing = True  # the block's end commits: its outcome is unknown
            except Exception as exc:  # noqa: BLE001 - told to its PUT, or the batch runs again
                if not batch:  # the transaction did not begin: the queue's head learns why
                    self._take(batch)
                if not committing and not retried and self._kept.went_stale(exc):
                    # A connection that died while idle (a restarted PostgreSQL): nothing of
                    # this transaction was committed, so it runs once more on a new one.
                    retried = True
                    continue
                if len(batch) > 1:
                    return False
                batch[0].error, batch[0].done = exc, True
                return True
            break
        self.batches += 1
        self.commits += len(applied)
        for pending, result in applied:
            pending.result, pending.done = result, True
        for pending, error in refused:
            pending.error, pending.done = error, True
        return True
