"""Encoding an event for the log and inserting events under the account's head row lock.

Shared by both appenders (the group-commit writer and :func:`append_in`), so that every leaf
is encoded, hashed and numbered the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lakevault.audit._events import AuditEvent, encode_event
from lakevault.audit._merkle import leaf_hash
from lakevault.db import models


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodedEvent:
    """An event as the log stores it: canonical bytes and leaf hash, computed once."""

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


def insert_events(executor: Session | Connection, events: Sequence[EncodedEvent]) -> list[int]:
    """Append ``events`` (any accounts) in the executor's transaction; return their sequences.

    Per account: create the head row if absent, advance it by the number of events under its
    row lock (``UPDATE ... RETURNING``), then insert all rows in one ``executemany``.
    """
    dialect = executor.get_bind().dialect.name if isinstance(executor, Session) else None
    if dialect is None:
        dialect = executor.dialect.name  # type: ignore[union-attr]
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    by_account: dict[str, list[int]] = {}
    for position, event in enumerate(events):
        by_account.setdefault(event.account_id, []).append(position)
    sequences = [0] * len(events)
    rows: list[dict[str, object]] = []
    for account_id, positions in by_account.items():
        # A concurrent first append conflicts harmlessly, then both queue on the row lock.
        executor.execute(
            upsert(models.AuditHead).values(account_id=account_id, size=0).on_conflict_do_nothing()
        )
        end = executor.execute(
            update(models.AuditHead)
            .where(models.AuditHead.account_id == account_id)
            .values(size=models.AuditHead.size + len(positions))
            .returning(models.AuditHead.size)
        ).scalar_one()
        for offset, position in enumerate(positions):
            event = events[position]
            sequence = end - len(positions) + offset
            sequences[position] = sequence
            rows.append(
                {
                    "event_id": event.event_id,
                    "account_id": account_id,
                    "sequence": sequence,
                    "event_time": event.event_time,
                    "event_name": event.event_name,
                    "body": event.body.decode("utf-8"),
                    "leaf_hash": event.leaf_hash,
                }
            )
    executor.execute(insert(models.AuditEvent), rows)
    return sequences


def append_in(session: Session, event: AuditEvent) -> int:
    """Append ``event`` inside the caller's transaction (for state changes and their events).

    Use this when the event must exist if and only if a state change commits. The account's
    head stays row-locked until the caller's transaction ends, so keep that transaction short:
    the group-commit writer waits for it.
    """
    return insert_events(session, [encode_for_log(event)])[0]
