"""The contract storage and secrets use: service keys accept only the gate's genuine proofs."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from lakevault import iam, kms
from lakevault.audit import CompanionRow, DatabaseAuditLog
from lakevault.core import FixedClock, SystemRandom
from lakevault.core.errors import AccessDenied, InvalidParameterValue
from lakevault.db import models
from lakevault.gate import Gate, Request
from lakevault.keys import DataKey, DisabledException, KMSInvalidStateException
from lakevault.keys._records import load_record, load_service_record
from tests.unit.keys.conftest import (
    ALICE,
    CAROL,
    STORE,
    TENANT_A,
    KMSWorld,
    StaticPolicies,
    allow,
    context,
    parameters,
)

BUCKET = "arn:aws:s3:::red-data"
OBJECT = "arn:aws:s3:::red-data/report.csv"
CONTEXT = kms.EncryptionContext.for_object(
    tenant=TENANT_A, bucket="red-data", key="report.csv", version_id="v1"
)


def bucket_key(world: KMSWorld) -> str:
    proof = world.proof("s3:CreateBucket", BUCKET)
    return world.service.create_service_key(proof, tenant_id=TENANT_A, description="red-data")


def put(world: KMSWorld, key_id: str) -> DataKey:
    return world.service.generate_data_key(
        world.proof("s3:PutObject", OBJECT), key_id=key_id, context=CONTEXT
    )


def get(world: KMSWorld, key_id: str, data_key: DataKey, **changes: object) -> kms.PlaintextDataKey:
    arguments: dict[str, object] = {
        "key_id": key_id,
        "key_version": data_key.key_version,
        "wrapped": data_key.wrapped,
        "context": CONTEXT,
    } | changes
    return world.service.decrypt_data_key(world.proof("s3:GetObject", OBJECT), **arguments)  # type: ignore[arg-type]


def roundtrip(world: KMSWorld, data_key: DataKey, plaintext_key: kms.PlaintextDataKey) -> bool:
    """Whether ``plaintext_key`` is ``data_key``'s (it decrypts an object sealed with it)."""
    header = kms.ObjectHeader.create(
        key_id=data_key.key_id,
        key_version=data_key.key_version,
        encryption_context=CONTEXT,
        wrapped_data_key=data_key.wrapped,
    )
    sealed = io.BytesIO()
    kms.encrypt_stream(io.BytesIO(b"hello"), sealed, data_key=data_key.plaintext, header=header)
    reader = io.BytesIO(sealed.getvalue())
    read_header = kms.read_object_header(reader)
    out = io.BytesIO()
    kms.decrypt_stream(
        reader, out, data_key=plaintext_key, header=read_header, encryption_context=CONTEXT
    )
    return out.getvalue() == b"hello"


