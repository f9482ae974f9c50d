"""The writer's transactions on the bare driver connection (ADR 0231).

What the driver path must keep from the SQLAlchemy one: a failed transaction is rolled back
and leaves nothing, its callers get a lakevault error (never a driver exception), the writer
carries on with a fresh connection, companion values pass through their column types' bind
processors, and the rows are the ones ``append_in`` writes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, DateTime, MetaData, String, Table, select

from lakevault.audit import CompanionRow, DatabaseAuditLog, append_in, leaf_hash
from lakevault.core.errors import LakevaultError
from lakevault.db import Database, models
from tests.unit.audit.helpers import ACCOUNT, START, make_event

_MISSING = Table(
    "no_such_table",
    MetaData(),
    Column("name", String(10), primary_key=True),
    Column("at", DateTime),
)


def _events(database: Database) -> list[tuple[str, int, bytes]]:
    with database.read_session() as session:
        rows = session.execute(
            select(
                models.AuditEvent.event_id, models.AuditEvent.sequence, models.AuditEvent.leaf_hash
            ).order_by(models.AuditEvent.sequence)
        ).all()
    return [(row[0], row[1], bytes(row[2])) for row in rows]


def test_a_failed_transaction_leaves_nothing_and_the_writer_carries_on(
    database: Database,
) -> None:
    log = DatabaseAuditLog(database)
    try:
        assert log.append(make_event(0)) == 0
        doomed = log.submit(
            make_event(1), companion=CompanionRow(table=_MISSING, values={"name": "x"})
        )
        with pytest.raises(LakevaultError) as caught:
            doomed.result()
        assert caught.value.code in {"ServiceUnavailable", "InternalFailure"}
        assert "no_such_table" not in caught.value.message  # the driver's text stays inside
        # The head was not advanced and no row of the failed event exists: the next event
        # takes sequence 1, on a fresh connection.
        assert log.append(make_event(2)) == 1
        assert [event_id for event_id, _, _ in _events(database)] == [
            make_event(0).event_id,
            make_event(2).event_id,
        ]
    finally:
        log.close()


def test_the_writer_and_append_in_write_the_same_rows(database: Database) -> None:
    log = DatabaseAuditLog(database)
    try:
        assert log.append(make_event(0)) == 0
        with database.session() as session:
            assert append_in(session, make_event(1)) == 1
        assert log.append(make_event(2)) == 2
    finally:
        log.close()
    stored = _events(database)
    assert [sequence for _, sequence, _ in stored] == [0, 1, 2]
    with database.read_session() as session:
        rows = session.execute(
            select(models.AuditEvent.body, models.AuditEvent.leaf_hash, models.AuditEvent)
            .where(models.AuditEvent.account_id == ACCOUNT)
            .order_by(models.AuditEvent.sequence)
        ).all()
    for number, (body, stored_hash, event) in enumerate(rows):
        assert bytes(stored_hash) == leaf_hash(body.encode("utf-8"))
        assert event.event_time.replace(tzinfo=UTC) == START.replace(tzinfo=UTC) + (
            make_event(number).event_time - START
        )
        assert event.event_name == "GetObject"


def test_companion_values_go_through_their_column_types(database: Database) -> None:
    created = datetime(2026, 11, 29, 23, 59, 58, 123456, tzinfo=UTC)
    log = DatabaseAuditLog(database)
    try:
        log.submit(
            make_event(0),
            companion=CompanionRow(
                table=models.BlobJournal.__table__,  # type: ignore[arg-type]
                values={
                    "blob_path": "t/b/v",
                    "bucket_name": "b",
                    "state": "writing",
                    "created_at": created,
                },
            ),
        ).result()
    finally:
        log.close()
    with database.read_session() as session:
        row = session.get(models.BlobJournal, "t/b/v")
        assert row is not None
        assert row.created_at == created
