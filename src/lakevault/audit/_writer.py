"""The single writer of the audit logs of this process, with group commit.

Callers encode their event in their own thread and queue it; one writer thread takes everything
queued (up to ``max_batch``), appends it in ONE transaction and wakes every caller of that batch
when the transaction has committed. While it commits, new events queue up and form the next
batch, so under load each commit carries many events and the cost of making a commit durable
is shared (group commit); at low load a batch is a single event and nobody waits for a timer.

Durability: on SQLite the writer keeps its own connection with ``PRAGMA synchronous = FULL``,
so a commit is on disk (WAL fsynced) before any caller is told; the platform's other
connections keep ``NORMAL``. PostgreSQL commits are durable by default.

The writer talks to that connection through the bare driver (``BEGIN IMMEDIATE``/``COMMIT`` on
SQLite, the driver's own transaction on PostgreSQL), not SQLAlchemy's ``Connection``: its
begin events, compiled statements and result objects cost more per transaction than the
statements themselves (ADR 0231).

With a :class:`~lakevault.audit._checkpointer.Checkpointer` and an interval, the same thread
signs a checkpoint of every log that grew, at most once per interval, also when appends stop.

An event may carry a :class:`CompanionRow`: a row of another table that must be durable no
later than the event (storage's blob-journal row of an upload, written with the upload's
``GenerateDataKey`` event). It is inserted in the event's transaction, so the two are durable
together, and under load the row shares the group commit instead of opening a transaction of
its own (ADR 0195).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy.exc
from sqlalchemy import Dialect, Table
from sqlalchemy.pool import PoolProxiedConnection

from lakevault.audit._append import (
    DriverCursor,
    EncodedEvent,
    insert_events_on_driver,
    rows_per_statement,
)
from lakevault.audit._checkpointer import Checkpointer
from lakevault.core.errors import InternalFailure, LakevaultError, ServiceUnavailable
from lakevault.db import Database


@dataclass(frozen=True, slots=True, kw_only=True)
class CompanionRow:
    """A row of ``table`` inserted in the same transaction as the event it accompanies.

    The event and the row are durable together or not at all; a failing row fails its event
    (the caller gets the error from ``result()``), never its neighbours in the batch.
    """

    table: Table
    values: Mapping[str, Any]


class AppendReceipt:
    """Where the outcome of one queued event arrives: its sequence once durable, or the error.

    Lighter than a ``concurrent.futures.Future`` (which builds a lock and a condition per event,
    measured as the largest per-event cost of the writer): all events of a batch share one
    ``threading.Event``.
    """

    __slots__ = ("_batch", "_index")

    def __init__(self, batch: _Batch, index: int) -> None:
        self._batch = batch
        self._index = index

    def result(self, timeout: float | None = None) -> int:
        """Wait until the event is durable and return its sequence; raise the write's error."""
        batch = self._batch
        if not batch.done.wait(timeout):
            raise TimeoutError(f"the audit event was not durable within {timeout} s")
        outcome = batch.outcomes[self._index]
        if isinstance(outcome, LakevaultError):
            raise outcome  # As concurrent.futures does: one error object for every waiter.
        return outcome

    def add_done_callback(self, callback: Callable[[AppendReceipt], None]) -> None:
        """Call ``callback(receipt)`` once the outcome is known (at once if it already is)."""
        batch = self._batch
        with batch.lock:
            if not batch.done.is_set():
                batch.callbacks.append(lambda: callback(self))
                return
        callback(self)


class _Batch:
    """Events that will share one transaction, and their outcomes once it has ended."""

    __slots__ = ("callbacks", "companions", "done", "events", "lock", "outcomes")

    def __init__(self) -> None:
        self.events: list[EncodedEvent] = []
        self.companions: list[CompanionRow | None] = []
        self.outcomes: list[int | LakevaultError] = []
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.callbacks: list[Callable[[], None]] = []

    def settle(self, outcomes: list[int | LakevaultError]) -> None:
        self.outcomes = outcomes
        with self.lock:
            self.done.set()
            callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback()


