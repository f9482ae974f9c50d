"""Encoding an event for the log and inserting events under the account's head row lock.

Shared by both appenders (the group-commit writer and :func:`append_in`), so that every leaf
is encoded, hashed and numbered the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import sqlalchemy.exc
from sqlalchemy import Connection, Dialect
from sqlalchemy.orm import Session

from lakevault.audit._events import AuditEvent, encode_event
from lakevault.audit._merkle import leaf_hash
from lakevault.db import models


class EncodedEvent(NamedTuple):
    """An event as the log stores it: canonical bytes and leaf hash, computed once.

    A named tuple rather than a frozen dataclass: it is built once per event on the hot path,
    where the dataclass's ``object.__setattr__`` per field was measurable (bench/audit.py).
    """

    account_id: str
    event_id: str
    event_time: datetime
    event_name: str
    body: bytes
    leaf_hash: bytes


def encode_for_log(event: AuditEvent) -> EncodedEvent:
    """Encode ``event`` in the caller's thread; ``InvalidParameterValue`` if it is not JSON."""
    body = encode_event(event)
    return EncodedEvent(
        account_id=event.recipient_account_id,
        event_id=event.event_id,
        event_time=event.event_time,
        event_name=event.event_name,
        body=body,
        leaf_hash=leaf_hash(body),
    )


_EVENTS = models.AuditEvent.__table__
_EVENT_COLUMNS = (
    "event_id",
    "account_id",
    "sequence",
    "event_time",
    "event_name",
    "body",
    "leaf_hash",
)


#: (engine, account) pairs whose head row exists, so an append skips the ``INSERT ... ON
#: CONFLICT DO NOTHING`` that creates it: one statement fewer per append (a round trip on
#: PostgreSQL; ADR 0197). Heads are never deleted; a wrong entry only costs the fallback.
_KNOWN_HEADS: set[tuple[int, str]] = set()
_KNOWN_HEADS_MAX = 100_000


def insert_events(executor: Session | Connection, events: Sequence[EncodedEvent]) -> list[int]:
    """Append ``events`` (any accounts) in the executor's transaction; return their sequences.

    Per account: create the head row if absent, advance it by the number of events under its
    row lock (``UPDATE ... RETURNING``), then insert the rows with multi-row ``INSERT``s. The
    statements run on the transaction's own driver connection (:func:`insert_events_on_driver`,
    the writer's path, ADR 0231): SQLAlchemy's statement layer cost more than the database's
    work. Driver errors come out as SQLAlchemy's (``IntegrityError``, ``OperationalError``...),
    as from any other statement of the caller's transaction.
    """
    connection = executor.connection() if isinstance(executor, Session) else executor
    dialect = connection.dialect
    dbapi: Any = dialect.loaded_dbapi
    cursor = connection.connection.cursor()
    try:
        return insert_events_on_driver(cursor, dialect, events, engine_key=id(connection.engine))
    except dbapi.Error as exc:
        raise sqlalchemy.exc.DBAPIError.instance(
            "INSERT INTO audit_events ...", None, exc, dbapi.Error, dialect=dialect
        ) from exc
    finally:
        cursor.close()


class DriverCursor(Protocol):
    """The part of a DBAPI cursor (sqlite3, psycopg) the writer's driver path uses."""

    def execute(self, sql: str, parameters: Sequence[object] = ..., /) -> object: ...

    def fetchone(self) -> Any: ...


