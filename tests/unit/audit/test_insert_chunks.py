"""Multi-row INSERTs of events and companion rows in statements of a bounded size (ADR 0252).

On PostgreSQL a statement carries at most 50 parameters (psycopg converts a longer query's text
anew at every execution), so a batch of many events or companion rows becomes several
statements in the same transaction: what they write must be what one statement wrote.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, select, text

from lakevault.audit import (
    AppendReceipt,
    CompanionRow,
    DatabaseAuditLog,
    append_all_in,
)
from lakevault.audit._append import encode_for_log, rows_per_statement
from lakevault.db import Database, models
from tests.unit.audit.helpers import ACCOUNT, START, make_event

_OTHER = "210987654321"


def test_rows_per_statement_keeps_psycopg_s_conversion_cached() -> None:
    postgres = create_engine("postgresql+psycopg://127.0.0.1/none").dialect
    sqlite = create_engine("sqlite://").dialect
    assert rows_per_statement(postgres, 7) == 7  # 49 parameters
    assert rows_per_statement(postgres, 4) == 12
    assert rows_per_statement(postgres, 80) == 1
    assert rows_per_statement(sqlite, 7) == 500


def test_many_events_of_two_accounts_in_one_transaction_are_dense_and_intact(
    database: Database,
) -> None:
    events = [
        make_event(n, account=ACCOUNT if n % 3 else _OTHER, event_name=f"Event{n}")
        for n in range(1, 41)
    ]
    with database.transaction() as connection:
        sequences = append_all_in(connection, events)
    with database.read_session() as session:
        rows = session.execute(
            select(
                models.AuditEvent.event_id,
                models.AuditEvent.account_id,
                models.AuditEvent.sequence,
                models.AuditEvent.event_name,
                models.AuditEvent.body,
                models.AuditEvent.leaf_hash,
            )
        ).all()
    stored = {row.event_id: row for row in rows}
    assert len(stored) == 40
    for event, sequence in zip(events, sequences, strict=True):
        row = stored[event.event_id]
        encoded = encode_for_log(event)
        assert (row.account_id, row.sequence, row.event_name) == (
            event.recipient_account_id,
            sequence,
            event.event_name,
        )
        assert row.body.encode() == encoded.body and bytes(row.leaf_hash) == encoded.leaf_hash
    for account in (ACCOUNT, _OTHER):
        mine = sorted(row.sequence for row in rows if row.account_id == account)
        assert mine == list(range(len(mine)))  # dense from 0, in one transaction


def test_a_batch_of_many_companion_rows_is_inserted_whole(database: Database) -> None:
    log = DatabaseAuditLog(database)
    log.append(make_event(100))  # the account's head row exists
    journal = models.BlobJournal.__table__
    receipts: list[AppendReceipt] = []
    # The writer is held back (SQLite: this thread holds the write lock; PostgreSQL: the head
    # row is locked) while the events queue, so most of them form one batch.
    with _holding_the_writer_back(database):
        for n in range(30):
            receipts.append(
                log.submit(
                    make_event(n + 1),
                    companion=CompanionRow(
                        table=journal,
                        values={
                            "blob_path": f"chunk/{n}",
                            "bucket_name": "b",
                            "state": "writing",
                            "created_at": START,
                        },
                    ),
                )
            )
        deadline = time.monotonic() + 10
        while sum(log.batch_sizes) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert sorted(receipt.result(30) for receipt in receipts) == list(range(1, 31))
    with database.read_session() as session:
        paths = set(session.scalars(select(models.BlobJournal.blob_path)))
    assert paths == {f"chunk/{n}" for n in range(30)}
    # More companion rows in one batch than one PostgreSQL statement carries (12).
    assert max(log.batch_sizes) > 12
    log.close()


@contextmanager
def _holding_the_writer_back(database: Database) -> Iterator[None]:
    if database.is_sqlite:
        with database.serialised_write():
            yield
        return
    with database.engine.connect() as connection:
        connection.execute(
            text("SELECT size FROM audit_heads WHERE account_id = :a FOR UPDATE"), {"a": ACCOUNT}
        )
        yield
        connection.rollback()
