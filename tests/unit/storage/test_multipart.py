"""Multipart uploads: parts encrypted as they arrive, an atomic complete, abort and cleanup, and
every denial (docs/decisions/0160). On both databases and both backends (conftest.py)."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from lakevault import iam, kms
from lakevault.core import SystemRandom
from lakevault.core.errors import AccessDenied, InvalidParameterValue, InvalidRequest, NoSuchKey
from lakevault.db import Database, models
from lakevault.gate import Gate
from lakevault.keys import KeyCall, KeyService
from lakevault.storage import (
    BucketNotEmpty,
    ByteRange,
    CompletedPart,
    Conditions,
    DefaultRetention,
    EntityTooLarge,
    IncompleteBody,
    InvalidPart,
    MultipartUploadDataKeys,
    NoSuchUpload,
    ObjectBackend,
    ObjectLockConfiguration,
    ObjectLocked,
    ObjectStorage,
    PartInfo,
    PreconditionFailed,
    RetentionMode,
    abort_after_days,
    abort_stale_uploads,
    multipart_etag,
)
from tests.unit.storage.conftest import (
    ALICE,
    BOB,
    CAROL,
    READER,
    ROOT_KEY,
    TENANT_B,
    StaticPolicies,
    StorageWorld,
    allow,
    build_storage_world,
    principal,
)

#: Small parts keep the tests fast; the rule is the same as S3's 5 MiB.
MIN_PART = 40_000


KEY_ADMIN = principal(ALICE.account_id, "keyadmin")  # kms:* in tenant A: rotates, rewraps


@pytest.fixture
def world(database: Database, backend: ObjectBackend) -> StorageWorld:
    """The storage world of conftest.py with a 40,000-byte minimum part size and a key admin."""
    base = build_storage_world(database, backend)
    random = SystemRandom()
    policies = StaticPolicies(
        {
            ALICE.arn: (allow("s3:*", "lakevault:PutBucketStreamingLimits", policy_id="alice-s3"),),
            READER.arn: (allow("s3:GetObject", "s3:ListBucket", policy_id="reader-s3"),),
            CAROL.arn: (allow("s3:*", policy_id="carol-s3"),),
            KEY_ADMIN.arn: (allow("kms:*", policy_id="keyadmin-kms"),),
        }
    )
    base.gate = Gate(
        engine=iam.Evaluator(),
        policies=policies,
        audit=base.audit,
        clock=base.clock,
        random=random,
        region="local",
    )
    base.keys = KeyService(
        database=database,
        gate=base.gate,
        audit=base.audit,
        wrapper=kms.PlatformTenantKeyWrapper(lambda: ROOT_KEY, random=random),
        clock=base.clock,
        random=random,
        region="local",
    )
    base.storage = ObjectStorage(
        database=database,
        gate=base.gate,
        keys=base.keys,
        backend=backend,
        clock=base.clock,
        random=random,
        region="local",
        multipart_min_part_bytes=MIN_PART,
    )
    base.storage.buckets.create_bucket(base.caller(), "data")
    return base


def _upload(world: StorageWorld, key: str = "big.bin", **options: object) -> str:
    return world.storage.multipart.create_upload(world.caller(), "data", key, **options).upload_id  # type: ignore[arg-type]


def _part(
    world: StorageWorld,
    upload_id: str,
    number: int,
    data: bytes,
    *,
    bucket: str = "data",
    **kw: object,
) -> PartInfo:
    return world.storage.multipart.upload_part(
        world.caller(kw.pop("who", ALICE)),  # type: ignore[arg-type]
        bucket,
        upload_id,
        number,
        io.BytesIO(data),
        content_length=len(data),
    )


def _complete(world: StorageWorld, upload_id: str, parts: list[PartInfo], **kw: object):  # type: ignore[no-untyped-def]
    return world.storage.multipart.complete_upload(
        world.caller(kw.pop("who", ALICE)),  # type: ignore[arg-type]
        kw.pop("bucket", "data"),  # type: ignore[arg-type]
        upload_id,
        [CompletedPart(part_number=p.part_number, etag=p.etag) for p in parts],
        **kw,  # type: ignore[arg-type]
    )


def _uploaded(world: StorageWorld, sizes: tuple[int, ...] = (MIN_PART + 7, MIN_PART, 1234)):
    """An upload with parts 1..n of these sizes; returns (upload id, parts, the whole bytes)."""
    upload_id = _upload(world, content_type="application/x-test", metadata={"owner": "red"})
    chunks = [os.urandom(size) for size in sizes]
    parts = [_part(world, upload_id, number, data) for number, data in enumerate(chunks, 1)]
    return upload_id, parts, b"".join(chunks)


def _journal(world: StorageWorld) -> list[str]:
    with world.database.read_session() as session:
        return list(session.scalars(select(models.BlobJournal.blob_path)))


def _uploads(world: StorageWorld) -> list[models.MultipartUpload]:
    with world.database.read_session() as session:
        return list(session.scalars(select(models.MultipartUpload)))


def _part_rows(world: StorageWorld) -> list[models.MultipartPart]:
    with world.database.read_session() as session:
        return list(
            session.scalars(select(models.MultipartPart).order_by(models.MultipartPart.part_number))
        )


# -- the happy path ---------------------------------------------------------------------------


def test_parts_complete_into_one_object_that_reads_back_and_is_stored_encrypted(
    world: StorageWorld,
) -> None:
    upload_id, parts, whole = _uploaded(world)
    for part, data in zip(parts, (whole[: MIN_PART + 7],), strict=False):
        assert part.etag == f'"{hashlib.sha256(data).hexdigest()[:32]}"'
    info = _complete(world, upload_id, parts)

    assert info.size == len(whole)
    expected_etag, composite = multipart_etag([p.sha256 for p in parts])
    assert info.etag == expected_etag and info.etag.endswith('-3"')
    assert info.sha256 == composite
    assert info.content_type == "application/x-test"
    assert dict(info.metadata) == {"owner": "red"}
    assert world.get("data", "big.bin") == whole
    head = world.storage.objects.head_object(world.caller(), "data", "big.bin")
    assert (head.size, head.etag) == (len(whole), info.etag)
    # Three blobs, one per part, under the version's prefix; ciphertext only.
    blobs = world.blobs()
    assert len(blobs) == 3
    (row,) = world.rows("data")
    assert row.blob_path is not None and row.blob_path.endswith("/")
    assert all(blob.startswith(row.blob_path) for blob in blobs)
    for blob in blobs:
        stored = world.backend.read_range(blob, 0, world.backend.size(blob))
        assert stored[:4] == b"LVOB"
        assert whole[:64] not in stored and whole[-64:] not in stored
    assert _uploads(world) == [] and _journal(world) == []
    assert [(p.part_number, p.offset) for p in _part_rows(world)] == [
        (1, 0),
        (2, MIN_PART + 7),
        (3, 2 * MIN_PART + 7),
    ]
    # Each operation is named as in CloudTrail: its gate decision and its change event.
    names = [e["eventName"] for e in world.events() if not e.get("readOnly")]
    assert names.count("CreateMultipartUpload") == 2
    assert names.count("UploadPart") == 6  # three parts
    assert names.count("CompleteMultipartUpload") == 2
    assert "PutObject" not in names


@pytest.mark.parametrize(
    "byte_range",
    [
        ByteRange(first=0, last=9),
        ByteRange(first=MIN_PART, last=MIN_PART + 20),  # across the first boundary
        ByteRange(first=MIN_PART + 7, last=2 * MIN_PART + 6),  # exactly part 2
        ByteRange(first=100, last=2 * MIN_PART + 500),  # three parts
        ByteRange(first=2 * MIN_PART + 10),  # inside the last part to the end
        ByteRange(suffix_length=5000),  # the last part and a piece of the second
    ],
)
def test_range_reads_decrypt_only_what_they_cover_across_parts(
    world: StorageWorld, byte_range: ByteRange
) -> None:
    upload_id, parts, whole = _uploaded(world)
    _complete(world, upload_id, parts)
    offset, length = byte_range.resolve(len(whole))
    download = world.storage.objects.open_object(
        world.caller(), "data", "big.bin", byte_range=byte_range
    )
    assert (download.offset, download.length) == (offset, length)
    assert download.read_all() == whole[offset : offset + length]


def test_uploading_a_part_number_again_replaces_it(world: StorageWorld) -> None:
    upload_id = _upload(world)
    first = _part(world, upload_id, 1, os.urandom(MIN_PART))
    old_blobs = world.blobs()
    replacement = os.urandom(MIN_PART + 1)
    second = _part(world, upload_id, 1, replacement)
    assert first.etag != second.etag
    assert len(world.blobs()) == 1 and world.blobs() != old_blobs
    page = world.storage.multipart.list_parts(world.caller(), "data", upload_id)
    assert [(p.part_number, p.etag) for p in page.parts] == [(1, second.etag)]
    with pytest.raises(InvalidPart):  # the replaced part's ETag no longer completes
        _complete(world, upload_id, [first])
    _complete(world, upload_id, [second])
    assert world.get("data", "big.bin") == replacement


def test_parts_left_out_of_the_complete_are_deleted(world: StorageWorld) -> None:
    upload_id, parts, _whole = _uploaded(world)
    _complete(world, upload_id, [parts[0], parts[2]])
    assert len(world.blobs()) == 2
    assert [p.part_number for p in _part_rows(world)] == [1, 3]
    assert _journal(world) == []


def test_list_parts_and_list_uploads_page(world: StorageWorld) -> None:
    upload_id, parts, _ = _uploaded(world)
    page = world.storage.multipart.list_parts(world.caller(), "data", upload_id, max_parts=2)
    assert [p.part_number for p in page.parts] == [1, 2]
    assert page.is_truncated and page.next_part_number_marker == 2
    rest = world.storage.multipart.list_parts(
        world.caller(), "data", upload_id, part_number_marker=2
    )
    assert [p.part_number for p in rest.parts] == [3] and not rest.is_truncated
    assert [p.size for p in (*page.parts, *rest.parts)] == [p.size for p in parts]

    others = [_upload(world, key) for key in ("logs/a", "logs/b", "logs/b", "zeta")]
    listed = world.storage.multipart.list_uploads(world.caller(), "data", prefix="logs/")
    assert [u.key for u in listed.uploads] == ["logs/a", "logs/b", "logs/b"]
    assert {u.upload_id for u in listed.uploads} == set(others[:3])
    assert all(u.initiator_arn == ALICE.arn for u in listed.uploads)
    first = world.storage.multipart.list_uploads(world.caller(), "data", max_uploads=2)
    assert first.is_truncated and [u.key for u in first.uploads] == ["big.bin", "logs/a"]
    second = world.storage.multipart.list_uploads(
        world.caller(),
        "data",
        key_marker=first.next_key_marker,
        upload_id_marker=first.next_upload_id_marker,
    )
    assert [u.key for u in second.uploads] == ["logs/b", "logs/b", "zeta"]


def test_versioning_keeps_the_replaced_version(world: StorageWorld) -> None:
    world.storage.buckets.put_bucket_versioning(world.caller(), "data", "Enabled")
    old = world.put("data", "big.bin", b"the old bytes")
    upload_id, parts, whole = _uploaded(world)
    info = _complete(world, upload_id, parts)
    assert info.version_id is not None and info.version_id != old.version_id
    assert world.get("data", "big.bin") == whole
    assert world.get("data", "big.bin", version_id=old.version_id) == b"the old bytes"
    # Deleting the multipart version for good removes its part blobs and rows.
    world.storage.objects.delete_object(
        world.caller(), "data", "big.bin", version_id=info.version_id
    )
    assert world.get("data", "big.bin") == b"the old bytes"
    assert len(world.blobs()) == 1 and _part_rows(world) == [] and _journal(world) == []


def test_overwriting_an_unversioned_multipart_object_removes_its_parts(
    world: StorageWorld,
) -> None:
    upload_id, parts, _ = _uploaded(world)
    _complete(world, upload_id, parts)
    world.put("data", "big.bin", b"small now")
    assert world.get("data", "big.bin") == b"small now"
    assert len(world.blobs()) == 1
    # Whatever path removed the parts' blobs, the cleanup leaves no row of them behind.
    world.clock.advance(seconds=1)
    world.storage.objects.sweep_orphans(older_than=timedelta(0))
    abort_stale_uploads(world.database, world.backend, world.clock, older_than=timedelta(days=7))
    assert len(world.blobs()) == 1 and _part_rows(world) == [] and _journal(world) == []


def test_if_none_match_on_complete_refuses_an_existing_key_and_keeps_the_upload(
    world: StorageWorld,
) -> None:
    world.put("data", "big.bin", b"already here")
    upload_id, parts, whole = _uploaded(world)
    with pytest.raises(PreconditionFailed):
        _complete(world, upload_id, parts, conditions=Conditions(if_none_match="*"))
    assert world.get("data", "big.bin") == b"already here"
    assert len(_uploads(world)) == 1
    _complete(world, upload_id, parts)
    assert world.get("data", "big.bin") == whole


def test_a_copy_of_a_multipart_object_is_a_single_object_under_a_new_key(
    world: StorageWorld,
) -> None:
    upload_id, parts, whole = _uploaded(world)
    _complete(world, upload_id, parts)
    copy = world.storage.objects.copy_object(
        world.caller(), source_bucket="data", source_key="big.bin", bucket="data", key="copy"
    )
    assert copy.sha256 == hashlib.sha256(whole).hexdigest()
    assert world.get("data", "copy") == whole


# -- abort and cleanup ------------------------------------------------------------------------


def test_abort_removes_every_part_blob_and_row_and_the_wrapped_key(world: StorageWorld) -> None:
    upload_id, _parts, _ = _uploaded(world)
    world.storage.multipart.abort_upload(world.caller(), "data", upload_id)
    assert world.blobs() == [] and _uploads(world) == [] and _part_rows(world) == []
    assert _journal(world) == []
    with pytest.raises(NoSuchUpload):
        _part(world, upload_id, 4, b"late")
    with pytest.raises(NoSuchUpload):
        world.storage.multipart.abort_upload(world.caller(), "data", upload_id)
    assert "AbortMultipartUpload" in {e["eventName"] for e in world.events()}


def test_cleanup_aborts_old_uploads_and_keeps_young_ones(world: StorageWorld) -> None:
    old_id, _, _ = _uploaded(world, (MIN_PART, 10))
    world.clock.advance(seconds=6 * 86400)
    young_id = _upload(world, "young")
    _part(world, young_id, 1, b"young bytes")
    world.clock.advance(seconds=86401)

    removed = abort_stale_uploads(
        world.database, world.backend, world.clock, older_than=timedelta(days=7)
    )
    assert removed == 1
    assert [u.upload_id for u in _uploads(world)] == [young_id]
    assert len(world.blobs()) == 1 and len(_part_rows(world)) == 1
    with pytest.raises(NoSuchUpload):
        _part(world, old_id, 1, b"x")


def test_cleanup_follows_the_buckets_lifecycle_rule_for_the_key(world: StorageWorld) -> None:
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "data",
        {
            "Rules": [
                {
                    "ID": "tmp-uploads",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "tmp/"},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
    )
    quick = _upload(world, "tmp/scratch")
    _part(world, quick, 1, b"scratch")
    slow = _upload(world, "keep/this")
    world.clock.advance(seconds=2 * 86400)
    removed = abort_stale_uploads(
        world.database,
        world.backend,
        world.clock,
        older_than=timedelta(days=7),
        rule_days=lambda bucket, key: abort_after_days(world.database, bucket, key),
    )
    assert removed == 1
    assert [u.upload_id for u in _uploads(world)] == [slow]
    assert world.blobs() == [] and _part_rows(world) == [] and _journal(world) == []
    assert quick != slow


def test_a_bucket_with_uploads_in_progress_is_not_empty(world: StorageWorld) -> None:
    upload_id = _upload(world)
    with pytest.raises(BucketNotEmpty):
        world.storage.buckets.delete_bucket(world.caller(), "data")
    world.storage.multipart.abort_upload(world.caller(), "data", upload_id)
    world.storage.buckets.delete_bucket(world.caller(), "data")


# -- keys -------------------------------------------------------------------------------------


def test_an_upload_has_one_data_key_and_a_part_blob_moved_elsewhere_does_not_decrypt(
    world: StorageWorld,
) -> None:
    upload_id, parts, _ = _uploaded(world, (MIN_PART, MIN_PART))
    (upload,) = _uploads(world)
    _complete(world, upload_id, parts)
    (row,) = world.rows("data")
    assert row.wrapped_data_key == upload.wrapped_data_key  # the version's one data key
    first, second = sorted(world.blobs())
    # Swap the two parts' bytes: each header binds its part number, so neither decrypts.
    data_first = world.backend.read_range(first, 0, world.backend.size(first))
    data_second = world.backend.read_range(second, 0, world.backend.size(second))
    for path, data in ((first, data_second), (second, data_first)):
        world.backend.delete(path)
        writer = world.backend.open_write(path)
        writer.write(memoryview(data))
        writer.commit()
    with pytest.raises(kms.IntegrityError):
        world.get("data", "big.bin")


def test_a_flipped_bit_in_a_part_fails_the_read(world: StorageWorld) -> None:
    upload_id, parts, _ = _uploaded(world)
    _complete(world, upload_id, parts)
    blob = sorted(world.blobs())[1]
    data = bytearray(world.backend.read_range(blob, 0, world.backend.size(blob)))
    data[len(data) // 2] ^= 1
    world.backend.delete(blob)
    writer = world.backend.open_write(blob)
    writer.write(memoryview(bytes(data)))
    writer.commit()
    with pytest.raises(kms.IntegrityError):
        world.get("data", "big.bin")
    with pytest.raises(kms.IntegrityError):  # a range over the flipped chunk
        world.get(
            "data", "big.bin", byte_range=ByteRange(first=MIN_PART + 18_000, last=MIN_PART + 22_000)
        )
    # A range in the part's good chunks still reads: only what it covers is decrypted.
    assert world.get(
        "data", "big.bin", byte_range=ByteRange(first=MIN_PART + 100, last=MIN_PART + 200)
    )


def test_rewrap_moves_an_upload_in_progress_and_it_still_completes(
    world: StorageWorld,
) -> None:
    upload_id, parts, whole = _uploaded(world, (MIN_PART, MIN_PART + 99))
    (upload,) = _uploads(world)
    call = KeyCall(principal=KEY_ADMIN, request_id="req-rotate")
    world.keys.rotate_key_on_demand(call, upload.kms_key_id)
    progress = world.keys.rewrap_data_keys(
        call, upload.kms_key_id, MultipartUploadDataKeys(world.database)
    )
    assert (progress.rewrapped, progress.failed) == (1, 0)
    (moved,) = _uploads(world)
    assert moved.key_version == 2 and moved.wrapped_data_key != upload.wrapped_data_key
    last = _part(world, upload_id, 3, b"after the rewrap")
    _complete(world, upload_id, [*parts, last])
    assert world.get("data", "big.bin") == whole + b"after the rewrap"
    (row,) = world.rows("data")
    assert row.key_version == 2


# -- refusals ---------------------------------------------------------------------------------


def test_callers_without_permission_are_refused_every_operation(world: StorageWorld) -> None:
    upload_id, parts, _ = _uploaded(world)
    blobs, rows = world.blobs(), [(p.part_number, p.etag) for p in _part_rows(world)]
    mp = world.storage.multipart
    for who in (BOB, READER, CAROL):
        with pytest.raises(AccessDenied) as denied:
            mp.create_upload(world.caller(who), "data", "other")
        assert denied.value.code == "AccessDenied"
        with pytest.raises(AccessDenied):
            _part(world, upload_id, 4, b"sneaky", who=who)
        with pytest.raises(AccessDenied):
            _complete(world, upload_id, parts, who=who)
        with pytest.raises(AccessDenied):
            mp.abort_upload(world.caller(who), "data", upload_id)
        with pytest.raises(AccessDenied):
            mp.list_parts(world.caller(who), "data", upload_id)
        with pytest.raises(AccessDenied):
            mp.list_uploads(world.caller(who), "data")
    assert world.blobs() == blobs
    assert [(p.part_number, p.etag) for p in _part_rows(world)] == rows
    assert len(_uploads(world)) == 1 and world.rows("data") == []
    denials = [e for e in world.events() if e.get("errorCode") == "AccessDenied"]
    # Named after the operation; the message names the IAM action the gate decided.
    assert {
        (e["eventName"], e["errorMessage"].split("perform: ")[1].split()[0]) for e in denials
    } == {
        ("CreateMultipartUpload", "s3:PutObject"),
        ("UploadPart", "s3:PutObject"),
        ("CompleteMultipartUpload", "s3:PutObject"),
        ("AbortMultipartUpload", "s3:AbortMultipartUpload"),
        ("ListParts", "s3:ListMultipartUploadParts"),
        ("ListMultipartUploads", "s3:ListBucketMultipartUploads"),
    }
    assert any(e.get("errorCode") == "AccessDenied" for e in world.events(TENANT_B))


def test_a_policy_scoped_to_one_action_allows_only_that_action(world: StorageWorld) -> None:
    """READER may list the bucket but not its uploads; ALICE's s3:* allows all four actions."""
    upload_id, _, _ = _uploaded(world, (10,))
    with pytest.raises(AccessDenied):
        world.storage.multipart.list_uploads(world.caller(READER), "data")
    assert world.storage.multipart.list_parts(world.caller(), "data", upload_id).parts


