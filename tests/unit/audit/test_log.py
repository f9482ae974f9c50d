"""The per-account audit log: dense sequences, atomic with state changes, no secrets."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, select

from lakevault.audit import CompanionRow, DatabaseAuditLog, append_in, leaf_hash
from lakevault.core.errors import InternalFailure, InvalidParameterValue, ServiceUnavailable
from lakevault.db import Database, models
from tests.unit.audit.helpers import START, make_event


def test_each_account_gets_its_own_dense_sequence(database: Database) -> None:
    log = DatabaseAuditLog(database)
    assert [log.append(make_event(i)) for i in range(3)] == [0, 1, 2]
    assert log.append(make_event(9, account="210987654321")) == 0
    records = log.read("123456789012")
    assert [r["eventID"] for r in records] == [make_event(i).event_id for i in range(3)]
    assert records[0]["decision"]["effect"] == "Allowed"
    assert records[0]["userIdentity"]["type"] == "IAMUser"


def test_concurrent_appends_never_share_or_skip_a_sequence(database: Database) -> None:
    log = DatabaseAuditLog(database)
    results: list[int] = []
    lock = threading.Lock()

    def worker(start: int) -> None:
        for i in range(start, start + 15):
            sequence = log.append(make_event(i))
            with lock:
                results.append(sequence)

    threads = [threading.Thread(target=worker, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(60))


def test_event_appended_in_a_rolled_back_transaction_does_not_exist(database: Database) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), database.session() as session:
        append_in(session, make_event(1))
        raise Abort
    assert DatabaseAuditLog(database).read("123456789012") == []
    with database.read_session() as session:
        assert session.get(models.AuditHead, "123456789012") is None


@pytest.mark.parametrize(
    "key", ["password", "SecretAccessKey", "sessionToken", "Body", "plaintext"]
)
def test_parameters_that_may_hold_secrets_are_refused(key: str) -> None:
    with pytest.raises(InvalidParameterValue, match="never recorded"):
        make_event(1, request_parameters={key: "x"})


def test_record_has_the_cloudtrail_fields() -> None:
    record = make_event(1, error_code="AccessDenied", error_message="no").to_record()
    for field in (
        "eventVersion",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "userIdentity",
        "requestParameters",
        "responseElements",
        "requestID",
        "eventID",
        "readOnly",
        "resources",
        "recipientAccountId",
        "errorCode",
        "decision",
    ):
        assert field in record
    assert record["eventTime"] == "2026-01-01T00:00:01Z"


def test_each_stored_event_carries_the_leaf_hash_of_its_canonical_bytes(database: Database) -> None:
    log = DatabaseAuditLog(database)
    log.append(make_event(1, request_parameters={"bucketName": "b", "key": "é"}))
    log.close()
    with database.read_session() as session:
        row = session.query(models.AuditEvent).one()
        assert bytes(row.leaf_hash) == leaf_hash(row.body.encode("utf-8"))
        assert row.body == row.body.strip() and ", " not in row.body  # compact, sorted JSON


def test_events_of_many_threads_share_transactions(database: Database) -> None:
    log = DatabaseAuditLog(database)
    futures = [log.submit(make_event(i)) for i in range(400)]
    assert sorted(f.result() for f in futures) == list(range(400))
    log.close()
    assert sum(log.batch_sizes) == 400
    assert max(log.batch_sizes) > 1, "group commit put every event in its own transaction"


def test_batch_size_is_bounded(database: Database) -> None:
    log = DatabaseAuditLog(database, max_batch=7)
    futures = [log.submit(make_event(i)) for i in range(50)]
    assert [f.result() for f in futures] == list(range(50))
    log.close()
    assert max(log.batch_sizes) <= 7


def test_writer_and_append_in_share_the_head(database: Database) -> None:
    log = DatabaseAuditLog(database)
    assert log.append(make_event(0)) == 0
    with database.session() as session:
        assert append_in(session, make_event(1)) == 1
    assert log.append(make_event(2)) == 2
    log.close()
    with database.read_session() as session:
        sequences = session.query(models.AuditEvent.sequence).order_by("sequence").all()
    assert [s for (s,) in sequences] == [0, 1, 2]


def test_a_reused_event_id_fails_only_its_own_append(database: Database) -> None:
    log = DatabaseAuditLog(database)
    log.append(make_event(1))
    futures = [log.submit(make_event(n)) for n in (2, 1, 3)]
    assert futures[0].result() == 1
    with pytest.raises(InternalFailure, match="same eventID"):
        futures[1].result()
    assert futures[2].result() == 2
    log.close()


def _journal_row(path: str) -> CompanionRow:
    return CompanionRow(
        table=models.BlobJournal.__table__,  # type: ignore[arg-type]
        values={"blob_path": path, "bucket_name": "b", "state": "writing", "created_at": START},
    )


def _journal_paths(database: Database) -> list[str]:
    with database.read_session() as session:
        return sorted(session.scalars(select(models.BlobJournal.blob_path)).all())


def test_a_companion_row_is_durable_with_its_event(database: Database) -> None:
    # ADR 0195: storage's blob-journal row rides in its key use's transaction.
    log = DatabaseAuditLog(database)
    receipts = [log.submit(make_event(n), companion=_journal_row(f"p{n}")) for n in range(30)]
    receipts.append(log.submit(make_event(30)))
    assert sorted(receipt.result() for receipt in receipts) == list(range(31))
    log.close()
    assert _journal_paths(database) == sorted(f"p{n}" for n in range(30))


def test_a_failing_companion_row_fails_only_its_own_event(database: Database) -> None:
    log = DatabaseAuditLog(database)
    log.submit(make_event(0), companion=_journal_row("taken")).result()
    receipts = [
        log.submit(make_event(1), companion=_journal_row("p1")),
        log.submit(make_event(2), companion=_journal_row("taken")),
        log.submit(make_event(3), companion=_journal_row("p3")),
    ]
    assert receipts[0].result() == 1
    with pytest.raises(InternalFailure, match="storage_blob_journal"):
        receipts[1].result()
    assert receipts[2].result() == 2
    log.close()
    # Neither the refused event nor a second row of it exists.
    assert _journal_paths(database) == ["p1", "p3", "taken"]
    with database.read_session() as session:
        ids = session.scalars(select(models.AuditEvent.event_id)).all()
    assert make_event(2).event_id not in ids


def test_a_head_row_gone_behind_the_writers_back_is_made_again(database: Database) -> None:
    # ADR 0197: appends skip creating a head they have seen; a head that is gone anyway (a
    # database emptied under a running process) must not fail the next append.
    log = DatabaseAuditLog(database)
    assert log.append(make_event(0)) == 0
    with database.session() as session:
        session.execute(delete(models.AuditEvent))
        session.execute(delete(models.AuditHead))
    assert log.append(make_event(1)) == 0
    with database.session() as session:
        assert append_in(session, make_event(2)) == 1
    log.close()


def test_a_closed_log_refuses_appends(database: Database) -> None:
    log = DatabaseAuditLog(database)
    log.append(make_event(1))
    log.close()
    with pytest.raises(ServiceUnavailable, match="writer is closed"):
        log.append(make_event(2))


def test_async_append_waits_for_durability(database: Database) -> None:
    import asyncio

    log = DatabaseAuditLog(database)
    assert asyncio.run(log.append_async(make_event(5))) == 0
    log.close()
    assert log.read("123456789012")[0]["eventID"] == make_event(5).event_id


def test_values_that_are_not_json_are_refused_in_the_callers_thread() -> None:
    with pytest.raises(InvalidParameterValue, match="not JSON"):
        from lakevault.audit import encode_event

        encode_event(make_event(1, request_parameters={"tags": {1, 2}}))


def test_a_writer_whose_thread_is_gone_starts_a_new_one(database: Database) -> None:
    """As in a child process after fork(): the parent's writer thread does not exist there."""
    log = DatabaseAuditLog(database)
    log.append(make_event(1))
    gone = threading.Thread(target=lambda: None)
    gone.start()
    gone.join()
    log._writer._thread = gone  # type: ignore[attr-defined]
    assert log.append(make_event(2)) == 1
    log.close()
