"""A ``limits`` storage in the metadata database: one rate limit for every process and server.

``limits`` keeps its counters in process memory unless given a shared store (Redis, memcached,
...). With several HTTP processes each would grant the whole limit again; this store keeps the
moving window's entries (and ``limits``' fixed-window counters) in the metadata database that
every process of an installation already shares, so the limit holds with any number of them
and across servers on PostgreSQL, without another service to run (ADR 0268).

Counting and adding are one write transaction. On SQLite write transactions run one at a time
(``BEGIN IMMEDIATE`` behind the installation's write lock); on PostgreSQL a transaction-scoped
advisory lock on the key serialises the transactions of one key, so two processes cannot both
count 19 and both add the 20th attempt. Keys are stored as SHA-256 digests: the table holds no
user name or address, and every key fits its column. Each write deletes the entries and
counters whose window has ended (skipping rows another transaction is deleting), so the tables
stay as small as the live windows.

Windows are measured on ``time.time()``, as ``limits``' own stores measure them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import sqlalchemy
from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import Connection, Table, delete, func, insert, select, update

from lakevault.core.errors import LakevaultError
from lakevault.db import Database, models

_ENTRIES = cast(Table, models.RateLimitEntry.__table__)
_COUNTERS = cast(Table, models.RateLimitCounter.__table__)
_ADVISORY_LOCK = sqlalchemy.text("SELECT pg_advisory_xact_lock(:lock)")

#: The ``rate_limit_storage_url`` that selects this store (the default).
DATABASE_STORAGE_URL = "database://"


def key_digest(key: str) -> str:
    """The stored form of a ``limits`` key."""
    return hashlib.sha256(key.encode()).hexdigest()


class DatabaseWindows(Storage, MovingWindowSupport):
    """``limits``' moving window (and fixed-window counters) in the metadata database."""

    def __init__(self, database: Database) -> None:
        super().__init__(uri=None, wrap_exceptions=False)
        self._database = database

    def __repr__(self) -> str:
        return f"DatabaseWindows({self._database.display_url})"

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return (LakevaultError, sqlalchemy.exc.SQLAlchemyError)

    # -- moving window (what AttemptLimiter uses) ---------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Add ``amount`` entries under ``key`` if the window then holds at most ``limit``."""
        if amount > limit:
            return False
        digest = key_digest(key)
        now = time.time()
        with self._write(digest) as connection:
            count = connection.execute(
                select(func.count())
                .select_from(_ENTRIES)
                .where(_ENTRIES.c.key == digest, _ENTRIES.c.at >= now - expiry)
            ).scalar_one()
            if count + amount > limit:
                return False
            connection.execute(
                insert(_ENTRIES),
                [{"key": digest, "at": now, "expires_at": now + expiry}] * amount,
            )
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(time of the window's oldest entry, or now when empty; entries in the window)."""
        now = time.time()
        with self._database.read_session() as session:
            row = session.execute(
                select(func.min(_ENTRIES.c.at), func.count()).where(
                    _ENTRIES.c.key == key_digest(key), _ENTRIES.c.at >= now - expiry
                )
            ).one()
        oldest: float | None = row[0]
        return (now if oldest is None else float(oldest)), int(row[1])

    # -- fixed-window counters (limits' other strategies) -------------------------------------

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` to the counter, starting a new window of ``expiry`` seconds when the
        counter is missing or its window ended; the new count."""
        digest = key_digest(key)
        now = time.time()
        with self._write(digest) as connection:
            count = connection.execute(
                select(_COUNTERS.c.count).where(_COUNTERS.c.key == digest)
            ).scalar_one_or_none()
            if count is None:
                connection.execute(
                    insert(_COUNTERS).values(key=digest, count=amount, expires_at=now + expiry)
                )
                return amount
            connection.execute(
                update(_COUNTERS)
                .where(_COUNTERS.c.key == digest)
                .values(count=_COUNTERS.c.count + amount)
            )
            return int(count) + amount

    def get(self, key: str) -> int:
        row = self._counter(key)
        return 0 if row is None else row[0]

    def get_expiry(self, key: str) -> float:
        row = self._counter(key)
        return time.time() if row is None else row[1]

    # -- housekeeping --------------------------------------------------------------------------

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with self._database.read_session() as session:
                session.execute(select(1))
        except (LakevaultError, sqlalchemy.exc.SQLAlchemyError):
            return False
        return True

    def clear(self, key: str) -> None:
        digest = key_digest(key)
        with self._write(digest) as connection:
            connection.execute(delete(_ENTRIES).where(_ENTRIES.c.key == digest))
            connection.execute(delete(_COUNTERS).where(_COUNTERS.c.key == digest))

    def reset(self) -> int:
        """Forget every window; the number of entries and counters removed."""
        with self._database.transaction() as connection:
            removed = connection.execute(delete(_ENTRIES)).rowcount
            return removed + connection.execute(delete(_COUNTERS)).rowcount

    def _counter(self, key: str) -> tuple[int, float] | None:
        """A live counter's (count, end of window); None when missing or ended."""
        with self._database.read_session() as session:
            row = session.execute(
                select(_COUNTERS.c.count, _COUNTERS.c.expires_at).where(
                    _COUNTERS.c.key == key_digest(key), _COUNTERS.c.expires_at > time.time()
                )
            ).one_or_none()
        return None if row is None else (int(row[0]), float(row[1]))

    @contextmanager
    def _write(self, digest: str) -> Iterator[Connection]:
        """A write transaction that holds ``digest``'s window alone (module docstring), after
        deleting every ended entry and counter."""
        with self._database.transaction() as connection:
            if connection.dialect.name == "postgresql":
                lock = int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)
                connection.execute(_ADVISORY_LOCK, {"lock": lock})
            now = time.time()
            # Rows another transaction is deleting are skipped, not waited for (PostgreSQL;
            # SQLite ignores FOR UPDATE and runs one writer at a time): the cleanup never makes
            # one key's attempt wait for another key's transaction.
            for table, column in ((_ENTRIES, _ENTRIES.c.id), (_COUNTERS, _COUNTERS.c.key)):
                ended = (
                    select(column)
                    .where(table.c.expires_at <= now)
                    .with_for_update(skip_locked=True)
                    .scalar_subquery()
                )
                connection.execute(delete(table).where(column.in_(ended)))
            yield connection