def test_an_upload_id_of_another_bucket_or_an_unknown_one_is_no_such_upload(
    world: StorageWorld,
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "other")
    upload_id, parts, _ = _uploaded(world)
    mp = world.storage.multipart
    for bucket, upload in (("other", upload_id), ("data", "0" * 48)):
        with pytest.raises(NoSuchUpload) as missing:
            _part(world, upload, 4, b"x", bucket=bucket)
        assert missing.value.code == "NoSuchUpload" and missing.value.http_status == 404
        with pytest.raises(NoSuchUpload):
            _complete(world, upload, parts, bucket=bucket)
        with pytest.raises(NoSuchUpload):
            mp.abort_upload(world.caller(), bucket, upload)
        with pytest.raises(NoSuchUpload):
            mp.list_parts(world.caller(), bucket, upload)
    assert len(_uploads(world)) == 1 and len(_part_rows(world)) == 3


def test_complete_refuses_a_wrong_etag_a_missing_part_and_an_empty_list(
    world: StorageWorld,
) -> None:
    upload_id, parts, whole = _uploaded(world)
    wrong = PartInfo(
        part_number=2,
        size=parts[1].size,
        etag='"' + "0" * 32 + '"',
        sha256="",
        last_modified=parts[1].last_modified,
    )
    with pytest.raises(InvalidPart) as refused:
        _complete(world, upload_id, [parts[0], wrong, parts[2]])
    assert refused.value.code == "InvalidPart"
    missing = PartInfo(
        part_number=7, size=1, etag=parts[2].etag, sha256="", last_modified=parts[2].last_modified
    )
    with pytest.raises(InvalidPart):
        _complete(world, upload_id, [parts[0], missing])
    with pytest.raises(InvalidRequest):
        _complete(world, upload_id, [])
    assert world.rows("data") == [] and len(_uploads(world)) == 1 and len(world.blobs()) == 3
    assert _complete(world, upload_id, parts).size == len(whole)


