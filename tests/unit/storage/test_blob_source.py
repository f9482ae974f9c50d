"""One ``BlobSource`` serves range reads of whole objects and of multipart parts: a blob the
metadata names but the store lost is ``BackendUnavailable`` naming it — on both backends."""

from __future__ import annotations

import io

import pytest

from lakevault.storage import BackendUnavailable, ByteRange, CompletedPart
from tests.unit.storage.conftest import StorageWorld


def _lose_every_blob(w: StorageWorld) -> None:
    for path in w.blobs():
        w.backend.delete(path)


def test_a_lost_blob_of_an_object_fails_its_range_read_loudly(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "lost")
    world.put("lost", "doc", b"d" * 100_000)
    _lose_every_blob(world)
    download = world.storage.objects.open_object(
        world.caller(), "lost", "doc", byte_range=ByteRange(first=10, last=20)
    )
    with pytest.raises(BackendUnavailable) as lost:
        download.read_all()
    assert "the stored bytes of an object version (" in str(lost.value)


def test_a_lost_blob_of_a_part_fails_its_range_read_loudly(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "lost")
    multipart = world.storage.multipart
    upload = multipart.create_upload(world.caller(), "lost", "big")
    part = multipart.upload_part(
        world.caller(), "lost", upload.upload_id, 1, io.BytesIO(b"p" * 5000)
    )
    multipart.complete_upload(
        world.caller(),
        "lost",
        upload.upload_id,
        [CompletedPart(part_number=1, etag=part.etag)],
    )
    _lose_every_blob(world)
    download = world.storage.objects.open_object(
        world.caller(), "lost", "big", byte_range=ByteRange(first=10, last=20)
    )
    with pytest.raises(BackendUnavailable) as lost:
        download.read_all()
    assert "the stored bytes of a part of an object version (" in str(lost.value)
