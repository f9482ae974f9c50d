"""C2SP chunked encryption against every Wycheproof vector, AES-128 and AES-256, read in place.

Each vector runs through the production code paths, following the Wycheproof guide
(doc/c2sp_chunked_encryption.md in C2SP/wycheproof): streaming decryption, raw mode, encryption
with the vector's salt injected (must reproduce ``ct`` byte for byte), random access to the whole
message, and length authentication through the final chunk. Invalid vectors must raise the one
:class:`~lakevault.kms.IntegrityError`, and a streaming decryption must not release plaintext
beyond the vector's valid prefix.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from functools import cache
from typing import Any

import pytest

from lakevault.kms import IntegrityError, IntegrityFailure
from lakevault.kms._chunk_stream import open_range, open_stream, seal_stream
from lakevault.kms._primitives import (
    PREFIX_BYTES,
    SALT_BYTES,
    ChunkCipher,
    ChunkedSuite,
    begin_decryption,
    begin_encryption,
)
from tests.unit.kms.helpers import BytesRangeSource, FixedRandom, vector_params

FILES = {
    "c2sp_chunked_encryption_aes_128_gcm_test.json": ChunkedSuite.AES_128_GCM,
    "c2sp_chunked_encryption_aes_256_gcm_test.json": ChunkedSuite.AES_256_GCM,
}
VECTORS = [
    pytest.param(file_name, *param.values, id=f"{suite.name}-{param.id}", marks=param.marks)
    for file_name, suite in FILES.items()
    for param in vector_params(file_name)
]
VALID_VECTORS = [
    param for param in VECTORS if param.values[2] is None or param.values[2]["result"] == "valid"
]


@cache
def _ciphertext(compressed_hex: str) -> bytes:
    return zlib.decompress(bytes.fromhex(compressed_hex))


def _suite(file_name: str, group: dict[str, Any]) -> ChunkedSuite:
    suite = FILES[file_name]
    assert group["aead"] == suite.value
    assert group["sha"] == "SHA-512"
    return suite


def _stream_decrypt(suite: ChunkedSuite, test: dict[str, Any], output: io.BytesIO) -> None:
    ciphertext = _ciphertext(test["ct"])
    cipher = begin_decryption(
        suite,
        bytes.fromhex(test["key"]),
        prefix=ciphertext[:PREFIX_BYTES],
        context=bytes.fromhex(test["ctx"]),
    )
    open_stream(cipher, io.BytesIO(ciphertext[PREFIX_BYTES:]), output, consumed_bytes=56)


def _check_valid_plaintext(test: dict[str, Any], plaintext: bytes) -> None:
    assert len(plaintext) == test["msgLength"]
    assert hashlib.sha512(plaintext).hexdigest() == test["msgSha512"]


@pytest.mark.parametrize(("file_name", "group", "test"), VECTORS)
def test_streaming_decryption(file_name: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    suite = _suite(file_name, group)
    output = io.BytesIO()
    if test["result"] == "valid":
        _stream_decrypt(suite, test, output)
        _check_valid_plaintext(test, output.getvalue())
        return
    with pytest.raises(IntegrityError):
        _stream_decrypt(suite, test, output)
    released = output.getvalue()
    if "PartialPlaintext" in test["flags"]:
        assert len(released) <= test["msgLength"]
        if len(released) == test["msgLength"]:
            assert hashlib.sha512(released).hexdigest() == test["msgSha512"]
    else:
        assert released == b""


@pytest.mark.parametrize(("file_name", "group", "test"), VECTORS)
def test_header_failures_are_caught_before_any_chunk(
    file_name: str, group: dict[str, Any], test: dict[str, Any]
) -> None:
    """HeaderFailure vectors fail in ``begin_decryption``; all others pass it."""
    suite = _suite(file_name, group)
    ciphertext = _ciphertext(test["ct"])
    key = bytes.fromhex(test["key"])

    def begin() -> ChunkCipher:
        return begin_decryption(
            suite, key, prefix=ciphertext[:PREFIX_BYTES], context=bytes.fromhex(test["ctx"])
        )

    if "HeaderFailure" not in test["flags"]:
        begin()
        return
    with pytest.raises(IntegrityError) as failure:
        begin()
    expected = {
        "InvalidKeySize": IntegrityFailure.INVALID_KEY,
        "Truncation": IntegrityFailure.INVALID_LENGTH,
    }
    reasons = [expected[flag] for flag in test["flags"] if flag in expected]
    assert failure.value.audit_reason is (
        reasons[0] if reasons else IntegrityFailure.COMMITMENT_MISMATCH
    )


@pytest.mark.parametrize(("file_name", "group", "test"), VECTORS)
def test_raw_mode(file_name: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    """Without the header: decrypt with aeadKey/baseNonce; re-encrypt valid messages exactly."""
    suite = _suite(file_name, group)
    if "HeaderFailure" in test["flags"]:
        assert "aeadKey" not in test
        return
    cipher = ChunkCipher(
        suite=suite,
        aead_key=bytes.fromhex(test["aeadKey"]),
        base_nonce=bytes.fromhex(test["baseNonce"]),
    )
    chunks = _ciphertext(test["ct"])[PREFIX_BYTES:]
    output = io.BytesIO()
    if test["result"] != "valid":
        with pytest.raises(IntegrityError):
            open_stream(cipher, io.BytesIO(chunks), output, consumed_bytes=0)
        return
    open_stream(cipher, io.BytesIO(chunks), output, consumed_bytes=0)
    _check_valid_plaintext(test, output.getvalue())
    sealed = io.BytesIO()
    seal_stream(cipher, io.BytesIO(output.getvalue()), sealed, prefix=b"")
    assert sealed.getvalue() == chunks


@pytest.mark.parametrize(("file_name", "group", "test"), VALID_VECTORS)
def test_encryption_with_the_vector_salt_reproduces_the_ciphertext(
    file_name: str, group: dict[str, Any], test: dict[str, Any]
) -> None:
    suite = _suite(file_name, group)
    ciphertext = _ciphertext(test["ct"])
    plaintext = io.BytesIO()
    _stream_decrypt(suite, test, plaintext)
    prefix, cipher = begin_encryption(
        suite,
        bytes.fromhex(test["key"]),
        context=bytes.fromhex(test["ctx"]),
        random=FixedRandom(ciphertext[:SALT_BYTES]),
    )
    sealed = io.BytesIO()
    seal_stream(cipher, io.BytesIO(plaintext.getvalue()), sealed, prefix=prefix)
    assert sealed.getvalue() == ciphertext


@pytest.mark.parametrize(("file_name", "group", "test"), VECTORS)
def test_random_access(file_name: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    """Whole-message reads succeed exactly for valid vectors; so does length authentication,
    except that ValidFinalChunk vectors may pass it (their final chunk is genuine)."""
    suite = _suite(file_name, group)
    ciphertext = _ciphertext(test["ct"])
    source = BytesRangeSource(ciphertext)

    def read(offset: int, length: int) -> bytes:
        cipher = begin_decryption(
            suite,
            bytes.fromhex(test["key"]),
            prefix=source.read_range(0, PREFIX_BYTES),
            context=bytes.fromhex(test["ctx"]),
        )
        return open_range(
            cipher,
            source,
            chunks_offset=PREFIX_BYTES,
            chunks_length=len(ciphertext) - PREFIX_BYTES,
            offset=offset,
            length=length,
        )

    if test["result"] == "valid":
        _check_valid_plaintext(test, read(0, test["msgLength"]))
        assert read(0, 0) == b""
        return
    with pytest.raises(IntegrityError):
        read(0, 2**40)
    if "ValidFinalChunk" not in test["flags"]:
        with pytest.raises(IntegrityError):
            read(0, 0)