def test_complete_refuses_parts_out_of_order_or_repeated(world: StorageWorld) -> None:
    upload_id, parts, _ = _uploaded(world)
    for order in ([parts[1], parts[0], parts[2]], [parts[0], parts[0], parts[2]]):
        with pytest.raises(InvalidPart) as refused:
            _complete(world, upload_id, order)
        assert refused.value.code == "InvalidPartOrder"
    assert world.rows("data") == [] and len(_uploads(world)) == 1


def test_complete_refuses_a_part_under_the_minimum_unless_it_is_the_last(
    world: StorageWorld,
) -> None:
    upload_id, parts, _ = _uploaded(world, (MIN_PART, MIN_PART - 1, 5))
    with pytest.raises(InvalidPart) as refused:
        _complete(world, upload_id, parts)
    assert refused.value.code == "EntityTooSmall"
    assert "40000" in refused.value.message
    assert world.rows("data") == [] and len(_uploads(world)) == 1
    _complete(world, upload_id, parts[:2])  # the short part is the last one now


@pytest.mark.parametrize("number", [0, -1, 10_001])
def test_part_numbers_outside_one_to_ten_thousand_are_refused(
    world: StorageWorld, number: int
) -> None:
    upload_id = _upload(world)
    with pytest.raises(InvalidParameterValue) as refused:
        _part(world, upload_id, number, b"x")
    assert refused.value.code == "InvalidArgument"
    assert world.blobs() == [] and _part_rows(world) == []


