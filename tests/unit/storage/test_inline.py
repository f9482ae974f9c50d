"""Small objects stored beside their version rows (ADR 0272): the same ciphertext, the same
checks, the same lifecycle as a blob, and never an orphan."""

from __future__ import annotations

import io
import os
from importlib import resources
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, update

from lakevault import kms
from lakevault.core.errors import AccessDenied
from lakevault.db import current_revision, models
from lakevault.storage import (
    BackendUnavailable,
    ByteRange,
    Conditions,
    IncompleteBody,
    PreconditionFailed,
)
from lakevault.storage._inline import INLINE_MAX_BYTES
from tests.unit.storage.conftest import BOB, READER, StorageWorld


def _put(world: StorageWorld, bucket: str, key: str, data: bytes, **options: Any) -> Any:
    """A PUT that declares its length, as every HTTP client's does."""
    return world.put(bucket, key, data, content_length=len(data), **options)


def _inline(world: StorageWorld) -> dict[str, bytes]:
    """Every inline version's stored bytes, by version id."""
    with world.database.read_session() as session:
        rows = session.scalars(select(models.InlineObjectData)).all()
        return {row.version_id: bytes(row.data) for row in rows}


def _journal(world: StorageWorld) -> list[str]:
    with world.database.read_session() as session:
        return list(session.scalars(select(models.BlobJournal.blob_path)).all())


