"""Appending events to the per-account audit log in the metadata store.

Every account has its own dense sequence of events (0, 1, 2, ...). An append increments the
account's head row under a row lock and inserts the event in one transaction, so concurrent
appenders on PostgreSQL and SQLite never share or skip a sequence number, and a crash leaves
either both or neither. The RFC 9162 Merkle tree and signed checkpoints are built over exactly
these sequences (docs/audit.md).
"""

from __future__ import annotations

from typing import Protocol

import orjson
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lakevault.audit._events import AuditEvent
from lakevault.db import Database, models


class AuditSink(Protocol):
    """Where the gate and the services record events. Returns each event's sequence number."""

    def append(self, event: AuditEvent) -> int: ...


class DatabaseAuditLog:
    """The audit log kept in the metadata database, one sequence per recipient account."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def append(self, event: AuditEvent) -> int:
        """Durably record ``event``; return its sequence number in its account's log."""
        with self._database.session() as session:
            return append_in(session, event)

    def read(self, account_id: str, *, start: int = 0, limit: int = 1000) -> list[dict[str, object]]:
        """Events of one account in sequence order, as the JSON records that were written."""
        with self._database.read_session() as session:
            rows = session.scalars(
                select(models.AuditEvent)
                .where(models.AuditEvent.account_id == account_id)
                .where(models.AuditEvent.sequence >= start)
                .order_by(models.AuditEvent.sequence)
                .limit(limit)
            ).all()
            return [orjson.loads(row.body) for row in rows]


def append_in(session: Session, event: AuditEvent) -> int:
    """Append ``event`` inside the caller's transaction (for state changes and their events).

    Use this when the event must exist if and only if a state change commits.
    """
    account_id = event.recipient_account_id
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # Create the head row if this is the account's first event; a concurrent first append
    # conflicts harmlessly, then both queue on the row lock of the UPDATE below.
    session.execute(
        insert(models.AuditHead).values(account_id=account_id, size=0).on_conflict_do_nothing()
    )
    sequence = session.execute(
        update(models.AuditHead)
        .where(models.AuditHead.account_id == account_id)
        .values(size=models.AuditHead.size + 1)
        .returning(models.AuditHead.size)
    ).scalar_one()
    record = event.to_record()
    session.add(
        models.AuditEvent(
            event_id=event.event_id,
            account_id=account_id,
            sequence=sequence - 1,
            event_time=event.event_time,
            event_name=event.event_name,
            body=orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode("utf-8"),
        )
    )
    session.flush()
    return sequence - 1