def test_a_part_cut_off_mid_stream_stores_nothing(world: StorageWorld) -> None:
    upload_id = _upload(world)
    with pytest.raises(IncompleteBody) as cut:
        world.storage.multipart.upload_part(
            world.caller(), "data", upload_id, 1, io.BytesIO(b"short"), content_length=100
        )
    assert cut.value.code == "IncompleteBody"
    assert world.blobs() == [] and _part_rows(world) == [] and _journal(world) == []


def test_nothing_is_visible_before_the_complete(world: StorageWorld) -> None:
    _uploaded(world)
    page = world.storage.list_objects(world.caller(), "data")
    assert page.objects == ()
    with pytest.raises(NoSuchKey):
        world.get("data", "big.bin")


def test_complete_gives_the_new_version_the_buckets_default_retention(
    world: StorageWorld,
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "locked", object_lock_enabled=True)
    world.storage.lock.put_object_lock_configuration(
        world.caller(),
        "locked",
        ObjectLockConfiguration(
            default_retention=DefaultRetention(mode=RetentionMode.COMPLIANCE, days=1)
        ),
    )
    mp = world.storage.multipart
    upload_id = mp.create_upload(world.caller(), "locked", "kept").upload_id
    part = _part(world, upload_id, 1, b"worm bytes", bucket="locked")
    info = _complete(world, upload_id, [part], bucket="locked")
    retention = world.storage.lock.get_object_retention(world.caller(), "locked", "kept")
    assert retention.mode is RetentionMode.COMPLIANCE
    with pytest.raises(ObjectLocked):
        world.storage.objects.delete_object(
            world.caller(), "locked", "kept", version_id=info.version_id
        )
    assert world.get("locked", "kept") == b"worm bytes"


