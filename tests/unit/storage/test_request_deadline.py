"""A bucket's maximum request duration (docs/decisions/0185): a slow upload, part upload or
download is cut with ``RequestTimeout`` and leaves nothing behind; setting it is
``lakevault:PutBucketStreamingLimits`` — on both backends and both databases, in real time."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from lakevault.core.errors import AccessDenied, InvalidParameterValue, NoSuchKey
from lakevault.db import models
from lakevault.storage import (
    KEEP_LIMIT,
    MAX_REQUEST_SECONDS,
    RequestTimeout,
    StreamingLimits,
)
from tests.unit.storage.conftest import ALICE, BOB, READER, StaticPolicies, StorageWorld, allow

PIECE = 64 * 1024


class SlowBody:
    """A client that sends ``pieces`` pieces of 64 KiB, ``pause`` seconds apart."""

    def __init__(self, pieces: int, pause: float) -> None:
        self._left = pieces
        self._pause = pause
        self.sent = 0

    def readinto(self, buffer: memoryview, /) -> int:
        if self._left == 0:
            return 0
        time.sleep(self._pause)
        count = min(len(buffer), PIECE)
        buffer[:count] = b"s" * count
        self._left -= 1
        self.sent += count
        return count


class SlowSink:
    """A client that takes each piece ``pause`` seconds after the last."""

    def __init__(self, pause: float) -> None:
        self._pause = pause
        self.received = 0

    def write(self, data: memoryview, /) -> int:
        time.sleep(self._pause)
        self.received += len(data)
        return len(data)


@pytest.fixture
def dw(world: StorageWorld) -> StorageWorld:
    policies: StaticPolicies = world.gate._policies  # type: ignore[attr-defined]
    policies.by_arn[ALICE.arn] = (
        *policies.by_arn[ALICE.arn],
        allow(
            "lakevault:PutBucketStreamingLimits",
            "lakevault:GetBucketStreamingLimits",
            policy_id="alice-limits",
        ),
    )
    world.storage.buckets.create_bucket(world.caller(), "timed")
    return world


def _limit(w: StorageWorld, seconds: int | None) -> StreamingLimits:
    return w.storage.limits.put_limits(w.caller(), "timed", max_request_seconds=seconds)


def _journal(w: StorageWorld) -> list[str]:
    with w.database.read_session() as session:
        return list(session.scalars(select(models.BlobJournal.blob_path)))


def test_a_slow_upload_is_cut_and_leaves_no_object(dw: StorageWorld) -> None:
    _limit(dw, 1)
    body = SlowBody(pieces=40, pause=0.1)
    started = time.monotonic()
    with pytest.raises(RequestTimeout) as cut:
        dw.storage.objects.put_object(dw.caller(), "timed", "slow", body)
    assert cut.value.code == "RequestTimeout" and cut.value.http_status == 400
    assert "maximum request duration (1 seconds)" in str(cut.value)
    assert 1.0 <= time.monotonic() - started < 3.0
    assert body.sent < 40 * PIECE
    with pytest.raises(NoSuchKey):
        dw.storage.objects.head_object(dw.caller(), "timed", "slow")
    assert dw.blobs() == [] and _journal(dw) == []
    # Within the limit the same bucket takes uploads as before.
    dw.put("timed", "fast", b"f" * 100_000)
    assert dw.get("timed", "fast") == b"f" * 100_000


def test_a_slow_part_upload_is_cut_and_no_part_is_recorded(dw: StorageWorld) -> None:
    upload = dw.storage.multipart.create_upload(dw.caller(), "timed", "big")
    _limit(dw, 1)
    with pytest.raises(RequestTimeout):
        dw.storage.multipart.upload_part(
            dw.caller(), "timed", upload.upload_id, 1, SlowBody(pieces=40, pause=0.1)
        )
    parts = dw.storage.multipart.list_parts(dw.caller(), "timed", upload.upload_id)
    assert list(parts.parts) == []
    assert dw.blobs() == [] and _journal(dw) == []


def test_a_slow_download_is_cut(dw: StorageWorld) -> None:
    data = bytes(range(256)) * 4096 * 6  # 6 MiB: written in pieces of about 1 MiB
    dw.put("timed", "doc", data)
    _limit(dw, 1)
    download = dw.storage.objects.open_object(dw.caller(), "timed", "doc")
    sink = SlowSink(pause=0.4)
    with pytest.raises(RequestTimeout) as cut:
        download.write_to(sink)
    assert "the transfer was cut" in str(cut.value)
    assert 0 < sink.received < len(data)
    # A fast reader gets the whole object, and removing the limit lifts it.
    assert dw.get("timed", "doc") == data
    _limit(dw, None)
    slow = SlowSink(pause=0.0)
    assert dw.storage.objects.open_object(dw.caller(), "timed", "doc").write_to(slow) == len(data)


def test_setting_the_duration_keeps_the_size_limit_and_back(dw: StorageWorld) -> None:
    limits = dw.storage.limits
    limits.put_limits(dw.caller(), "timed", max_object_bytes=1000)
    both = limits.put_limits(dw.caller(), "timed", max_request_seconds=60)
    assert (both.max_object_bytes, both.max_request_seconds) == (1000, 60)
    size_only = limits.put_limits(
        dw.caller(), "timed", max_object_bytes=None, max_request_seconds=KEEP_LIMIT
    )
    assert (size_only.max_object_bytes, size_only.max_request_seconds) == (None, 60)
    read = limits.get_limits(dw.caller(), "timed")
    assert read.max_request_seconds == 60 and read.max_object_bytes is None
    put = [e for e in dw.events() if e["eventName"] == "PutBucketStreamingLimits"]
    assert put[-1]["requestParameters"]["maxRequestSeconds"] == 60


@pytest.mark.parametrize("seconds", [0, -1, MAX_REQUEST_SECONDS + 1])
def test_a_duration_out_of_range_is_refused(dw: StorageWorld, seconds: int) -> None:
    with pytest.raises(InvalidParameterValue) as refused:
        _limit(dw, seconds)
    assert refused.value.code == "InvalidArgument"
    assert dw.storage.limits.get_limits(dw.caller(), "timed").max_request_seconds is None


def test_only_callers_allowed_the_action_set_or_read_the_duration(dw: StorageWorld) -> None:
    for who in (BOB, READER):
        with pytest.raises(AccessDenied):
            dw.storage.limits.put_limits(dw.caller(who), "timed", max_request_seconds=1)
        with pytest.raises(AccessDenied):
            dw.storage.limits.get_limits(dw.caller(who), "timed")
    assert dw.storage.limits.get_limits(dw.caller(), "timed").max_request_seconds is None
    denied = [
        e
        for e in dw.events()
        if e["eventName"] == "PutBucketStreamingLimits" and e.get("errorCode") == "AccessDenied"
    ]
    assert len(denied) == 2
    # A slow upload in a bucket without a duration limit is not cut.
    patient = SlowBody(pieces=6, pause=0.25)
    dw.storage.objects.put_object(dw.caller(), "timed", "patient", patient)
    assert dw.storage.objects.head_object(dw.caller(), "timed", "patient").size == patient.sent
