"""Engines and sessions for SQLite (embedded) and PostgreSQL (scale-out), one code path.

SQLite is opened in WAL mode with ``synchronous=NORMAL`` (durable across a process crash, at
most the last transactions lost on power failure, measured in DESIGN.md), foreign keys on and a
busy timeout. Write transactions on SQLite begin ``IMMEDIATE`` so two writers queue on the lock
instead of one failing with ``SQLITE_BUSY`` when it upgrades a read lock; read-only sessions
begin ``DEFERRED`` so readers never wait on a writer.

Within one process, SQLite write transactions also queue on a Python lock taken right before
``BEGIN IMMEDIATE`` (at a session's first statement, as SQLite's own lock is) and released after
the commit or rollback. SQLite's busy handler polls with sleeps that grow to 100 ms, so under
concurrent writers a waiter slept long after the lock was free (4 KiB PUTs: p50 of 150-500 ms,
docs/performance.md, ADR 0169); the Python lock wakes the next writer at once. The thread that
holds it also holds an exclusive ``flock`` of a file beside the database, so the writers of all
processes on the same file (several HTTP processes, job workers, the CLI) queue in the kernel
the same way (``_write_lock.py``, ADR 0250); SQLite's busy timeout remains for anything else.

Driver failures are translated once, here, into :mod:`lakevault.core.errors` with a sentence
saying what to fix — a wrong URL, an unreachable server, a file that is not a database.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from lakevault.core import mask_url_password
from lakevault.core.errors import ConfigurationError, ServiceUnavailable
from lakevault.db import _generations as generations
from lakevault.db._generations import Generation
from lakevault.db._kept_connection import KeptConnection
from lakevault.db._readers import fetch_row
from lakevault.db._readers import for_engine as readers_for
from lakevault.db._wal_checkpoints import (
    WAL_AUTOCHECKPOINT_PAGES,
    WAL_CHECKPOINT_SECONDS,
    WalCheckpointer,
)
from lakevault.db._write_lock import write_lock_for

_SQLITE_BEGIN_OPTION = "lakevault_sqlite_begin"
_SQLITE_BUSY_SECONDS = 30


class Database:
    """The metadata store: an engine, session factories and health checks.

    ``url`` is a SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``). Nothing
    is opened until first use, so building a ``Database`` has no side effects.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except sqlalchemy.exc.ArgumentError as exc:
            raise ConfigurationError(
                f"database_url {mask_url_password(url)!r} is not a database URL; expected for "
                "example sqlite:///var/lib/lakevault/metadata.db or "
                "postgresql://user:PASSWORD@127.0.0.1:5432/lakevault"
            ) from exc
        self.dialect = parsed.get_backend_name()
        self.is_sqlite = self.dialect == "sqlite"
        if self.is_sqlite:
            self.sqlite_path = Path(parsed.database) if parsed.database else None
            self.engine: Engine = create_engine(
                url,
                echo=echo,
                connect_args={"timeout": _SQLITE_BUSY_SECONDS},
                pool_pre_ping=False,
            )
            _configure_sqlite(self.engine, on_write_begin=self._lock_for_begin)
        else:
            self.sqlite_path = None
            self.engine = create_engine(
                url,
                echo=echo,
                pool_pre_ping=True,
                pool_size=10,
                max_overflow=10,
                connect_args={"connect_timeout": 5},
            )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Re-entrant: a thread that nests sessions behaves as it did without the lock. One per
        # file and process, with the cross-process flock (ADR 0250).
        self._write_lock = write_lock_for(self.sqlite_path)
        self._local = threading.local()
        self._read_engine = self.engine.execution_options(**{_SQLITE_BEGIN_OPTION: "DEFERRED"})
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)
        # fetch_one's own autocommit, read-only driver connections (ADR 0240).
        self._readers = readers_for(
            self.engine, busy_seconds=_SQLITE_BUSY_SECONDS, connect_seconds=5
        )
        # Write connections kept by long-running writers (ADR 0251), closed by dispose().
        self._kept: weakref.WeakSet[KeptConnection] = weakref.WeakSet()
        self._checkpointer: WalCheckpointer | None = None

    @property
    def display_url(self) -> str:
        return mask_url_password(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-write transaction: committed on success, rolled back on any exception."""
        with translate_errors(self), self._release_after(), self._sessions.begin() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A read-write transaction on a bare connection, for Core statements on a hot path
        (no ORM session to set up and flush): committed on success, rolled back on any
        exception, and queued on this process's SQLite write lock like :meth:`session`."""
        with translate_errors(self), self._release_after(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def transaction_on(self, connection: Connection) -> Iterator[Connection]:
        """:meth:`transaction` on a connection the caller keeps open across transactions
        (:class:`KeptConnection`, ADR 0251): the same write lock, begin, commit or rollback and
        error translation, without the pool's checkout and reset-on-return."""
        with translate_errors(self), self._release_after(), connection.begin():
            yield connection

    @contextmanager
    def translated_errors(self) -> Iterator[None]:
        """Translate driver errors in the block as :meth:`transaction` does."""
        with translate_errors(self):
            yield

    def kept_connection(self) -> KeptConnection:
        """A write connection kept open across the caller's transactions (one thread at a
        time; ADR 0251); closed by :meth:`dispose`."""
        kept = KeptConnection(self)
        self._kept.add(kept)
        return kept

    @contextmanager
    def _release_after(self) -> Iterator[None]:
        """Release, once the session's transaction has ended, the write lock its first
        statement took (:meth:`_lock_for_begin`); nothing is held before that statement."""
        if not self.is_sqlite:
            yield
            return
        held: list[int] = self._local.__dict__.setdefault("held", [])
        held.append(0)
        try:
            yield
        finally:
            for _ in range(held.pop()):
                self._write_lock.release()

    def _lock_for_begin(self) -> None:
        """Called right before ``BEGIN IMMEDIATE``: queue on this process's write lock when a
        :meth:`session` will release it; a transaction opened elsewhere relies on SQLite's
        busy timeout alone (or wraps itself in :meth:`serialised_write`)."""
        held: list[int] | None = getattr(self._local, "held", None)
        if not held:
            return
        self._acquire_write_lock()
        held[-1] += 1

    def _acquire_write_lock(self) -> None:
        try:
            acquired = self._write_lock.acquire(timeout=_SQLITE_BUSY_SECONDS)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot lock {self._write_lock.path} beside the metadata database "
                f"({exc.strerror}): its directory does not exist or is not writable; run "
                "'lakevault init' or set LAKEVAULT_HOME to a writable directory"
            ) from exc
        if not acquired:
            raise ServiceUnavailable(
                f"the metadata database {self.sqlite_path} stayed locked by another write of "
                f"this process for {_SQLITE_BUSY_SECONDS} s; retry, and look for a stuck request"
            )

    @contextmanager
    def serialised_write(self) -> Iterator[None]:
        """Hold this process's SQLite write lock for a write transaction (no-op on PostgreSQL).

        Wrap any write transaction opened outside :meth:`session` (the audit writer's own
        connection) so in-process writers queue here rather than in SQLite's sleeping busy
        handler. Raises ``ServiceUnavailable`` after the busy timeout, as SQLite would.
        """
        if not self.is_sqlite:
            yield
            return
        self._acquire_write_lock()
        try:
            yield
        finally:
            self._write_lock.release()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A transaction for reading that never takes SQLite's write lock up front.

        Loaded objects stay usable after the block (nothing is expired at its end).
        """
        with translate_errors(self), self._read_sessions.begin() as session:
            yield session

    def generation(self, name: Generation) -> int | None:
        """The current value of a cache generation (``policy_generation``,
        ``storage_generation``, ``key_generation``); ``None`` if its row is missing (then cache
        nothing).

        Inside a ``generation_snapshot()`` block all counters are read once, by the block's
        first read, and served from it after that (ADR 0241); outside, read now.
        """
        held = generations.taken(self)
        if held is not None:
            return held[generations.NAMES.index(name)]
        snapshot = generations.wanted(self)
        if snapshot is None:
            row = self.fetch_one(generations.ONE_SQL[name], ())
            return None if row is None or row[0] is None else int(row[0])
        row = self.fetch_one(generations.ALL_SQL, ())
        values = generations.counters(row if row is not None else (None,) * len(generations.NAMES))
        snapshot[id(self)] = values
        return values[generations.NAMES.index(name)]

    def fetch_one(
        self, sql: str, parameters: tuple[object, ...], *, with_generations: bool = False
    ) -> tuple[Any, ...] | None:
        """Run one read-only query on a driver connection kept for these reads (autocommit,
        opened read-only, no pool checkout or reset: ADR 0240); return its first row.

        For the per-request hot path only (authenticating a caller): it skips the ORM and
        SQLAlchemy's statement layer, which cost ~20x the query itself on SQLite (measured in
        docs/performance.md, "Authentication"). ``sql`` uses ``?`` placeholders, rewritten to
        ``%s`` for psycopg; it runs in autocommit, so it never holds a lock. Values come back as
        the driver gives them (JSON as text on SQLite, decoded on PostgreSQL).

        ``with_generations``: inside a ``generation_snapshot()`` block still without this
        database's counters, they are read by the same statement (appended as columns, cut off
        the returned row) and kept for the block (ADR 0241).
        """
        snapshot = generations.wanted(self) if with_generations else None
        if snapshot is not None:
            row = self.fetch_one(generations.piggybacked(sql), parameters)
            if row is None:
                return None
            cut = len(row) - len(generations.NAMES)
            snapshot[id(self)] = generations.counters(row[cut:])
            return row[:cut]
        if not self.is_sqlite:
            sql = sql.replace("%", "%%").replace("?", "%s")
        readers = self._readers
        if readers is not None:
            dialect = self.engine.dialect
            try:
                return readers.fetch_one(sql, parameters)
            except dialect.loaded_dbapi.Error as exc:
                wrapped = sqlalchemy.exc.DBAPIError.instance(
                    sql, parameters, exc, dialect.loaded_dbapi.Error, dialect=dialect
                )
                raise _describe_driver(self, wrapped) from exc
        with translate_errors(self):
            try:
                connection = self.engine.raw_connection()
            except sqlalchemy.exc.DBAPIError as exc:
                raise _describe_driver(self, exc) from exc
            try:
                row = fetch_row(connection, sql, parameters)
                if not self.is_sqlite:
                    connection.rollback()
                return row
            except Exception as exc:
                connection.invalidate()
                raise _describe_driver(self, exc) from exc
            finally:
                connection.close()

    def ping(self) -> None:
        """Run ``SELECT 1``; raise ``ServiceUnavailable`` when the database does not answer."""
        with translate_errors(self), self._read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def start_wal_checkpoints(self, *, interval: float = WAL_CHECKPOINT_SECONDS) -> None:
        """Checkpoint a SQLite file's log from a background thread until :meth:`dispose`,
        instead of inside the commits that hold the write lock (ADR 0273). For a serving
        process; nothing on PostgreSQL or in memory, nothing when already started."""
        path = self.sqlite_path
        if path is None or str(path) in ("", ":memory:") or self._checkpointer is not None:
            return
        self._checkpointer = WalCheckpointer(path, interval=interval)
        self._checkpointer.start()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._readers is not None:
            self._readers.close()
        for kept in list(self._kept):
            kept.close()
        self.engine.dispose()
        self._write_lock.close_file()


def _configure_sqlite(engine: Engine, *, on_write_begin: Callable[[], None]) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = 30000")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            # A backstop: the checkpoints belong to a background thread (ADR 0273).
            cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN_OPTION, "IMMEDIATE")
        if mode == "IMMEDIATE":
            on_write_begin()
        # On the driver's connection: SQLAlchemy's statement layer cost ~25 µs of CPU for
        # this one word (ADR 0242). Its errors still come out as SQLAlchemy's.
        sql = f"BEGIN {mode}"
        try:
            connection.connection.driver_connection.execute(sql)
        except sqlite3.Error as exc:
            raise sqlalchemy.exc.DBAPIError.instance(
                sql, (), exc, sqlite3.Error, dialect=connection.dialect
            ) from exc


@contextmanager
def translate_errors(database: Database) -> Iterator[None]:
    """Turn driver errors about reaching or reading the database into lakevault errors.

    Errors about the statements themselves (constraint violations) pass through untouched:
    services translate those into domain errors where they know what they mean.
    """
    try:
        yield
    except sqlalchemy.exc.OperationalError as exc:
        raise _describe(database, exc) from exc
    except sqlalchemy.exc.DatabaseError as exc:
        original = getattr(exc, "orig", None)
        if isinstance(original, sqlite3.DatabaseError) and "not a database" in str(original):
            raise _corrupt(database) from exc
        raise


def _describe_driver(database: Database, exc: Exception) -> Exception:
    """Translate a driver error of the raw path the way ``translate_errors`` does."""
    if isinstance(exc, sqlalchemy.exc.OperationalError):
        return _describe(database, exc)
    return ServiceUnavailable(
        f"the metadata database failed a lookup ({type(exc).__name__}); retry, and check the "
        "database's health"
    )


def _corrupt(database: Database) -> ConfigurationError:
    return ConfigurationError(
        f"the metadata database {database.sqlite_path} is not a SQLite database or is damaged; "
        "it was not modified. Restore it from a backup, or move it away and run "
        "'lakevault init' to start a new, empty installation"
    )


def _describe(database: Database, exc: sqlalchemy.exc.OperationalError) -> Exception:
    original = exc.orig
    if database.is_sqlite:
        message = str(original)
        if "not a database" in message or "malformed" in message:
            return _corrupt(database)
        if "unable to open database file" in message:
            return ConfigurationError(
                f"cannot open the metadata database {database.sqlite_path}: its directory does "
                "not exist or is not writable; run 'lakevault init' or set LAKEVAULT_HOME to a "
                "writable directory"
            )
        if "locked" in message:
            return ServiceUnavailable(
                f"the metadata database {database.sqlite_path} is locked by another process; "
                "retry, or stop the other lakevault process using the same LAKEVAULT_HOME"
            )
        return ServiceUnavailable(f"the metadata database failed: {message}")
    reason = str(original).strip().splitlines()[0] if original is not None else type(exc).__name__
    return ServiceUnavailable(
        f"cannot use the PostgreSQL database {database.display_url}: {reason}. Check that the "
        "server runs, that the host, port, user, password and database name in database_url "
        "are right, and that the user may connect"
    )