class GroupCommitWriter:
    """One writer thread for all logs of this process; see the module docstring."""

    def __init__(
        self,
        database: Database,
        *,
        max_batch: int = 8192,
        checkpointer: Checkpointer | None = None,
        checkpoint_interval_seconds: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if (checkpointer is None) != (checkpoint_interval_seconds is None):
            raise ValueError("give both checkpointer and checkpoint_interval_seconds, or neither")
        self._database = database
        self._max_batch = max_batch
        self._checkpointer = checkpointer
        self._interval = checkpoint_interval_seconds
        self._monotonic = monotonic
        self._condition = threading.Condition()
        #: The batch new events join, and full batches waiting for the writer, oldest first.
        self._open = _Batch()
        self._full: deque[_Batch] = deque()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._connection: PoolProxiedConnection | None = None
        self._dialect: Dialect = database.engine.dialect
        self._dbapi: Any = database.engine.dialect.loaded_dbapi
        self._next_checkpoint = monotonic() + (checkpoint_interval_seconds or 0.0)
        #: Sizes of the batches committed so far (for the benchmark and tests).
        self.batch_sizes: list[int] = []

    def submit(self, event: EncodedEvent, companion: CompanionRow | None = None) -> AppendReceipt:
        """Queue an encoded event (and its companion row); the receipt gives its sequence once
        both are durable."""
        with self._condition:
            if self._closed:
                raise ServiceUnavailable(
                    "the audit log writer is closed; no event can be recorded, so the request "
                    "is refused"
                )
            if self._thread is None or not self._thread.is_alive():
                # First use, or a child process after fork(): the parent's thread and its
                # connection do not exist here, so start afresh rather than queue forever.
                self._connection = None
                self._thread = threading.Thread(
                    target=self._run, name="lakevault-audit-writer", daemon=True
                )
                self._thread.start()
            batch = self._open
            if len(batch.events) >= self._max_batch:
                self._full.append(batch)
                batch = self._open = _Batch()
            batch.events.append(event)
            batch.companions.append(companion)
            receipt = AppendReceipt(batch, len(batch.events) - 1)
            self._condition.notify()
        return receipt

    def close(self) -> None:
        """Commit what is queued, sign a last checkpoint if due, and stop the thread."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        if self._checkpointer is not None:
            self._checkpoint_grown()

    def _run(self) -> None:
        try:
            while True:
                with self._condition:
                    while not self._full and not self._open.events and not self._closed:
                        if not self._condition.wait(timeout=self._wait_seconds()):
                            break
                    queued = bool(self._full or self._open.events)
                    stop = self._closed and not queued
                if queued:
                    stop = self._commit_next()
                if self._checkpointer is not None and self._monotonic() >= self._next_checkpoint:
                    self._checkpoint_grown()
                if stop:
                    return
        finally:
            self._close_connection()

    def _take(self) -> tuple[_Batch, bool]:
        """The oldest queued batch, and whether the writer is closed with nothing else left."""
        with self._condition:
            if self._full:
                batch = self._full.popleft()
            else:
                batch, self._open = self._open, _Batch()
            return batch, self._closed and not self._full and not self._open.events

    def _commit_next(self) -> bool:
        """Commit the oldest queued batch and settle it; return whether to stop after it.

        The batch is taken only once the write lock is held (SQLite; ADR 0266): the events
        submitted while this thread waited for another writer — the version committer, another
        process — join this transaction instead of waiting for the next. The callers are woken
        after the lock is released."""
        batch: _Batch | None = None
        outcomes: list[int | LakevaultError] | None = None
        try:
            with self._database.serialised_write():
                batch, stop = self._take()
                outcomes = self._commit(batch.events, batch.companions)
        except Exception as exc:  # noqa: BLE001 - the lock could not be had (or released)
            # ``_commit`` answers every failure of the transaction itself; what is left is the
            # lock: SQLite's busy timeout (``ServiceUnavailable``) or its file. Every caller of
            # the batch must still get an answer, and the thread must live on.
            error = (
                exc
                if isinstance(exc, LakevaultError)
                else InternalFailure(f"the audit log writer failed: {type(exc).__name__}")
            )
            if batch is None:
                batch, stop = self._take()
            if outcomes is None:
                outcomes = [error] * len(batch.events)
        batch.settle(outcomes)
        return stop

    def _wait_seconds(self) -> float | None:
        if self._interval is None:
            return None
        return max(self._next_checkpoint - self._monotonic(), 0.0)

    def _commit(
        self, events: list[EncodedEvent], companions: list[CompanionRow | None]
    ) -> list[int | LakevaultError]:
        """Append ``events`` and insert their companion rows in one transaction; return each
        event's sequence or error."""
        dbapi = self._dbapi
        try:
            with self._database.serialised_write():
                sequences = self._transaction(events, companions)
        except LakevaultError as exc:
            return [exc] * len(events)
        except dbapi.IntegrityError:
            if len(events) > 1:
                # One bad event (a reused event id) must not fail its neighbours: retry each
                # alone, so only the offending caller gets the error.
                return [
                    self._commit([event], [companion])[0]
                    for event, companion in zip(events, companions, strict=True)
                ]
            if companions[0] is not None:
                return [
                    InternalFailure(
                        "the audit event could not be written with the row that accompanies it "
                        f"(a duplicate key in {companions[0].table.name} or in the log); "
                        "nothing of either was stored"
                    )
                ]
            return [_duplicate_event()]
        except (dbapi.Error, sqlalchemy.exc.SQLAlchemyError) as exc:
            self._close_connection(broken=True)
            return [_translate(exc, dbapi)] * len(events)
        except Exception as exc:  # noqa: BLE001 - every waiting caller must get an answer
            self._close_connection(broken=True)
            error = InternalFailure(f"the audit log writer failed: {type(exc).__name__}")
            return [error] * len(events)
        self.batch_sizes.append(len(events))
        outcomes: list[int | LakevaultError] = list(sequences)
        return outcomes

    def _transaction(
        self, events: list[EncodedEvent], companions: list[CompanionRow | None]
    ) -> list[int]:
        """One transaction on the writer's driver connection; rolled back on any error."""
        connection = self._writer_connection()
        sqlite = self._database.is_sqlite
        cursor = connection.cursor()
        try:
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            try:
                sequences = insert_events_on_driver(
                    cursor, self._dialect, events, engine_key=id(self._database.engine)
                )
                _insert_companions(cursor, self._dialect, companions)
                if sqlite:
                    cursor.execute("COMMIT")
                else:
                    connection.commit()
            except BaseException:
                _roll_back(connection, cursor, sqlite=sqlite)
                raise
        finally:
            cursor.close()
        return sequences

    def _checkpoint_grown(self) -> None:
        """Sign every log with events no checkpoint covers (also those ``append_in`` wrote)."""
        checkpointer = self._checkpointer
        assert checkpointer is not None  # only called when configured
        try:
            for account_id in checkpointer.grown_accounts():
                checkpointer.checkpoint(account_id)
        except (LakevaultError, sqlalchemy.exc.SQLAlchemyError):
            # Retried at the next interval: the events themselves are committed, and the next
            # checkpoint covers them. Losing the thread would stop all auditing.
            pass
        self._next_checkpoint = self._monotonic() + (self._interval or 0.0)

    def _writer_connection(self) -> PoolProxiedConnection:
        if self._connection is None:
            connection = self._database.engine.raw_connection()
            if self._database.is_sqlite:
                # Outside any transaction (SQLite refuses it inside one); the pool's connect
                # hook left the driver in autocommit, so BEGIN and COMMIT are ours.
                cursor = connection.cursor()
                try:
                    cursor.execute("PRAGMA synchronous = FULL")
                finally:
                    cursor.close()
            self._connection = connection
        return self._connection

    def _close_connection(self, *, broken: bool = False) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if broken:
            connection.invalidate()  # Its state is unknown: never hand it to anyone else.
            return
        try:
            if self._database.is_sqlite:
                cursor = connection.cursor()
                try:
                    cursor.execute("PRAGMA synchronous = NORMAL")
                finally:
                    cursor.close()
        except self._dbapi.Error:
            connection.invalidate()  # A broken connection is discarded either way.
            return
        connection.close()


def _roll_back(connection: PoolProxiedConnection, cursor: DriverCursor, *, sqlite: bool) -> None:
    """End a failed transaction; a connection that cannot even roll back is left to the
    caller, which discards it."""
    if sqlite:
        if connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            cursor.execute("ROLLBACK")
    else:
        connection.rollback()


def _insert_companions(
    cursor: DriverCursor, dialect: Dialect, companions: list[CompanionRow | None]
) -> None:
    """One multi-row ``INSERT`` per table and column set (most batches carry rows of one
    table or none), each value converted by its column type's bind processor."""
    by_shape: dict[tuple[Table, tuple[str, ...]], list[Mapping[str, Any]]] = {}
    for companion in companions:
        if companion is not None:
            shape = (companion.table, tuple(companion.values))
            by_shape.setdefault(shape, []).append(companion.values)
    for (table, names), all_rows in by_shape.items():
        step = rows_per_statement(dialect, len(names))
        for start in range(0, len(all_rows), step):
            rows = all_rows[start : start + step]
            sql, processors = _companion_insert(table, names, dialect, len(rows))
            values: list[object] = []
            for row in rows:
                for name, process in zip(names, processors, strict=True):
                    value = row[name]
                    values.append(value if process is None else process(value))
            cursor.execute(sql, values)


@functools.cache
def _companion_insert(
    table: Table, names: tuple[str, ...], dialect: Dialect, count: int
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The ``INSERT`` of ``count`` rows of ``names`` into ``table`` and each column's bind
    processor. Only the table's own (constant) identifiers and markers go into the text."""
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    columns = [table.c[name] for name in names]  # KeyError for a column the table lacks
    processors = tuple(
        column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns
    )
    preparer = dialect.identifier_preparer
    row = f"({', '.join([marker] * len(columns))})"
    sql = (
        f"INSERT INTO {preparer.format_table(table)} "  # noqa: S608
        f"({', '.join(preparer.format_column(column) for column in columns)}) "
        f"VALUES {', '.join([row] * count)}"
    )
    return sql, processors


def _duplicate_event() -> LakevaultError:
    return InternalFailure(
        "the audit event could not be written: an event with the same eventID is already "
        "logged; every event needs a fresh id (new_request_id)"
    )


def _translate(exc: Exception, dbapi: Any) -> LakevaultError:
    cause = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    if isinstance(cause, dbapi.IntegrityError):
        return _duplicate_event()
    if isinstance(cause, dbapi.OperationalError):
        return ServiceUnavailable(
            "the audit log could not be written because the metadata database failed "
            f"({type(cause).__name__}); the request is refused. Check the database and retry"
        )
    return InternalFailure(
        f"the audit log could not be written ({type(cause).__name__}); the request is refused"
    )
