"""A SigV4 streaming body (``aws-chunked``) into storage, on both backends and both databases:
the verified stream is stored; a bad chunk signature anywhere leaves no version, no row and
no blob — the object is committed only after the final chunk verified."""

from __future__ import annotations

import io
import os

import pytest

from lakevault.core.errors import NoSuchKey
from lakevault.identity import (
    ChunkedPayloadReader,
    ChunkSigningContext,
    IncompleteSignature,
    SignatureDoesNotMatch,
    encode_chunks,
)
from tests.unit.storage.conftest import StorageWorld


def _context(length: int) -> ChunkSigningContext:
    return ChunkSigningContext.for_client(
        secret_access_key="test-secret",
        amz_date="20260101T000000Z",
        region="local",
        service="lakevault",
        seed_signature="1" * 64,
        decoded_length=length,
    )


def test_a_verified_stream_is_stored(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    data = os.urandom(2 * 1024 * 1024 + 3)
    context = _context(len(data))
    body = encode_chunks(context, [data[:1_000_000], data[1_000_000:]])
    info = world.storage.objects.put_object(
        world.caller(),
        "data",
        "k",
        ChunkedPayloadReader(io.BytesIO(body), context),
        content_length=len(data),
    )
    assert info.size == len(data)
    assert world.get("data", "k") == data


@pytest.mark.parametrize("where", ["first", "last", "final"])
def test_a_bad_chunk_leaves_nothing(world: StorageWorld, where: str) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    data = os.urandom(1_500_000)
    context = _context(len(data))
    body = bytearray(encode_chunks(context, [data[:700_000], data[700_000:]]))
    if where == "first":
        body[1000] ^= 0x01
    elif where == "last":
        body[-200] ^= 0x01  # the second chunk's data
    else:
        body[-5] = ord("1") if body[-5] == ord("0") else ord("0")  # the final signature
    with pytest.raises(SignatureDoesNotMatch):
        world.storage.objects.put_object(
            world.caller(),
            "data",
            "k",
            ChunkedPayloadReader(io.BytesIO(bytes(body)), context),
            content_length=len(data),
        )
    with pytest.raises(NoSuchKey):
        world.get("data", "k")
    assert world.rows("data") == []
    assert world.blobs() == []


def test_a_truncated_stream_leaves_nothing(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    data = os.urandom(300_000)
    context = _context(len(data))
    body = encode_chunks(context, [data])
    with pytest.raises(IncompleteSignature):
        world.storage.objects.put_object(
            world.caller(),
            "data",
            "k",
            ChunkedPayloadReader(io.BytesIO(body[:-40]), context),
            content_length=len(data),
        )
    assert world.rows("data") == []
    assert world.blobs() == []
