"""Faults: cut-off uploads, flipped bits, a full disk, and crashes between blob and metadata."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from lakevault import kms
from lakevault.db import Database, models
from lakevault.storage import ByteRange, IncompleteBody, LocalBackend, StorageFull
from tests.unit.storage.conftest import StorageWorld, build_storage_world


class _CutOff:
    """A body that delivers ``limit`` bytes and then breaks, like a dropped connection."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._data = io.BytesIO(data)
        self._left = limit

    def readinto(self, buffer: memoryview) -> int:
        if self._left <= 0:
            raise ConnectionResetError("client went away")
        count = self._data.readinto(buffer[: self._left])
        self._left -= count
        return count


@pytest.mark.parametrize("limit", [10, 700_000])
def test_an_upload_cut_off_mid_stream_leaves_nothing_visible(
    world: StorageWorld, limit: int
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "cut")
    world.put("cut", "k", b"old version")
    with pytest.raises(ConnectionResetError):
        world.storage.objects.put_object(
            world.caller(), "cut", "k", _CutOff(os.urandom(2_000_000), limit)
        )
    assert world.get("cut", "k") == b"old version"
    assert len(world.blobs()) == 1
    assert len(world.rows("cut")) == 1


def test_a_body_shorter_than_its_declared_length_is_refused(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "short")
    with pytest.raises(IncompleteBody):
        world.put("short", "k", b"12345", content_length=10)
    with pytest.raises(IncompleteBody):
        world.put("short", "k", b"12345", content_length=3)
    assert world.rows("short") == [] and world.blobs() == []


@pytest.mark.parametrize("position", ["header", "salt", "first-chunk", "last-chunk"])
def test_a_flipped_bit_makes_reads_fail_loudly(world: StorageWorld, position: str) -> None:
    world.storage.buckets.create_bucket(world.caller(), "flip")
    data = os.urandom(100_000)
    world.put("flip", "k", data)
    (blob,) = world.blobs()
    stored = bytearray(world.backend.read_range(blob, 0, world.backend.size(blob)))
    header_length = int.from_bytes(stored[5:7], "big")
    offset = {
        "header": 20,
        "salt": header_length + 3,
        "first-chunk": header_length + 56 + 100,
        "last-chunk": len(stored) - 5,
    }[position]
    stored[offset] ^= 0x01
    writer = world.backend.open_write(blob + ".tmp")
    writer.write(memoryview(bytes(stored)))
    writer.commit()
    # Replace the blob in place, as silent corruption in the store would.
    if isinstance(world.backend, LocalBackend):
        os.replace(world.backend.root / (blob + ".tmp"), world.backend.root / blob)
    else:
        world.backend.delete(blob)
        rewrite = world.backend.open_write(blob)
        rewrite.write(memoryview(bytes(stored)))
        rewrite.commit()
        world.backend.delete(blob + ".tmp")
    with pytest.raises(kms.IntegrityError) as failed:
        world.get("flip", "k")
    assert failed.value.code == "InvalidCiphertextException"
    with pytest.raises(kms.IntegrityError):
        world.get("flip", "k", byte_range=ByteRange(first=0, last=10))


def test_a_crash_between_blob_and_metadata_leaves_an_orphan_the_sweep_removes(
    world: StorageWorld,
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "crash")
    world.put("crash", "k", b"committed")
    # What a crash after the blob write and before the metadata commit leaves behind: a blob and
    # its journal row, and no version.
    orphan = "111111111111/crash/" + "f" * 32
    writer = world.backend.open_write(orphan)
    writer.write(memoryview(b"LVOB partial"))
    writer.commit()
    with world.database.session() as session:
        session.add(
            models.BlobJournal(
                blob_path=orphan, bucket_name="crash", state="writing", created_at=world.clock.now()
            )
        )
    assert orphan in world.blobs()
    assert world.storage.objects.sweep_orphans(older_than=timedelta(hours=1)) == 0
    world.clock.advance(seconds=2 * 3600)
    assert world.storage.objects.sweep_orphans(older_than=timedelta(hours=1)) == 1
    assert orphan not in world.blobs()
    assert world.get("crash", "k") == b"committed"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (needs root to mount); skips with the reason when it cannot be made."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(
            "a full-disk test needs a small file system: mounting a 3 MiB tmpfs failed "
            f"({result.stderr.decode(errors='replace').strip()}); run the tests as root"
        )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_gives_a_clear_error_and_keeps_existing_objects(
    small_disk: Path, tmp_path: Path
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'metadata.db'}")
    from lakevault.db import upgrade

    upgrade(database)
    world = build_storage_world(database, LocalBackend(small_disk / "objects"))
    world.storage.buckets.create_bucket(world.caller(), "full")
    kept = os.urandom(1_000_000)
    world.put("full", "kept", kept)
    with pytest.raises(StorageFull) as full:
        world.put("full", "too-big", os.urandom(4_000_000))
    assert full.value.code == "InsufficientStorage"
    assert full.value.http_status == 507
    assert "no space left" in full.value.message
    with pytest.raises(StorageFull):
        world.put("full", "kept", os.urandom(4_000_000))
    assert world.get("full", "kept") == kept
    assert [row.key for row in world.rows("full")] == ["kept"]
    assert len(world.blobs()) == 1
    # No partial blob of the refused uploads is left on the full disk (ADR 0271: written under
    # their own names, removed on failure).
    files = [p for p in (small_disk / "objects").rglob("*") if p.is_file()]
    assert len(files) == 1
    database.dispose()
