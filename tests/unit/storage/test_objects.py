"""Objects: encrypted round trips, versions, conditions, ranges, copies, and every denial."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import pytest

from lakevault import kms
from lakevault.core.errors import AccessDenied, NoSuchKey
from lakevault.storage import (
    ByteRange,
    Conditions,
    NoSuchBucket,
    NoSuchVersion,
    NotModified,
    PreconditionFailed,
)
from tests.unit.storage.conftest import ALICE, BOB, CAROL, READER, TENANT_B, StorageWorld

SIZES = [0, 1, 16383, 16384, 16385, 600_000, 2 * 1024 * 1024 + 5]


@pytest.mark.parametrize("size", SIZES)
def test_put_then_get_returns_the_same_bytes_and_stores_only_ciphertext(
    world: StorageWorld, size: int
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    data = os.urandom(size)
    info = world.put("data", "dir/file.bin", data, content_type="application/x-test")
    assert info.size == size
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.etag == f'"{info.sha256[:32]}"'
    assert info.version_id is None
    assert world.get("data", "dir/file.bin") == data
    (blob,) = world.blobs()
    stored = world.backend.read_range(blob, 0, world.backend.size(blob))
    assert stored[:4] == b"LVOB"
    assert len(stored) > size
    if size >= 64:
        assert data[:64] not in stored


def test_every_version_has_its_own_data_key(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.storage.buckets.put_bucket_versioning(world.caller(), "data", "Enabled")
    first = world.put("data", "k", b"same bytes")
    second = world.put("data", "k", b"same bytes")
    assert first.version_id and second.version_id and first.version_id != second.version_id
    rows = world.rows("data")
    assert len({row.wrapped_data_key for row in rows}) == 2
    assert world.get("data", "k", version_id=first.version_id) == b"same bytes"


def test_head_and_user_metadata_and_content_type(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.put("data", "a", b"x", content_type="text/plain", metadata={"Owner": "team-red"})
    head = world.storage.objects.head_object(world.caller(), "data", "a")
    assert head.content_type == "text/plain"
    assert dict(head.metadata) == {"owner": "team-red"}
    assert head.size == 1


def test_range_reads_decrypt_only_the_needed_chunks(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    data = os.urandom(5 * 1024 * 1024 + 123)
    world.put("data", "big", data)
    for first, last in [(0, 0), (16383, 16384), (1_000_000, 1_300_000), (len(data) - 10, None)]:
        got = world.get("data", "big", byte_range=ByteRange(first=first, last=last))
        assert got == data[first : (last + 1 if last is not None else None)]
    assert world.get("data", "big", byte_range=ByteRange(suffix_length=7)) == data[-7:]
    with pytest.raises(kms.InvalidRange):
        world.storage.objects.open_object(
            world.caller(), "data", "big", byte_range=ByteRange(first=len(data))
        )


def test_conditional_reads(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    info = world.put("data", "a", b"v1")
    caller = world.caller()
    objects = world.storage.objects
    assert objects.head_object(caller, "data", "a", conditions=Conditions(if_match=info.etag))
    with pytest.raises(PreconditionFailed):
        objects.head_object(caller, "data", "a", conditions=Conditions(if_match='"nope"'))
    with pytest.raises(NotModified):
        objects.open_object(caller, "data", "a", conditions=Conditions(if_none_match=info.etag))
    later = info.last_modified + timedelta(seconds=5)
    with pytest.raises(NotModified):
        objects.head_object(caller, "data", "a", conditions=Conditions(if_modified_since=later))
    earlier = info.last_modified - timedelta(seconds=5)
    assert objects.head_object(
        caller, "data", "a", conditions=Conditions(if_modified_since=earlier)
    )


def test_conditional_writes(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    first = world.put("data", "a", b"v1", conditions=Conditions(if_none_match="*"))
    with pytest.raises(PreconditionFailed):
        world.put("data", "a", b"v2", conditions=Conditions(if_none_match="*"))
    with pytest.raises(PreconditionFailed):
        world.put("data", "a", b"v2", conditions=Conditions(if_match='"other"'))
    world.put("data", "a", b"v3", conditions=Conditions(if_match=first.etag))
    assert world.get("data", "a") == b"v3"
    assert len(world.blobs()) == 1


def test_unversioned_overwrite_and_delete_remove_old_blobs(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.put("data", "a", b"one")
    world.put("data", "a", b"two")
    assert len(world.blobs()) == 1
    assert world.get("data", "a") == b"two"
    result = world.storage.objects.delete_object(world.caller(), "data", "a")
    assert not result.delete_marker
    assert world.blobs() == []
    with pytest.raises(NoSuchKey):
        world.get("data", "a")
    # Deleting what is not there succeeds, as in S3.
    world.storage.objects.delete_object(world.caller(), "data", "a")


def test_versioning_keeps_old_versions_behind_delete_markers(world: StorageWorld) -> None:
    buckets, objects = world.storage.buckets, world.storage.objects
    buckets.create_bucket(world.caller(), "data")
    buckets.put_bucket_versioning(world.caller(), "data", "Enabled")
    v1 = world.put("data", "a", b"one")
    v2 = world.put("data", "a", b"two")
    marker = objects.delete_object(world.caller(), "data", "a")
    assert marker.delete_marker and marker.version_id
    with pytest.raises(NoSuchKey):
        world.get("data", "a")
    assert world.get("data", "a", version_id=v1.version_id) == b"one"
    # Removing the marker brings the newest version back.
    objects.delete_object(world.caller(), "data", "a", version_id=marker.version_id)
    assert world.get("data", "a") == b"two"
    objects.delete_object(world.caller(), "data", "a", version_id=v2.version_id)
    assert world.get("data", "a") == b"one"
    with pytest.raises(NoSuchVersion):
        world.get("data", "a", version_id="0" * 32)
    buckets.put_bucket_versioning(world.caller(), "data", "Suspended")
    world.put("data", "a", b"null one")
    world.put("data", "a", b"null two")
    assert world.get("data", "a") == b"null two"
    assert world.get("data", "a", version_id=v1.version_id) == b"one"
    assert len(world.blobs()) == 2


def test_copy_re_encrypts_under_the_destination_bucket_key(world: StorageWorld) -> None:
    buckets = world.storage.buckets
    source = buckets.create_bucket(world.caller(), "source")
    target = buckets.create_bucket(world.caller(), "target")
    assert source.kms_key_id != target.kms_key_id
    data = os.urandom(1_500_000)
    world.put("source", "a", data, metadata={"m": "1"}, content_type="text/csv")
    copied = world.storage.objects.copy_object(
        world.caller(), source_bucket="source", source_key="a", bucket="target", key="b/c"
    )
    assert copied.sha256 == hashlib.sha256(data).hexdigest()
    assert copied.content_type == "text/csv" and dict(copied.metadata) == {"m": "1"}
    assert world.get("target", "b/c") == data
    (row,) = world.rows("target")
    assert row.kms_key_id == target.kms_key_id


def test_a_principal_without_permission_is_denied_and_nothing_changes(
    world: StorageWorld,
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.put("data", "a", b"secret payload")
    with pytest.raises(AccessDenied) as denied:
        world.put("data", "b", b"x", who=BOB)
    assert denied.value.code == "AccessDenied"
    with pytest.raises(AccessDenied):
        world.put("data", "b", b"x", who=READER)
    with pytest.raises(AccessDenied):
        world.get("data", "a", who=BOB)
    with pytest.raises(AccessDenied):
        world.storage.objects.delete_object(world.caller(READER), "data", "a")
    assert world.get("data", "a", who=READER) == b"secret payload"
    assert [row.key for row in world.rows("data")] == ["a"]
    assert len(world.blobs()) == 1
    denials = [e for e in world.events() if e.get("errorCode") == "AccessDenied"]
    assert {e["eventName"] for e in denials} == {"PutObject", "GetObject", "DeleteObject"}
    assert "secret payload" not in world.audit_text()


def test_another_tenant_cannot_reach_a_bucket_without_a_bucket_policy(
    world: StorageWorld,
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.put("data", "a", b"tenant a data")
    with pytest.raises(AccessDenied):
        world.get("data", "a", who=CAROL)
    with pytest.raises(AccessDenied):
        world.put("data", "a", b"overwrite", who=CAROL)
    assert world.get("data", "a") == b"tenant a data"
    assert any(e.get("errorCode") == "AccessDenied" for e in world.events(TENANT_B))


def test_a_bucket_policy_grants_another_tenant_read_access(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.put("data", "shared/a", b"shared bytes")
    world.put("data", "private/b", b"private bytes")
    world.storage.buckets.put_bucket_policy(
        world.caller(),
        "data",
        '{"Version":"2012-10-17","Statement":[{"Sid":"ShareWithB","Effect":"Allow",'
        f'"Principal":{{"AWS":"arn:aws:iam::{TENANT_B}:root"}},"Action":"s3:GetObject",'
        '"Resource":"arn:aws:s3:::data/shared/*"}]}',
    )
    assert world.get("data", "shared/a", who=CAROL) == b"shared bytes"
    with pytest.raises(AccessDenied):
        world.get("data", "private/b", who=CAROL)


def test_missing_bucket(world: StorageWorld) -> None:
    with pytest.raises(NoSuchBucket):
        world.put("nope", "a", b"x")
    assert ALICE.account_id != TENANT_B
