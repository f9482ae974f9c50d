"""Encoding an event for the log and inserting events under the account's head row lock.

Shared by both appenders (the group-commit writer and :func:`append_in`), so that every leaf
is encoded, hashed and numbered the same way.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, Dialect, bindparam, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
_HEADS = models.AuditHead.__table__
_EVENT_COLUMNS = (
    "event_id",
    "account_id",
    "sequence",
    "event_time",
    "event_name",
    "body",
    "leaf_hash",
)
_ADVANCE_HEAD = (
    update(models.AuditHead)
    .where(models.AuditHead.account_id == bindparam("head_account"))
    .values(size=models.AuditHead.size + bindparam("count"))
    .returning(models.AuditHead.size)
)
#: Creating an account's head row; a concurrent first append conflicts harmlessly, then both
#: queue on the row lock of the UPDATE.
_CREATE_HEAD = {
    name: dialect_insert(models.AuditHead)
    .values(account_id=bindparam("head_account"), size=0)
    .on_conflict_do_nothing()
    for name, dialect_insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


#: (engine, account) pairs whose head row exists, so an append skips the ``INSERT ... ON
#: CONFLICT DO NOTHING`` that creates it: one statement fewer per append (a round trip on
#: PostgreSQL; ADR 0197). Heads are never deleted; a wrong entry only costs the fallback.
_KNOWN_HEADS: set[tuple[int, str]] = set()
_KNOWN_HEADS_MAX = 100_000


def insert_events(executor: Session | Connection, events: Sequence[EncodedEvent]) -> list[int]:
    """Append ``events`` (any accounts) in the executor's transaction; return their sequences.

    Per account: create the head row if absent, advance it by the number of events under its
    row lock (``UPDATE ... RETURNING``), then insert the rows with multi-row ``INSERT``s. The
    rows go to the driver as plain parameters (time values converted by the column type's own
    bind processor), because building and processing a dict per row in SQLAlchemy cost more
    than the database's work (bench/audit.py).
    """
    connection = executor.connection() if isinstance(executor, Session) else executor
    dialect = connection.dialect
    create_head = _CREATE_HEAD["postgresql" if dialect.name == "postgresql" else "sqlite"]
    marker, to_time = _time_processor(dialect)
    by_account: dict[str, list[int]] = {}
    for position, event in enumerate(events):
        by_account.setdefault(event.account_id, []).append(position)
    sequences = [0] * len(events)
    rows: list[tuple[object, ...]] = []
    for account_id, positions in by_account.items():
        known = (id(connection.engine), account_id)
        advance = {"head_account": account_id, "count": len(positions)}
        if known not in _KNOWN_HEADS:
            connection.execute(create_head, {"head_account": account_id})
        end: int | None = connection.execute(_ADVANCE_HEAD, advance).scalar_one_or_none()
        if end is None:  # Remembered wrongly (a rolled-back creation, another database).
            connection.execute(create_head, {"head_account": account_id})
            end = connection.execute(_ADVANCE_HEAD, advance).scalar_one()
        if len(_KNOWN_HEADS) >= _KNOWN_HEADS_MAX:
            _KNOWN_HEADS.clear()
        _KNOWN_HEADS.add(known)
        first = end - len(positions)
        for offset, position in enumerate(positions):
            event = events[position]
            sequences[position] = first + offset
            rows.append(
                (
                    event.event_id,
                    account_id,
                    first + offset,
                    to_time(event.event_time),
                    event.event_name,
                    event.body.decode("utf-8"),
                    event.leaf_hash,
                )
            )
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        connection.exec_driver_sql(
            _insert_statement(marker, len(chunk)), tuple(itertools.chain.from_iterable(chunk))
        )
    return sequences


#: Rows per multi-row INSERT: few statements per batch (each statement step releases the GIL
#: in the sqlite3 driver, and a waiting writer thread then queues behind request threads for it),
#: while 7 x 500 parameters stay far below SQLite's and PostgreSQL's parameter limits.
_ROWS_PER_STATEMENT = 500


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
