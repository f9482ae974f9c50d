"""A write connection kept open across transactions, for one writer that runs many of them.

The version committer (storage, ADR 0221) ran every group commit in ``Database.transaction()``:
``Engine.begin`` checks a connection out of SQLAlchemy's pool, builds a ``Connection`` around
it, and at the end checks it back in with the pool's reset-on-return ``rollback()``; on
PostgreSQL the checkout also sends the pre-ping ``SELECT 1``, so two of a batch's round trips
were the pool's. Under 8 clients that was ~30 % of the committer's GIL-held samples
(docs/performance.md, session 8; ADR 0251).

A :class:`KeptConnection` checks one connection out at its first transaction and keeps it:
each :meth:`KeptConnection.transaction` is a ``BEGIN`` and a ``COMMIT`` (or ``ROLLBACK``) on
it, with everything else of :meth:`Database.transaction` unchanged — SQLite's ``BEGIN
IMMEDIATE`` behind the process's and the file's write lock (ADR 0250), taken at the begin and
released after the commit or rollback, and the same error translation. The connection is a
plain SQLAlchemy ``Connection``, so the ORM, Core and driver statements (``DriverStatement``)
run on it as on any other.

One thread at a time: the owner (the committer's leader of the moment) runs one transaction
after another, never two at once.

A transaction that fails for any reason discards the connection (invalidated: it never goes back
to the pool, whatever state it is in) and the next transaction opens a new one; a failure is
the rare path, and a connection in an unknown state is never reused. Without the pool's
pre-ping a PostgreSQL connection that waited idle may have died with a restarted server: the
transaction's first statement finds that out, and :attr:`KeptConnection.reused` tells the
owner that the failed transaction ran on a connection that had served before, so it may run
the transaction once more on a fresh one when nothing of it can have been committed.
``Database.dispose()`` closes the connection (the next transaction opens one again).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy.exc
from sqlalchemy import Connection

if TYPE_CHECKING:
    from lakevault.db._database import Database


class KeptConnection:
    """One long-lived write connection of ``database``; see the module docstring.

    Made by :meth:`Database.kept_connection`, which closes it in ``dispose()``.
    """

    __slots__ = ("__weakref__", "_connection", "_database", "_guard", "_reused", "opened")

    def __init__(self, database: Database) -> None:
        self._database = database
        self._connection: Connection | None = None
        self._reused = False
        # Only for close() from another thread (dispose) against a running transaction.
        self._guard = threading.Lock()
        #: Connections opened so far (for tests and diagnostics).
        self.opened = 0

    @property
    def reused(self) -> bool:
        """Whether the current (or the last) transaction ran on a connection that had
        already served an earlier transaction, rather than on one opened for it."""
        return self._reused

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A read-write transaction on the kept connection: committed when the block ends,
        rolled back (and the connection discarded) on any exception; SQLite's write lock held
        from its ``BEGIN IMMEDIATE`` to its end, as :meth:`Database.transaction` holds it."""
        with self._guard:
            connection = self._connection
            self._reused = connection is not None
            if connection is None:
                with self._database.translated_errors():
                    connection = self._database.engine.connect()
                self._connection = connection
                self.opened += 1
            try:
                with self._database.transaction_on(connection):
                    yield connection
            except BaseException:
                self._discard()
                raise

    def went_stale(self, exc: BaseException) -> bool:
        """Whether ``exc``, raised by the last transaction, says that its connection was lost
        (the driver's ``OperationalError`` or ``InterfaceError``, or SQLAlchemy's disconnect)
        while that connection was a reused one of a PostgreSQL database: the owner may run the
        transaction once more on a new connection if it knows nothing of it was committed.
        Never on SQLite, whose connections do not die idle (its errors would repeat)."""
        if not self._reused or self._database.is_sqlite:
            return False
        dbapi = self._database.engine.dialect.loaded_dbapi
        lost = (dbapi.OperationalError, dbapi.InterfaceError)
        seen: BaseException | None = exc
        for _ in range(8):  # a short chain: lakevault's error, SQLAlchemy's, the driver's
            if seen is None:
                return False
            if isinstance(seen, sqlalchemy.exc.DBAPIError):
                if seen.connection_invalidated:
                    return True
                seen = seen.orig
                continue
            if isinstance(seen, lost):
                return True
            seen = seen.__cause__
        return False

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        # Its state is unknown: invalidate, so the pool never hands it to anyone else.
        with contextlib.suppress(Exception):
            connection.invalidate()
        with contextlib.suppress(Exception):
            connection.close()

    @property
    def is_open(self) -> bool:
        """Whether a connection is kept now (for tests and diagnostics)."""
        return self._connection is not None

    def close(self) -> None:
        """Give the connection back to the pool (``Database.dispose``); unless a transaction
        runs on it now, when it stays for that transaction's owner. The object stays usable."""
        if not self._guard.acquire(blocking=False):
            return
        try:
            connection, self._connection = self._connection, None
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
        finally:
            self._guard.release()
