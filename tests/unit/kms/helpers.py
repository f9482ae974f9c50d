"""Shared helpers for the kms tests: injected randomness, in-memory sources, vector loading."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest

from lakevault.kms import (
    EncryptionContext,
    ObjectHeader,
    PlaintextDataKey,
    decrypt_stream,
    encrypt_stream,
    read_object_header,
)
from tests.conftest import CONFORMANCE_DIR

CRYPTO_DIR = CONFORMANCE_DIR / "crypto"


class FixedRandom:
    """A RandomSource that returns prepared bytes in order (to inject a salt or a key)."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = list(chunks)

    def token_bytes(self, length: int) -> bytes:
        chunk = self._chunks.pop(0)
        assert len(chunk) == length
        return chunk


class CountingRandom:
    """A deterministic RandomSource for repeatable tests: byte i of every draw is (seed + i)."""

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed

    def token_bytes(self, length: int) -> bytes:
        self._seed += 1
        return bytes((self._seed + i) % 256 for i in range(length))


class BytesRangeSource:
    """Random access to bytes in memory, counting the reads (RangeReadable)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads: list[tuple[int, int]] = []

    def read_range(self, offset: int, length: int, /) -> bytes:
        self.reads.append((offset, length))
        return self.data[offset : offset + length]


def vector_params(file_name: str) -> list[Any]:
    """One pytest param per test of a Wycheproof file, read in place; one skip when absent."""
    path = CRYPTO_DIR / file_name
    if not path.exists():
        return [
            pytest.param(
                None,
                None,
                marks=pytest.mark.skip(
                    reason=f"conformance data not found at {path}: clone the project with "
                    "../shared beside it or set LAKEVAULT_CONFORMANCE_DIR"
                ),
                id="conformance-data-absent",
            )
        ]
    document = json.loads(path.read_text(encoding="utf-8"))
    return [
        pytest.param(group, test, id=f"tc{test['tcId']}")
        for group in document["testGroups"]
        for test in group["tests"]
    ]


DATA_KEY_MATERIAL = bytes(range(32))
CONTEXT = EncryptionContext.for_object(
    tenant="123456789012", bucket="reports", key="2026/q1.csv", version_id="v1"
)


def make_data_key(material: bytes = DATA_KEY_MATERIAL) -> PlaintextDataKey:
    return PlaintextDataKey.from_unwrapped_bytes_unsafe(material)


def make_header(
    context: EncryptionContext = CONTEXT, *, key_id: str = "key-1", key_version: int = 3
) -> ObjectHeader:
    return ObjectHeader.create(
        key_id=key_id,
        key_version=key_version,
        wrapped_data_key=b"wrapped:" + bytes(40),
        encryption_context=context,
    )


def encrypt_bytes(
    plaintext: bytes,
    *,
    data_key: PlaintextDataKey | None = None,
    header: ObjectHeader | None = None,
    salt: bytes = bytes(range(100, 124)),
) -> bytes:
    stored = io.BytesIO()
    encrypt_stream(
        io.BytesIO(plaintext),
        stored,
        data_key=data_key or make_data_key(),
        header=header or make_header(),
        random=FixedRandom(salt),
    )
    return stored.getvalue()


def decrypt_bytes(
    stored: bytes,
    *,
    data_key: PlaintextDataKey | None = None,
    context: EncryptionContext = CONTEXT,
) -> bytes:
    reader = io.BytesIO(stored)
    header = read_object_header(reader)
    plaintext = io.BytesIO()
    decrypt_stream(
        reader,
        plaintext,
        data_key=data_key or make_data_key(),
        header=header,
        encryption_context=context,
    )
    return plaintext.getvalue()


def payload_text(length: int, seed: int = 7) -> bytes:
    """Deterministic pseudo-random bytes (so that swapped chunks differ), fast at any size."""
    return hashlib.shake_256(seed.to_bytes(4, "big")).digest(length)