def test_the_buckets_largest_object_holds_for_parts_and_for_the_whole(
    world: StorageWorld,
) -> None:
    upload_id, parts, _ = _uploaded(world, (MIN_PART, MIN_PART, 10))
    world.storage.limits.put_limits(world.caller(), "data", max_object_bytes=2 * MIN_PART)
    with pytest.raises(EntityTooLarge):
        _complete(world, upload_id, parts)
    with pytest.raises(EntityTooLarge):
        _part(world, upload_id, 4, os.urandom(2 * MIN_PART + 1))
    assert world.rows("data") == [] and len(_uploads(world)) == 1
    assert _complete(world, upload_id, parts[:2]).size == 2 * MIN_PART


def test_upload_part_copy_takes_a_part_from_an_existing_object_or_a_range_of_it(
    world: StorageWorld,
) -> None:
    source = os.urandom(3 * MIN_PART)
    world.put("data", "source", source)
    mp = world.storage.multipart
    upload_id = _upload(world)
    first = mp.upload_part_copy(
        world.caller(),
        "data",
        upload_id,
        1,
        source_bucket="data",
        source_key="source",
        byte_range=ByteRange(first=MIN_PART, last=2 * MIN_PART - 1),
    )
    assert first.size == MIN_PART
    assert first.etag == f'"{hashlib.sha256(source[MIN_PART : 2 * MIN_PART]).hexdigest()[:32]}"'
    last = _part(world, upload_id, 2, b"tail")
    _complete(world, upload_id, [first, last])
    assert world.get("data", "big.bin") == source[MIN_PART : 2 * MIN_PART] + b"tail"
    # The source's reader and the upload's writer must both be allowed.
    other = _upload(world, "other")
    with pytest.raises(AccessDenied):
        mp.upload_part_copy(
            world.caller(READER), "data", other, 1, source_bucket="data", source_key="source"
        )
    with pytest.raises(AccessDenied):
        mp.upload_part_copy(
            world.caller(CAROL), "data", other, 1, source_bucket="data", source_key="source"
        )
    assert mp.list_parts(world.caller(), "data", other).parts == ()