def insert_events_on_driver(
    cursor: DriverCursor,
    dialect: Dialect,
    events: Sequence[EncodedEvent],
    *,
    engine_key: int,
) -> list[int]:
    """:func:`insert_events` on a bare driver cursor, inside the caller's transaction.

    The same statements, rows and head bookkeeping, without SQLAlchemy's execution layer:
    for the group-commit writer, whose every transaction paid more for ``Connection.begin``,
    compiled-statement execution and result objects than for the statements themselves
    (ADR 0231). ``engine_key`` identifies the database for the known-heads cache.
    """
    marker, to_time = _time_processor(dialect)
    create_head, advance_head = _head_statements(marker)
    by_account: dict[str, list[int]] = {}
    for position, event in enumerate(events):
        by_account.setdefault(event.account_id, []).append(position)
    sequences = [0] * len(events)
    rows: list[object] = []
    for account_id, positions in by_account.items():
        known = (engine_key, account_id)
        count = len(positions)
        if known not in _KNOWN_HEADS:
            cursor.execute(create_head, (account_id,))
        cursor.execute(advance_head, (count, account_id))
        found = cursor.fetchone()
        if found is None:  # Remembered wrongly (a rolled-back creation, another database).
            cursor.execute(create_head, (account_id,))
            cursor.execute(advance_head, (count, account_id))
            found = cursor.fetchone()
        end = int(found[0])
        if len(_KNOWN_HEADS) >= _KNOWN_HEADS_MAX:
            _KNOWN_HEADS.clear()
        _KNOWN_HEADS.add(known)
        first = end - count
        for offset, position in enumerate(positions):
            event = events[position]
            sequences[position] = first + offset
            rows += (
                event.event_id,
                account_id,
                first + offset,
                to_time(event.event_time),
                event.event_name,
                event.body.decode("utf-8"),
                event.leaf_hash,
            )
    width = len(_EVENT_COLUMNS)
    step = rows_per_statement(dialect, width) * width
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        cursor.execute(_insert_statement(marker, len(chunk) // width), chunk)
    return sequences


@functools.cache
def _head_statements(marker: str) -> tuple[str, str]:
    """Creating a head row (a concurrent creation conflicts harmlessly) and advancing it under
    its row lock, as plain SQL for the driver path."""
    heads = models.AuditHead.__tablename__
    return (
        f"INSERT INTO {heads} (account_id, size) VALUES ({marker}, 0) "  # noqa: S608
        "ON CONFLICT DO NOTHING",
        f"UPDATE {heads} SET size = size + {marker} WHERE account_id = {marker} "  # noqa: S608
        "RETURNING size",
    )


#: Rows per multi-row INSERT: few statements per batch (each statement step releases the GIL
#: in the sqlite3 driver, and a waiting writer thread then queues behind request threads for it),
#: while 7 x 500 parameters stay far below SQLite's and PostgreSQL's parameter limits.
_ROWS_PER_STATEMENT = 500
#: PostgreSQL: psycopg caches its conversion of a query's text (``%s`` to ``$n``) only for
#: queries of at most 50 parameters; a longer one is split anew with a regular expression at
#: every execution, which cost 2-4x the statement's other client CPU (ADR 0252).
_PSYCOPG_CACHED_PARAMETERS = 50


def rows_per_statement(dialect: Dialect, width: int) -> int:
    """How many rows of ``width`` columns one multi-row ``INSERT`` carries on ``dialect``:
    on PostgreSQL as many as keep psycopg's query conversion cached (ADR 0252)."""
    if dialect.name == "postgresql":
        return max(1, _PSYCOPG_CACHED_PARAMETERS // width)
    return _ROWS_PER_STATEMENT


@functools.cache
def _time_processor(dialect: Dialect) -> tuple[str, Callable[[datetime], object]]:
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    processor = _EVENTS.c.event_time.type.dialect_impl(dialect).bind_processor(dialect)
    return marker, processor if processor is not None else _unchanged


@functools.cache
def _insert_statement(marker: str, count: int) -> str:
    # Only constant names and parameter markers go into the text; every value is a parameter.
    row = f"({', '.join([marker] * len(_EVENT_COLUMNS))})"
    return (
        f"INSERT INTO {models.AuditEvent.__tablename__} ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608
        f"VALUES {', '.join([row] * count)}"
    )


def _unchanged(value: datetime) -> object:
    return value


def append_in(session: Session | Connection, event: AuditEvent) -> int:
    """Append ``event`` inside the caller's transaction (for state changes and their events).

    Use this when the event must exist if and only if a state change commits. The account's
    head stays row-locked until the caller's transaction ends, so keep that transaction short:
    the group-commit writer waits for it.
    """
    return insert_events(session, [encode_for_log(event)])[0]


def append_all_in(session: Session | Connection, events: Sequence[AuditEvent]) -> list[int]:
    """:func:`append_in` for several events at once (one head update per account and one
    multi-row ``INSERT``): for a transaction that commits several changes together, such as
    storage's group commit of object versions (docs/decisions/0221)."""
    return insert_events(session, [encode_for_log(event) for event in events])