@pytest.mark.parametrize("size", [0, 1, 16384, 16385, INLINE_MAX_BYTES])
def test_a_small_declared_body_is_stored_inline_and_only_as_ciphertext(
    world: StorageWorld, size: int
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    data = os.urandom(size)
    info = _put(world, "data", "k", data)
    assert world.blobs() == []
    assert _journal(world) == []
    ((version_id, stored),) = _inline(world).items()
    (row,) = world.rows("data")
    assert row.version_id == version_id and row.blob_path == f"inline:{row.blob_path[7:]}"
    assert stored[:4] == b"LVOB" and len(stored) == row.stored_size > size
    if size >= 64:
        assert data[:64] not in stored and data[-64:] not in stored
    assert info.size == size
    assert world.get("data", "k") == data
    if size:
        middle = ByteRange(first=size // 3, last=size - 1)
        assert world.get("data", "k", byte_range=middle) == data[size // 3 :]
        assert world.get("data", "k", byte_range=ByteRange(suffix_length=1)) == data[-1:]


def test_a_body_over_the_limit_or_of_undeclared_length_goes_to_a_blob(
    world: StorageWorld,
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    big = os.urandom(INLINE_MAX_BYTES + 1)
    _put(world, "data", "big", big)
    world.put("data", "undeclared", b"small, but of unknown length")
    assert _inline(world) == {}
    assert len(world.blobs()) == 2
    assert world.get("data", "big") == big


def test_an_overwrite_and_a_delete_take_the_inline_bytes_with_their_version(
    world: StorageWorld,
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    _put(world, "data", "a", b"one")
    first = set(_inline(world))
    _put(world, "data", "a", b"two")
    assert len(_inline(world)) == 1 and set(_inline(world)) != first
    assert world.get("data", "a") == b"two"
    # Inline over a blob, and a blob over inline: each removes the other's bytes.
    world.put("data", "a", b"three, as a blob")
    assert _inline(world) == {} and len(world.blobs()) == 1
    _put(world, "data", "a", b"four")
    assert len(_inline(world)) == 1 and world.blobs() == []
    world.storage.objects.delete_object(world.caller(), "data", "a")
    assert _inline(world) == {} and world.blobs() == []
    # The replaced blob's journal row waits for a later commit (it is already gone); inline
    # bytes never have one.
    assert not [path for path in _journal(world) if path.startswith("inline:")]


def test_versions_keep_their_inline_bytes_until_each_is_deleted(world: StorageWorld) -> None:
    buckets, objects = world.storage.buckets, world.storage.objects
    buckets.create_bucket(world.caller(), "data")
    buckets.put_bucket_versioning(world.caller(), "data", "Enabled")
    v1 = _put(world, "data", "a", b"one")
    v2 = _put(world, "data", "a", b"two")
    marker = objects.delete_object(world.caller(), "data", "a")
    assert set(_inline(world)) == {v1.version_id, v2.version_id}
    assert world.get("data", "a", version_id=v1.version_id) == b"one"
    objects.delete_object(world.caller(), "data", "a", version_id=v1.version_id)
    assert set(_inline(world)) == {v2.version_id}
    objects.delete_object(world.caller(), "data", "a", version_id=marker.version_id)
    assert world.get("data", "a") == b"two"
    objects.delete_object(world.caller(), "data", "a", version_id=v2.version_id)
    assert _inline(world) == {} and _journal(world) == []


@pytest.mark.parametrize("position", ["header", "first-chunk", "last-byte"])
def test_a_flipped_bit_in_inline_bytes_makes_reads_fail_loudly(
    world: StorageWorld, position: str
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    _put(world, "data", "k", os.urandom(40_000))
    ((version_id, stored),) = _inline(world).items()
    header_length = int.from_bytes(stored[5:7], "big")
    offset = {"header": 20, "first-chunk": header_length + 156, "last-byte": len(stored) - 1}
    flipped = bytearray(stored)
    flipped[offset[position]] ^= 0x01
    # Silent corruption in the database, as a bad disk or a hostile operator would cause.
    with world.database.session() as session:
        session.execute(
            update(models.InlineObjectData)
            .where(models.InlineObjectData.version_id == version_id)
            .values(data=bytes(flipped))
        )
    with pytest.raises(kms.IntegrityError) as failed:
        world.get("data", "k")
    assert failed.value.code == "InvalidCiphertextException"
    with pytest.raises(kms.IntegrityError):
        world.get("data", "k", byte_range=ByteRange(first=0, last=10))


def test_inline_bytes_missing_from_the_database_are_a_clear_service_error(
    world: StorageWorld,
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    _put(world, "data", "k", b"payload")
    with world.database.session() as session:
        session.execute(models.InlineObjectData.__table__.delete())
    with pytest.raises(BackendUnavailable) as failed:
        world.get("data", "k")
    assert "missing from the metadata database" in str(failed.value)
    assert failed.value.code == "ServiceUnavailable"


def test_refused_and_cut_off_puts_store_nothing(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    _put(world, "data", "a", b"kept")
    before = _inline(world)
    with pytest.raises(AccessDenied):
        _put(world, "data", "b", b"x", who=BOB)
    with pytest.raises(AccessDenied):
        _put(world, "data", "b", b"x", who=READER)
    with pytest.raises(PreconditionFailed):
        _put(world, "data", "a", b"v2", conditions=Conditions(if_none_match="*"))
    with pytest.raises(IncompleteBody):  # the body ends before its declared length
        world.put("data", "c", b"short", content_length=100)
    with pytest.raises(IncompleteBody):  # the body runs past its declared length
        world.storage.objects.put_object(
            world.caller(), "data", "d", io.BytesIO(b"x" * 200), content_length=100
        )
    assert _inline(world) == before
    assert [row.key for row in world.rows("data")] == ["a"]
    assert _journal(world) == [] and world.blobs() == []
    assert world.get("data", "a") == b"kept"


def test_a_small_copy_is_stored_inline_under_the_destination_key(world: StorageWorld) -> None:
    buckets = world.storage.buckets
    buckets.create_bucket(world.caller(), "source")
    target = buckets.create_bucket(world.caller(), "target")
    world.put("source", "a", b"copied bytes")  # a blob: its length was not declared
    world.storage.objects.copy_object(
        world.caller(), source_bucket="source", source_key="a", bucket="target", key="b"
    )
    (row,) = world.rows("target")
    assert row.blob_path is not None and row.blob_path.startswith("inline:")
    assert row.kms_key_id == target.kms_key_id
    assert set(_inline(world)) == {row.version_id}
    assert world.get("target", "b") == b"copied bytes"


def test_the_schema_downgrade_refuses_to_destroy_inline_bytes(world: StorageWorld) -> None:
    # Downgrading past v001 drops the table; while it holds an object's only copy, it refuses.
    config = Config()
    config.set_main_option("script_location", str(resources.files("lakevault.db") / "migrations"))
    config.attributes["database"] = world.database
    world.storage.buckets.create_bucket(world.caller(), "data")
    _put(world, "data", "k", b"the only copy")
    with pytest.raises(RuntimeError, match="would destroy them"):
        command.downgrade(config, "t001")
    assert world.get("data", "k") == b"the only copy"
    world.storage.objects.delete_object(world.caller(), "data", "k")
    command.downgrade(config, "t001")
    assert current_revision(world.database) == "t001"