def test_every_multipart_operation_is_audited_under_its_own_name(world: StorageWorld) -> None:
    """CloudTrail's event names, each with the IAM action AWS decides it with (ADR 0186)."""
    world.put("data", "source", b"s" * MIN_PART)
    upload_id, parts, _ = _uploaded(world, (MIN_PART,))
    copied = world.storage.multipart.upload_part_copy(
        world.caller(), "data", upload_id, 2, source_bucket="data", source_key="source"
    )
    world.storage.multipart.list_parts(world.caller(), "data", upload_id)
    world.storage.multipart.list_uploads(world.caller(), "data")
    _complete(world, upload_id, [*parts, copied])
    second = _upload(world, key="dropped")
    world.storage.multipart.abort_upload(world.caller(), "data", second)
    events = [e for e in world.events() if e["eventSource"] == "s3.amazonaws.com"]
    by_name: dict[str, list[dict[str, object]]] = {}
    for event in events:
        by_name.setdefault(str(event["eventName"]), []).append(event)
    for name in (
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
    ):
        kinds = sorted(
            bool(e.get("additionalEventData", {}).get("stateChange")) for e in by_name[name]
        )  # type: ignore[attr-defined]
        assert True in kinds and False in kinds, name  # the decision and the change
    for name in ("ListParts", "ListMultipartUploads"):
        assert [e["readOnly"] for e in by_name[name]] == [True]
    part_copy = [e for e in by_name["UploadPartCopy"] if e.get("responseElements")]
    assert part_copy[0]["requestParameters"]["partNumber"] == 2  # type: ignore[index]
    # The source of UploadPartCopy is read under its own decision, s3:GetObject.
    assert any(e["resources"][0]["ARN"].endswith("/source") for e in by_name["GetObject"])  # type: ignore[index]
    assert "PutObject" in by_name  # only the plain PUT of the source
    assert len(by_name["PutObject"]) == 2