def test_a_data_key_round_trips_and_every_use_is_audited(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    data_key = put(world, key_id)
    assert data_key.key_id == key_id and data_key.key_version == 1
    assert roundtrip(world, data_key, get(world, key_id, data_key))
    uses = [e for e in world.events() if e["eventName"] in {"GenerateDataKey", "Decrypt"}]
    assert [e["eventName"] for e in uses] == ["GenerateDataKey", "Decrypt"]
    for event in uses:
        assert event["eventSource"] == "kms.amazonaws.com"
        assert event["resources"][0]["ARN"].endswith(f":key/{key_id}")
        assert parameters(event)["encryptionContext"] == CONTEXT.as_dict()
        assert event.get("errorCode") is None
        assert event["additionalEventData"]["invokedBy"] == "s3.amazonaws.com"
    usage = world.service.usage()
    assert sum(usage.values()) == 2
    assert "redacted" in repr(data_key)


def test_the_key_id_is_created_with_a_change_event_naming_the_bucket(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    created = [e for e in world.events() if e["eventName"] == "CreateKey"]
    assert len(created) == 1 and parameters(created[0])["serviceResource"] == BUCKET
    assert key_id in json.dumps(created[0]["responseElements"])


def test_a_proof_from_another_gate_is_refused(world: KMSWorld) -> None:
    other = Gate(
        engine=iam.Evaluator(),
        policies=StaticPolicies({STORE.arn: (allow("s3:*"),)}),
        audit=world.audit,
        clock=FixedClock(),
        random=SystemRandom(),
        region="local",
    )
    forged = other.require(
        Request(principal=STORE, action="s3:CreateBucket", resource=BUCKET, request_id="r")
    )
    with pytest.raises(AccessDenied):
        world.service.create_service_key(forged, tenant_id=TENANT_A, description="x")
    key_id = bucket_key(world)
    forged_put = other.require(
        Request(principal=STORE, action="s3:PutObject", resource=OBJECT, request_id="r")
    )
    with pytest.raises(AccessDenied):
        world.service.generate_data_key(forged_put, key_id=key_id, context=CONTEXT)


def test_a_proof_of_a_non_creating_action_cannot_create_a_key(world: KMSWorld) -> None:
    with pytest.raises(AccessDenied, match="s3:CreateBucket"):
        world.service.create_service_key(
            world.proof("s3:GetObject", OBJECT), tenant_id=TENANT_A, description="x"
        )


def test_a_key_for_another_tenant_is_refused(world: KMSWorld) -> None:
    with pytest.raises(AccessDenied):
        world.service.create_service_key(
            world.proof("s3:CreateBucket", BUCKET), tenant_id="222222222222", description="x"
        )


def test_cross_tenant_a_proof_about_another_bucket_cannot_use_the_key(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    carol_proof = world.proof("s3:PutObject", "arn:aws:s3:::blue-data/x", who=CAROL)
    with pytest.raises(AccessDenied, match="another resource"):
        world.service.generate_data_key(carol_proof, key_id=key_id, context=CONTEXT)
    prefix_trick = world.proof("s3:PutObject", "arn:aws:s3:::red-data-2/x")
    with pytest.raises(AccessDenied):
        world.service.generate_data_key(prefix_trick, key_id=key_id, context=CONTEXT)


def test_a_proof_of_another_service_cannot_use_a_bucket_key(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    world.policies.by_arn[STORE.arn] = (allow("s3:*", "lakevault:*"),)
    proof = world.proof("lakevault:GetDataset", OBJECT)
    with pytest.raises(AccessDenied):
        world.service.generate_data_key(proof, key_id=key_id, context=CONTEXT)


def test_a_wrong_encryption_context_does_not_decrypt_and_is_recorded(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    data_key = put(world, key_id)
    with pytest.raises(kms.IntegrityError):
        get(world, key_id, data_key, context=context(tenant=TENANT_A, bucket="red-data"))
    event = world.last_event()
    assert event["eventName"] == "Decrypt"
    assert event["errorCode"] == "InvalidCiphertextException"
    assert parameters(event)["encryptionContext"] == {"tenant": TENANT_A, "bucket": "red-data"}


def test_a_disabled_key_refuses_and_records_disabled_exception(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    data_key = put(world, key_id)
    world.service.disable_key(world.call(ALICE), key_id)
    with pytest.raises(DisabledException):
        put(world, key_id)
    assert world.last_event()["errorCode"] == "DisabledException"
    with pytest.raises(DisabledException):
        get(world, key_id, data_key)
    event = world.last_event()
    assert event["errorCode"] == "DisabledException" and event["eventName"] == "Decrypt"
    assert event["resources"][0]["ARN"].endswith(key_id)
    world.service.enable_key(world.call(ALICE), key_id)
    assert roundtrip(world, data_key, get(world, key_id, data_key))


def test_a_key_pending_deletion_refuses_with_invalid_state(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    data_key = put(world, key_id)
    world.service.schedule_service_key_deletion(
        world.proof("s3:DeleteBucket", BUCKET), key_id=key_id, days=7
    )
    with pytest.raises(KMSInvalidStateException) as raised:
        get(world, key_id, data_key)
    assert type(raised.value) is KMSInvalidStateException
    assert world.last_event()["errorCode"] == "KMSInvalidStateException"


def test_deletion_days_outside_7_to_30_are_refused(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    for days in (6, 31):
        with pytest.raises(InvalidParameterValue, match="7 to 30"):
            world.service.schedule_service_key_deletion(
                world.proof("s3:DeleteBucket", BUCKET), key_id=key_id, days=days
            )


def test_a_key_policy_deny_cuts_the_service_off(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    policy = json.loads(world.service.get_key_policy(world.call(ALICE), key_id))
    policy["Statement"].append(
        {
            "Sid": "NoStorage",
            "Effect": "Deny",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    world.service.put_key_policy(world.call(ALICE), key_id, json.dumps(policy))
    with pytest.raises(AccessDenied, match="key policy"):
        put(world, key_id)
    event = world.last_event()
    assert event["errorCode"] == "AccessDenied" and event["eventName"] == "GenerateDataKey"


def test_old_versions_decrypt_after_rotation_and_new_keys_use_the_new_version(
    world: KMSWorld,
) -> None:
    key_id = bucket_key(world)
    old = put(world, key_id)
    world.service.rotate_key_on_demand(world.call(ALICE), key_id)
    new = put(world, key_id)
    assert (old.key_version, new.key_version) == (1, 2)
    assert roundtrip(world, old, get(world, key_id, old))
    assert roundtrip(world, new, get(world, key_id, new))
    with pytest.raises(kms.IntegrityError):
        get(world, key_id, old, key_version=2)


def test_something_that_is_not_a_proof_is_refused(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    for fake in (object(), None, "s3:PutObject"):
        with pytest.raises(AccessDenied):
            world.service.generate_data_key(fake, key_id=key_id, context=CONTEXT)  # type: ignore[arg-type]
        with pytest.raises(AccessDenied):
            world.service.create_service_key(fake, tenant_id=TENANT_A, description="x")  # type: ignore[arg-type]
    assert world.service.usage() == {}


def test_the_fast_read_sees_the_key_as_the_orm_does(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    world.service.schedule_service_key_deletion(
        world.proof("s3:DeleteBucket", BUCKET), key_id=key_id, days=9
    )
    fast = load_service_record(world.database, key_id, region="local")
    with world.database.read_session() as session:
        full = load_record(session, key_id, region="local")
    assert fast == full
    assert fast.deletion_date is not None and fast.deletion_date.tzinfo is not None


def _journal_row(path: str) -> CompanionRow:
    return CompanionRow(
        table=models.BlobJournal.__table__,  # type: ignore[arg-type]
        values={
            "blob_path": path,
            "bucket_name": "red-data",
            "state": "writing",
            "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        },
    )


def _journal_paths(world: KMSWorld) -> list[str]:
    with world.database.read_session() as session:
        return sorted(session.scalars(select(models.BlobJournal.blob_path)).all())


def put_with_row(world: KMSWorld, key_id: str, path: str) -> DataKey:
    return world.service.generate_data_key(
        world.proof("s3:PutObject", OBJECT),
        key_id=key_id,
        context=CONTEXT,
        defer_audit=True,
        companion=_journal_row(path),
    )


def test_a_companion_row_is_durable_once_the_key_use_is_recorded(world: KMSWorld) -> None:
    # ADR 0195: storage's blob-journal row shares the GenerateDataKey event's transaction.
    key_id = bucket_key(world)
    put_with_row(world, key_id, "a/red-data/v1").wait_recorded()
    assert _journal_paths(world) == ["a/red-data/v1"]
    assert world.last_event()["eventName"] == "GenerateDataKey"


def test_a_refused_key_use_writes_no_companion_row(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    world.service.disable_key(world.call(ALICE), key_id)
    with pytest.raises(DisabledException):
        put_with_row(world, key_id, "a/red-data/v1")
    assert _journal_paths(world) == []
    assert world.last_event()["errorCode"] == "DisabledException"


class _AppendOnlySink:
    """An audit sink that can neither queue nor carry a row (``AuditSink`` alone)."""

    def __init__(self, log: DatabaseAuditLog) -> None:
        self.append = log.append


def test_a_sink_that_cannot_carry_the_row_gets_it_written_after_the_event(
    world: KMSWorld,
) -> None:
    key_id = bucket_key(world)
    world.service.audit = _AppendOnlySink(world.audit)
    data_key = put_with_row(world, key_id, "a/red-data/v2")
    # Written before the call returned, after the event: nothing left to wait for.
    assert _journal_paths(world) == ["a/red-data/v2"]
    assert world.last_event()["eventName"] == "GenerateDataKey"
    data_key.wait_recorded()
