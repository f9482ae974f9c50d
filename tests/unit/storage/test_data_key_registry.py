"""``lakevault kms rewrap`` over storage: after ``RotateKeyOnDemand`` of a bucket key, every
object version's data key moves to the newest key version; the stored blobs (header included)
are byte-for-byte unchanged and every version still reads (ADR 0213)."""

from __future__ import annotations

import os

import pytest

from lakevault import iam, kms
from lakevault.audit import DatabaseAuditLog
from lakevault.core import FixedClock, SystemRandom
from lakevault.core.errors import AccessDenied
from lakevault.db import Database, models
from lakevault.gate import Gate
from lakevault.keys import KeyCall, KeyService
from lakevault.storage import ObjectBackend, ObjectDataKeys, ObjectStorage
from tests.unit.storage.conftest import (
    ALICE,
    BOB,
    ROOT_KEY,
    TENANT_A,
    StaticPolicies,
    StorageWorld,
    allow,
    principal,
)

ROOT = principal(TENANT_A, "keyadmin")  # kms:* in tenant A: rotates and rewraps bucket keys


@pytest.fixture
def world(database: Database, backend: ObjectBackend) -> StorageWorld:
    """The storage world of conftest.py, with a key administrator besides ALICE."""
    clock, random = FixedClock(), SystemRandom()
    audit = DatabaseAuditLog(database)
    policies = StaticPolicies(
        {
            ALICE.arn: (allow("s3:*", policy_id="alice-s3"),),
            ROOT.arn: (allow("kms:*", policy_id="keyadmin-kms"),),
        }
    )
    gate = Gate(
        engine=iam.Evaluator(),
        policies=policies,
        audit=audit,
        clock=clock,
        random=random,
        region="local",
    )
    with database.session() as session:
        session.add(models.Tenant(account_id=TENANT_A, name="ta", created_at=clock.now()))
    keys = KeyService(
        database=database,
        gate=gate,
        audit=audit,
        wrapper=kms.PlatformTenantKeyWrapper(lambda: ROOT_KEY, random=random),
        clock=clock,
        random=random,
        region="local",
    )
    storage = ObjectStorage(
        database=database,
        gate=gate,
        keys=keys,
        backend=backend,
        clock=clock,
        random=random,
        region="local",
    )
    return StorageWorld(database, audit, gate, keys, storage, backend, clock)


def _blob_bytes(world: StorageWorld) -> dict[str, bytes]:
    return {
        path: world.backend.read_range(path, 0, world.backend.size(path)) for path in world.blobs()
    }


def _objects(world: StorageWorld) -> dict[str, bytes]:
    """Three objects, one with two versions, and a delete marker; returns what each holds."""
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.storage.buckets.put_bucket_versioning(world.caller(), "data", "Enabled")
    contents = {"a": os.urandom(100), "b": os.urandom(40_000), "c": b"old"}
    for key, data in contents.items():
        world.put("data", key, data)
    world.put("data", "c", b"new")
    world.storage.objects.delete_object(world.caller(), "data", "a")
    return contents


def _bucket_key(world: StorageWorld) -> str:
    (key_id,) = {row.kms_key_id for row in world.rows("data") if not row.is_delete_marker}
    return key_id


def test_rewrap_moves_every_object_data_key_and_leaves_the_blobs_alone(
    world: StorageWorld,
) -> None:
    contents = _objects(world)
    key_id = _bucket_key(world)
    blobs = _blob_bytes(world)
    before = {row.version_id: row.wrapped_data_key for row in world.rows("data")}
    root = KeyCall(principal=ROOT, request_id="req-rotate")
    world.keys.rotate_key_on_demand(root, key_id)

    progress = world.keys.rewrap_data_keys(root, key_id, ObjectDataKeys(world.database))

    assert (progress.rewrapped, progress.failed, progress.is_done) == (4, 0, True)
    data_rows = [row for row in world.rows("data") if not row.is_delete_marker]
    assert len(data_rows) == 4
    for row in data_rows:
        assert row.key_version == 2
        assert row.wrapped_data_key != before[row.version_id]
    assert _blob_bytes(world) == blobs  # object bytes, header included, untouched
    assert world.get("data", "b") == contents["b"]
    assert world.get("data", "c") == b"new"
    versions = {row.version_id: row for row in data_rows}
    old_c = min((v for v in versions.values() if v.key == "c"), key=lambda row: row.sequence)
    assert world.get("data", "c", version_id=old_c.version_id) == b"old"
    [old_a] = [v for v in versions.values() if v.key == "a"]
    assert world.get("data", "a", version_id=old_a.version_id) == contents["a"]
    again = world.keys.rewrap_data_keys(root, key_id, ObjectDataKeys(world.database))
    assert again.rewrapped == 0


def test_a_bounded_rewrap_resumes_and_a_changed_row_is_not_replaced(world: StorageWorld) -> None:
    _objects(world)
    key_id = _bucket_key(world)
    root = KeyCall(principal=ROOT, request_id="req-rotate")
    world.keys.rotate_key_on_demand(root, key_id)
    registry = ObjectDataKeys(world.database)

    first = world.keys.rewrap_data_keys(root, key_id, registry, batch_size=1, max_batches=2)
    assert (first.rewrapped, first.is_done) == (2, False)
    [stored, *_] = registry.stored_data_keys(key_id, below_version=2, after="", limit=10)
    assert registry.replace_data_key(stored, key_version=1, wrapped=stored.wrapped + b"x")
    assert not registry.replace_data_key(stored, key_version=2, wrapped=b"y" * 60)

    rest = world.keys.rewrap_data_keys(root, key_id, registry, batch_size=1)
    assert rest.is_done and rest.failed == 1  # the row changed behind its back does not open
    assert sorted(row.key_version for row in world.rows("data") if not row.is_delete_marker) == [
        1,
        2,
        2,
        2,
    ]


def test_a_caller_without_reencrypt_cannot_rewrap(world: StorageWorld) -> None:
    _objects(world)
    key_id = _bucket_key(world)
    world.keys.rotate_key_on_demand(KeyCall(principal=ROOT, request_id="r"), key_id)
    before = {row.version_id: row.wrapped_data_key for row in world.rows("data")}

    with pytest.raises(AccessDenied):
        world.keys.rewrap_data_keys(
            KeyCall(principal=BOB, request_id="r"), key_id, ObjectDataKeys(world.database)
        )
    assert {row.version_id: row.wrapped_data_key for row in world.rows("data")} == before
