"""The per-account audit log: dense sequences, atomic with state changes, no secrets."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from lakevault.audit import (
    AuditEvent,
    DatabaseAuditLog,
    DecisionRecord,
    IdentityType,
    UserIdentity,
    append_in,
)
from lakevault.core.errors import InvalidParameterValue
from lakevault.db import Database, models


def make_event(number: int, *, account: str = "123456789012", **overrides: object) -> AuditEvent:
    values: dict[str, object] = {
        "event_id": f"00000000-0000-4000-8000-{number:012d}",
        "event_time": datetime(2026, 1, 1, tzinfo=UTC),
        "event_source": "s3.amazonaws.com",
        "event_name": "GetObject",
        "region": "local",
        "source_ip_address": "127.0.0.1",
        "user_agent": "test",
        "user_identity": UserIdentity(
            type=IdentityType.IAM_USER,
            principal_id="LVUSAAAAAAAAAAAAAAAA",
            arn=f"arn:aws:iam::{account}:user/alice",
            account_id=account,
        ),
        "request_id": "req",
        "read_only": True,
        "recipient_account_id": account,
        "decision": DecisionRecord(effect="Allowed", statements=({"sid": "A"},)),
    }
    values.update(overrides)
    return AuditEvent(**values)  # type: ignore[arg-type]


def test_each_account_gets_its_own_dense_sequence(database: Database) -> None:
    log = DatabaseAuditLog(database)
    assert [log.append(make_event(i)) for i in range(3)] == [0, 1, 2]
    assert log.append(make_event(9, account="210987654321")) == 0
    records = log.read("123456789012")
    assert [r["eventID"] for r in records] == [make_event(i).event_id for i in range(3)]
    assert records[0]["decision"] == {"effect": "Allowed", "statements": [{"sid": "A"}]}
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


@pytest.mark.parametrize("key", ["password", "SecretAccessKey", "sessionToken", "Body", "plaintext"])
def test_parameters_that_may_hold_secrets_are_refused(key: str) -> None:
    with pytest.raises(InvalidParameterValue, match="never recorded"):
        make_event(1, request_parameters={key: "x"})


def test_record_has_the_cloudtrail_fields() -> None:
    record = make_event(1, error_code="AccessDenied", error_message="no").to_record()
    for field in (
        "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
        "userAgent", "userIdentity", "requestParameters", "responseElements", "requestID",
        "eventID", "readOnly", "resources", "recipientAccountId", "errorCode", "decision",
    ):
        assert field in record
    assert record["eventTime"] == "2026-01-01T00:00:00Z"
