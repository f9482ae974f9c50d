"""The encrypted object format: one named test per integrity rule, random access, invariants."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import threading
import tracemalloc

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakevault.core.errors import InvalidParameterValue
from lakevault.kms import (
    EncryptionContext,
    IntegrityError,
    IntegrityFailure,
    InvalidRange,
    StreamTotals,
    decrypt_range,
    decrypt_stream,
    encrypt_stream,
    encrypted_size,
    plaintext_size,
    read_object_header,
    read_object_header_at,
)
from lakevault.kms._chunk_stream import BLOCK_CHUNKS, WRITE_PIECE_BYTES, write_pieces
from lakevault.kms._errors import INTEGRITY_FAILURE_MESSAGE
from tests.unit.kms.helpers import (
    CONTEXT,
    BytesRangeSource,
    CountingRandom,
    decrypt_bytes,
    encrypt_bytes,
    make_data_key,
    make_header,
    payload_text,
)

CHUNK = 16384
SEALED_CHUNK = CHUNK + 16
BLOCK = BLOCK_CHUNKS * CHUNK
PIECE = WRITE_PIECE_BYTES
HEADER_LENGTH = make_header().encoded_length
CHUNKS_START = HEADER_LENGTH + 56
WRITER_THREAD = "lakevault-writer"


def _chunk_slice(index: int) -> slice:
    start = CHUNKS_START + index * SEALED_CHUNK
    return slice(start, start + SEALED_CHUNK)


def _fails(stored: bytes, reason: IntegrityFailure, **kwargs: object) -> IntegrityError:
    with pytest.raises(IntegrityError) as failure:
        decrypt_bytes(stored, **kwargs)  # type: ignore[arg-type]
    assert failure.value.code == "InvalidCiphertextException"
    assert failure.value.http_status == 400
    assert failure.value.audit_reason is reason
    return failure.value


# --- Round trips and sizes -------------------------------------------------------------------


def test_empty_plaintext_is_one_empty_chunk() -> None:
    stored = encrypt_bytes(b"")
    assert len(stored) == CHUNKS_START + 16
    assert decrypt_bytes(stored) == b""


def test_exactly_one_chunk_is_a_full_chunk_and_an_empty_final_chunk() -> None:
    plaintext = payload_text(CHUNK)
    stored = encrypt_bytes(plaintext)
    assert len(stored) == CHUNKS_START + SEALED_CHUNK + 16
    assert decrypt_bytes(stored) == plaintext


def test_less_than_one_chunk_is_a_single_short_chunk() -> None:
    stored = encrypt_bytes(payload_text(CHUNK - 1))
    assert len(stored) == CHUNKS_START + CHUNK - 1 + 16


@pytest.mark.parametrize(
    "length",
    [
        *(CHUNK + delta for delta in (-1, 0, 1)),
        *(2 * CHUNK + delta for delta in (-1, 0, 1)),
        *(BLOCK + delta for delta in (-1, 0, 1)),
        *(2 * BLOCK + delta for delta in (-1, 0, 1)),
        2 * BLOCK + CHUNK + 1,
        *(PIECE + delta for delta in (-1, 0, 1)),
        BLOCK + PIECE,
        4 * BLOCK + CHUNK + 1,
    ],
)
def test_chunk_and_block_boundaries_plus_minus_one(length: int) -> None:
    plaintext = payload_text(length)
    stored = encrypt_bytes(plaintext)
    assert len(stored) == encrypted_size(header=make_header(), plaintext_bytes=length)
    assert plaintext_size(header=make_header(), ciphertext_length=len(stored)) == length
    assert decrypt_bytes(stored) == plaintext


def test_stream_totals_count_every_stored_byte() -> None:
    plaintext = payload_text(3 * CHUNK + 5)
    stored = io.BytesIO()
    totals = encrypt_stream(
        io.BytesIO(plaintext),
        stored,
        data_key=make_data_key(),
        header=make_header(),
        random=CountingRandom(),
    )
    assert totals == StreamTotals(
        plaintext_bytes=len(plaintext), ciphertext_bytes=len(stored.getvalue())
    )
    reader = io.BytesIO(stored.getvalue())
    header = read_object_header(reader)
    decrypted = io.BytesIO()
    assert (
        decrypt_stream(
            reader, decrypted, data_key=make_data_key(), header=header, encryption_context=CONTEXT
        )
        == totals
    )


def test_stored_bytes_match_an_independent_computation() -> None:
    """Header laid out by hand, then C2SP computed from scratch (hmac-based HKDF-Expand) with
    the header as context: the format is exactly what docs/object-format.md says."""
    plaintext = b"lakevault object format v1"
    salt = bytes(range(100, 124))
    context_hash = hashlib.sha256(
        b"lakevault.kms/encryption-context/v1\x00"
        + (4).to_bytes(4, "big")
        + b"".join(
            len(part).to_bytes(4, "big") + part
            for pair in [
                (b"bucket", b"reports"),
                (b"key", b"2026/q1.csv"),
                (b"tenant", b"123456789012"),
                (b"version-id", b"v1"),
            ]
            for part in pair
        )
    ).digest()
    wrapped = b"wrapped:" + bytes(40)
    header = (
        b"LVOB\x01"
        + (50 + 5 + 48).to_bytes(2, "big")
        + (16384).to_bytes(4, "big")
        + context_hash
        + (3).to_bytes(4, "big")
        + b"\x05key-1"
        + (48).to_bytes(2, "big")
        + wrapped
    )
    info = b"c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\x00" + salt + header
    okm, block = b"", b""
    for counter in range(1, 3):
        block = hmac.new(bytes(range(32)), block + info + bytes((counter,)), "sha512").digest()
        okm += block
    aead_key, base_nonce, commitment = okm[:32], okm[32:44], okm[44:76]
    chunk = AESGCM(aead_key).encrypt(base_nonce, plaintext, None)
    assert encrypt_bytes(plaintext, salt=salt) == header + salt + commitment + chunk


def test_a_stream_of_many_blocks_matches_chunk_by_chunk_encryption() -> None:
    """The input and output blocks reused several times, each written in pieces: the stored
    bytes are still exactly the chunks that one AES-GCM call per chunk gives."""
    plaintext = payload_text(5 * BLOCK + 3 * CHUNK + 7)
    salt = bytes(range(100, 124))
    header = make_header().encode()
    info = b"c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\x00" + salt + header
    okm, block = b"", b""
    for counter in range(1, 3):
        block = hmac.new(bytes(range(32)), block + info + bytes((counter,)), "sha512").digest()
        okm += block
    aead = AESGCM(okm[:32])
    base_nonce = int.from_bytes(okm[32:44], "big")
    expected = [header, salt, okm[44:76]]
    for index, start in enumerate(range(0, len(plaintext) + 1, CHUNK)):
        nonce = (base_nonce ^ index).to_bytes(12, "big")
        expected.append(aead.encrypt(nonce, plaintext[start : start + CHUNK], None))
    stored = encrypt_bytes(plaintext, salt=salt)
    assert stored == b"".join(expected)
    assert decrypt_bytes(stored) == plaintext


# --- Integrity failures: one error, precise audit reason --------------------------------------


def test_truncated_by_one_byte() -> None:
    stored = encrypt_bytes(payload_text(2 * CHUNK + 100))
    _fails(stored[:-1], IntegrityFailure.CHUNK_NOT_AUTHENTIC)


def test_truncated_to_whole_chunks_drops_the_final_chunk() -> None:
    stored = encrypt_bytes(payload_text(2 * CHUNK + 100))
    _fails(stored[: _chunk_slice(2).start], IntegrityFailure.INVALID_LENGTH)


def test_truncated_at_a_block_boundary() -> None:
    stored = encrypt_bytes(payload_text(BLOCK + CHUNK))
    _fails(stored[: _chunk_slice(BLOCK_CHUNKS).start], IntegrityFailure.INVALID_LENGTH)


def test_truncated_inside_the_prefix() -> None:
    stored = encrypt_bytes(b"abc")
    _fails(stored[: HEADER_LENGTH + 40], IntegrityFailure.INVALID_LENGTH)


def test_reordered_chunks() -> None:
    stored = bytearray(encrypt_bytes(payload_text(3 * CHUNK)))
    first, second = bytes(stored[_chunk_slice(0)]), bytes(stored[_chunk_slice(1)])
    stored[_chunk_slice(0)], stored[_chunk_slice(1)] = second, first
    _fails(bytes(stored), IntegrityFailure.CHUNK_NOT_AUTHENTIC)


def test_duplicated_chunk() -> None:
    stored = bytearray(encrypt_bytes(payload_text(3 * CHUNK)))
    stored[_chunk_slice(1)] = stored[_chunk_slice(0)]
    _fails(bytes(stored), IntegrityFailure.CHUNK_NOT_AUTHENTIC)


@pytest.mark.parametrize("extra", [b"\x00", bytes(16), bytes(SEALED_CHUNK)])
def test_extended(extra: bytes) -> None:
    stored = encrypt_bytes(payload_text(CHUNK + 10))
    _fails(stored + extra, IntegrityFailure.CHUNK_NOT_AUTHENTIC)


def test_extended_with_a_genuine_chunk_of_the_same_object() -> None:
    """Appending a copy of the final chunk: it authenticates only at its own index."""
    stored = encrypt_bytes(payload_text(CHUNK + 10))
    final = stored[_chunk_slice(1).start :]
    _fails(stored + final, IntegrityFailure.CHUNK_NOT_AUTHENTIC)


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("salt", IntegrityFailure.COMMITMENT_MISMATCH),
        ("commitment", IntegrityFailure.COMMITMENT_MISMATCH),
        ("first chunk body", IntegrityFailure.CHUNK_NOT_AUTHENTIC),
        ("first chunk tag", IntegrityFailure.CHUNK_NOT_AUTHENTIC),
        ("final chunk", IntegrityFailure.CHUNK_NOT_AUTHENTIC),
    ],
)
def test_bit_flipped(where: str, reason: IntegrityFailure) -> None:
    stored = bytearray(encrypt_bytes(payload_text(CHUNK + 100)))
    position = {
        "salt": HEADER_LENGTH + 3,
        "commitment": HEADER_LENGTH + 30,
        "first chunk body": CHUNKS_START + 5000,
        "first chunk tag": CHUNKS_START + CHUNK + 2,
        "final chunk": len(stored) - 40,
    }[where]
    stored[position] ^= 0x10
    _fails(bytes(stored), reason)


def test_wrong_key() -> None:
    stored = encrypt_bytes(b"secret report")
    _fails(stored, IntegrityFailure.COMMITMENT_MISMATCH, data_key=make_data_key(bytes(32)))


@pytest.mark.parametrize("field", ["tenant", "bucket", "key", "version_id"])
def test_wrong_context(field: str) -> None:
    values = {"tenant": "123456789012", "bucket": "reports", "key": "2026/q1.csv"}
    values["version_id"] = "v1"
    values[field] = values[field] + "x"
    other = EncryptionContext.for_object(**values)
    _fails(
        encrypt_bytes(b"secret report"), IntegrityFailure.WRONG_ENCRYPTION_CONTEXT, context=other
    )


def test_context_swapped_into_the_header_still_fails_the_commitment() -> None:
    """An attacker who rewrites the header's context hash to match another context."""
    other = EncryptionContext.for_object(
        tenant="123456789012", bucket="reports", key="2026/q2.csv", version_id="v1"
    )
    stored = encrypt_bytes(b"secret report")
    forged = make_header(other).encode() + stored[HEADER_LENGTH:]
    _fails(forged, IntegrityFailure.COMMITMENT_MISMATCH, context=other)


@pytest.mark.parametrize(
    "tampered",
    [
        make_header(key_id="key-2"),
        make_header(key_version=4),
    ],
    ids=["key-id", "key-version"],
)
def test_header_tampering(tampered: object) -> None:
    stored = encrypt_bytes(b"secret report")
    forged = tampered.encode() + stored[HEADER_LENGTH:]  # type: ignore[attr-defined]
    _fails(forged, IntegrityFailure.COMMITMENT_MISMATCH)


def test_header_with_another_wrapped_key_fails_the_commitment() -> None:
    stored = bytearray(encrypt_bytes(b"secret report"))
    stored[HEADER_LENGTH - 1] ^= 0x01  # last byte of the wrapped data key
    _fails(bytes(stored), IntegrityFailure.COMMITMENT_MISMATCH)


@pytest.mark.parametrize(
    ("position", "reason"),
    [
        (0, IntegrityFailure.MALFORMED_HEADER),
        (4, IntegrityFailure.UNSUPPORTED_FORMAT_VERSION),
        (8, IntegrityFailure.MALFORMED_HEADER),
        (20, IntegrityFailure.WRONG_ENCRYPTION_CONTEXT),
    ],
    ids=["magic", "version", "chunk-size", "context-hash"],
)
def test_header_fields_that_fail_before_the_commitment(
    position: int, reason: IntegrityFailure
) -> None:
    stored = bytearray(encrypt_bytes(b"secret report"))
    stored[position] ^= 0x02
    _fails(bytes(stored), reason)


def test_every_integrity_failure_looks_the_same_to_the_caller() -> None:
    errors = [
        _fails(encrypt_bytes(b"x")[:-1], IntegrityFailure.CHUNK_NOT_AUTHENTIC),
        _fails(
            encrypt_bytes(b"x"),
            IntegrityFailure.COMMITMENT_MISMATCH,
            data_key=make_data_key(bytes(32)),
        ),
        _fails(b"LVOX" + bytes(60), IntegrityFailure.MALFORMED_HEADER),
    ]
    assert {(type(e), e.code, e.message, str(e), repr(e)) for e in errors} == {
        (
            IntegrityError,
            "InvalidCiphertextException",
            INTEGRITY_FAILURE_MESSAGE,
            INTEGRITY_FAILURE_MESSAGE,
            "IntegrityError(code='InvalidCiphertextException', "
            f"message={INTEGRITY_FAILURE_MESSAGE!r})",
        )
    }
    for error in errors:
        assert error.audit_reason.value not in repr(error) + str(error)


def test_a_streaming_failure_releases_only_verified_chunks() -> None:
    """A corrupt chunk in the third block: the writer got no plaintext past it."""
    plaintext = payload_text(3 * BLOCK)
    stored = bytearray(encrypt_bytes(plaintext))
    stored[_chunk_slice(2 * BLOCK_CHUNKS + 3).start + 100] ^= 0x01
    reader = io.BytesIO(bytes(stored))
    header = read_object_header(reader)
    released = io.BytesIO()
    with pytest.raises(IntegrityError):
        decrypt_stream(
            reader, released, data_key=make_data_key(), header=header, encryption_context=CONTEXT
        )
    assert plaintext.startswith(released.getvalue())
    assert len(released.getvalue()) <= (2 * BLOCK_CHUNKS + 3) * CHUNK


def test_a_streaming_failure_in_the_third_block_releases_only_whole_verified_blocks() -> None:
    """Plaintext is released a verified block at a time, in pieces: a corrupt chunk in the
    third block leaves the writer with exactly the first two blocks, never part of the third."""
    plaintext = payload_text(4 * BLOCK)
    stored = bytearray(encrypt_bytes(plaintext))
    stored[_chunk_slice(2 * BLOCK_CHUNKS + 5).start + 100] ^= 0x01
    reader = io.BytesIO(bytes(stored))
    header = read_object_header(reader)
    released = io.BytesIO()
    with pytest.raises(IntegrityError):
        decrypt_stream(
            reader, released, data_key=make_data_key(), header=header, encryption_context=CONTEXT
        )
    assert len(released.getvalue()) == 2 * BLOCK
    assert plaintext.startswith(released.getvalue())


class _ThreadRecordingWriter:
    """Records which thread made each ``write`` call and how long each piece was."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.calls: list[tuple[str, int]] = []

    def write(self, data: memoryview, /) -> int:
        self.calls.append((threading.current_thread().name, len(data)))
        self.data += data
        return len(data)


@pytest.mark.parametrize(
    ("overlap", "thread"), [(False, None), (True, WRITER_THREAD)], ids=["one-thread", "overlap"]
)
def test_decryption_writes_aligned_pieces_from_one_thread(
    overlap: bool, thread: str | None
) -> None:
    """ADRs 0136, 0275: one ``write`` per 128 KiB of plaintext, then the rest (larger writes
    cost these VMs' page cache several times more), all from one thread: the caller's, or
    with ``overlap`` the write-behind helper's (ADR 0270)."""
    plaintext = payload_text(2 * BLOCK + PIECE + 5)
    stored = encrypt_bytes(plaintext)
    reader = io.BytesIO(stored)
    header = read_object_header(reader)
    writer = _ThreadRecordingWriter()
    decrypt_stream(
        reader,
        writer,
        data_key=make_data_key(),
        header=header,
        encryption_context=CONTEXT,
        overlap=overlap,
    )
    writing = thread or threading.current_thread().name
    pieces_per_block = BLOCK // PIECE
    assert writer.calls == [(writing, PIECE)] * (2 * pieces_per_block + 1) + [(writing, 5)]
    assert bytes(writer.data) == plaintext


@pytest.mark.parametrize(
    ("overlap", "thread"), [(False, None), (True, WRITER_THREAD)], ids=["one-thread", "overlap"]
)
def test_encryption_writes_sealed_pieces_from_one_thread(overlap: bool, thread: str | None) -> None:
    """The header and prefix first, from the caller's thread, then the sealed chunks in
    ``write`` calls that end where the stored object reaches a multiple of 128 KiB (ADR 0275)
    or where a block's output ends, all from one thread; any helper thread is gone when the
    call returns."""
    plaintext = payload_text(BLOCK + 8 * CHUNK + 5)
    writer = _ThreadRecordingWriter()
    before = set(threading.enumerate())
    encrypt_stream(
        io.BytesIO(plaintext),
        writer,
        data_key=make_data_key(),
        header=make_header(),
        overlap=overlap,
    )
    assert set(threading.enumerate()) == before
    caller = threading.current_thread().name
    writing = thread or caller
    assert writer.calls[0] == (caller, CHUNKS_START)
    first_block_end = CHUNKS_START + BLOCK_CHUNKS * SEALED_CHUNK
    stored_length = first_block_end + 8 * SEALED_CHUNK + 5 + 16
    cuts = sorted(
        {first_block_end, stored_length}
        | set(range(PIECE, stored_length, PIECE)) - set(range(PIECE, CHUNKS_START + 1, PIECE))
    )
    expected = [end - start for start, end in zip([CHUNKS_START, *cuts], cuts, strict=False)]
    assert writer.calls[1:] == [(writing, length) for length in expected]
    assert decrypt_bytes(bytes(writer.data)) == plaintext


class _ListWriter:
    def __init__(self) -> None:
        self.lengths: list[int] = []

    def write(self, data: memoryview) -> int:
        self.lengths.append(len(data))
        return len(data)


@pytest.mark.parametrize(
    ("position", "length", "expected"),
    [
        (0, 300, [128, 128, 44]),
        (100, 300, [28, 128, 128, 16]),
        (128, 128, [128]),
        (5, 0, []),
        (250, 3, [3]),
    ],
)
def test_write_pieces_end_at_multiples_of_the_piece_size(
    position: int, length: int, expected: list[int]
) -> None:
    """ADR 0275: each ``write`` ends where the output stream reaches a multiple of the piece
    size, wherever the data starts; the new stream position is returned."""
    writer = _ListWriter()
    assert write_pieces(writer, memoryview(bytes(length)), 128, position) == position + length
    assert writer.lengths == expected


# --- Random access -------------------------------------------------------------------------


def _read_range(
    stored: bytes, offset: int, length: int, context: EncryptionContext = CONTEXT
) -> bytes:
    source = BytesRangeSource(stored)
    header = read_object_header_at(source)
    return decrypt_range(
        source,
        data_key=make_data_key(),
        header=header,
        encryption_context=context,
        ciphertext_length=len(stored),
        offset=offset,
        length=length,
    )


def test_random_access_reads_every_chunk_of_a_multi_chunk_object() -> None:
    plaintext = payload_text(70 * CHUNK + 123)
    stored = encrypt_bytes(plaintext)
    for index in range(71):
        assert (
            _read_range(stored, index * CHUNK, CHUNK)
            == plaintext[index * CHUNK : (index + 1) * CHUNK]
        )


#: Whole chunks of the object the range tests read: more than two blocks, so that ranges cross
#: block boundaries whatever ``BLOCK_CHUNKS`` is.
RANGE_CHUNKS = 2 * BLOCK_CHUNKS + 6


@pytest.mark.parametrize(
    ("offset", "length"),
    [
        (0, 1),
        (CHUNK - 1, 2),
        (5, 3 * CHUNK),
        (CHUNK * (BLOCK_CHUNKS - 1) + 7, 2 * CHUNK),
        (CHUNK * (BLOCK_CHUNKS - 3), BLOCK + 5 * CHUNK),
        (0, RANGE_CHUNKS * CHUNK + 123),
        (RANGE_CHUNKS * CHUNK + 100, 1000),
        (RANGE_CHUNKS * CHUNK + 123, 10),
        (12345, 0),
    ],
    ids=[
        "first-byte",
        "across-a-chunk-boundary",
        "several-chunks",
        "across-a-block-boundary",
        "across-two-block-boundaries",
        "everything",
        "into-the-final-chunk-and-past-the-end",
        "at-the-end",
        "empty",
    ],
)
def test_random_access_ranges_across_boundaries_and_past_the_end(offset: int, length: int) -> None:
    plaintext = payload_text(RANGE_CHUNKS * CHUNK + 123)
    stored = encrypt_bytes(plaintext)
    assert _read_range(stored, offset, length) == plaintext[offset : offset + length]


def test_random_access_reads_only_the_chunks_it_needs_and_the_final_one() -> None:
    plaintext = payload_text(10 * CHUNK + 1)
    stored = encrypt_bytes(plaintext)
    source = BytesRangeSource(stored)
    header = read_object_header_at(source)
    source.reads.clear()
    decrypt_range(
        source,
        data_key=make_data_key(),
        header=header,
        encryption_context=CONTEXT,
        ciphertext_length=len(stored),
        offset=4 * CHUNK + 10,
        length=10,
    )
    assert source.reads == [
        (HEADER_LENGTH, 56),
        (_chunk_slice(10).start, 17),
        (_chunk_slice(4).start, SEALED_CHUNK),
    ]


def test_random_access_past_the_end_is_an_invalid_range() -> None:
    stored = encrypt_bytes(payload_text(100))
    with pytest.raises(InvalidRange) as failure:
        _read_range(stored, 101, 1)
    assert failure.value.http_status == 416
    assert "100 bytes" in failure.value.message


def test_random_access_rejects_truncation_outside_the_range() -> None:
    stored = encrypt_bytes(payload_text(5 * CHUNK))
    with pytest.raises(IntegrityError):
        _read_range(stored[: _chunk_slice(4).start + 100], 0, 10)


def test_random_access_rejects_extension_outside_the_range() -> None:
    stored = encrypt_bytes(payload_text(5 * CHUNK))
    with pytest.raises(IntegrityError):
        _read_range(stored + bytes(40), 0, 10)


def test_random_access_rejects_a_corrupt_chunk_in_the_range() -> None:
    stored = bytearray(encrypt_bytes(payload_text(5 * CHUNK)))
    stored[_chunk_slice(2).start] ^= 0x80
    assert _read_range(bytes(stored), 0, CHUNK) == payload_text(5 * CHUNK)[:CHUNK]
    with pytest.raises(IntegrityError):
        _read_range(bytes(stored), 2 * CHUNK, 1)


def test_random_access_with_the_wrong_context() -> None:
    other = EncryptionContext.from_mapping({"tenant": "123456789012"})
    with pytest.raises(IntegrityError):
        _read_range(encrypt_bytes(b"abc"), 0, 3, other)


def test_random_access_refuses_negative_offsets() -> None:
    with pytest.raises(InvalidParameterValue):
        _read_range(encrypt_bytes(b"abc"), -1, 3)


# --- Streams that misbehave --------------------------------------------------------------


class _TrickleReader:
    """Returns at most 1000 bytes per call, as a socket might."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readinto(self, buffer: memoryview, /) -> int:
        return self._data.readinto(buffer[:1000])


class _ShortWriter:
    """Accepts at most 777 bytes per call and says so."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: memoryview, /) -> int:
        taken = bytes(data[:777])
        self.data += taken
        return len(taken)


def test_short_reads_and_short_writes_are_completed() -> None:
    plaintext = payload_text(2 * BLOCK + 99)
    writer = _ShortWriter()
    encrypt_stream(
        _TrickleReader(plaintext), writer, data_key=make_data_key(), header=make_header()
    )
    assert decrypt_bytes(bytes(writer.data)) == plaintext


class _NonBlockingReader:
    def readinto(self, buffer: memoryview, /) -> None:
        return None


def test_a_non_blocking_reader_is_refused_rather_than_truncating() -> None:
    with pytest.raises(InvalidParameterValue, match="non-blocking"):
        encrypt_stream(
            _NonBlockingReader(), io.BytesIO(), data_key=make_data_key(), header=make_header()
        )


class _FailingWriter:
    def __init__(self, fail_after: int) -> None:
        self.calls = 0
        self._fail_after = fail_after

    def write(self, data: memoryview, /) -> int:
        self.calls += 1
        if self.calls > self._fail_after:
            raise OSError(28, "No space left on device")
        return len(data)


@pytest.mark.parametrize(("overlap", "read_blocks"), [(False, 1), (True, 3)])
def test_a_writer_failure_during_encryption_stops_it_at_once(
    overlap: bool, read_blocks: int
) -> None:
    reader = io.BytesIO(payload_text(6 * BLOCK))
    writer = _FailingWriter(fail_after=2)
    with pytest.raises(OSError, match="No space left"):
        encrypt_stream(
            reader, writer, data_key=make_data_key(), header=make_header(), overlap=overlap
        )
    # No write after the failing one: the helper skips the blocks already handed to it.
    assert writer.calls == 3
    # With the write-behind helper (ADR 0270) the caller may have sealed block 1 and read
    # block 2 while block 0's writes failed; it stops at its next hand-off.
    assert reader.tell() <= read_blocks * BLOCK


def test_a_writer_failure_during_decryption_stops_it_at_once() -> None:
    stored = encrypt_bytes(payload_text(4 * BLOCK))
    reader = io.BytesIO(stored)
    header = read_object_header(reader)
    writer = _FailingWriter(fail_after=1)
    with pytest.raises(OSError, match="No space left"):
        decrypt_stream(
            reader, writer, data_key=make_data_key(), header=header, encryption_context=CONTEXT
        )
    assert writer.calls == 2
    assert reader.tell() < len(stored)


def test_encryption_with_a_key_of_the_wrong_size_is_refused() -> None:
    from lakevault.kms import PlaintextDataKey

    with pytest.raises(InvalidParameterValue, match="got 16 bytes"):
        PlaintextDataKey.from_unwrapped_bytes_unsafe(bytes(16))


# --- Invariants (hypothesis) --------------------------------------------------------------

_EDGE_LENGTHS = st.builds(
    lambda chunks, delta: max(chunks * CHUNK + delta, 0),
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=-2, max_value=2),
)


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=3 * CHUNK + 50))
def test_decrypt_inverts_encrypt(plaintext: bytes) -> None:
    assert decrypt_bytes(encrypt_bytes(plaintext)) == plaintext


@settings(max_examples=30, deadline=None)
@given(length=_EDGE_LENGTHS, seed=st.integers(min_value=0, max_value=250))
def test_decrypt_inverts_encrypt_at_chunk_aligned_edges(length: int, seed: int) -> None:
    plaintext = payload_text(length, seed)
    stored = encrypt_bytes(plaintext)
    assert decrypt_bytes(stored) == plaintext
    assert _read_range(stored, 0, length) == plaintext


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), length=st.integers(min_value=0, max_value=2 * CHUNK + 20))
def test_any_single_bit_flip_anywhere_fails(data: st.DataObject, length: int) -> None:
    stored = bytearray(encrypt_bytes(payload_text(length)))
    bit = data.draw(st.integers(min_value=0, max_value=8 * len(stored) - 1), label="bit")
    stored[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(IntegrityError):
        decrypt_bytes(bytes(stored))


# --- Constant memory ------------------------------------------------------------------------


class _ZeroReader:
    """Yields ``size`` zero bytes without holding them."""

    def __init__(self, size: int) -> None:
        self.remaining = size

    def readinto(self, buffer: memoryview, /) -> int:
        count = min(len(buffer), self.remaining)
        buffer[:count] = bytes(count) if count < 4096 else _ZEROS[:count]
        self.remaining -= count
        return count


_ZEROS = memoryview(bytes(BLOCK))


class _Discard:
    def __init__(self) -> None:
        self.total = 0

    def write(self, data: memoryview, /) -> int:
        self.total += len(data)
        return len(data)


def test_a_small_stream_allocates_buffers_of_its_own_size() -> None:
    """Most objects are small: one shorter than a chunk costs the probe chunk and an output
    buffer of its own size, not a whole 2 MiB block and its output."""
    tracemalloc.start()
    try:
        totals = encrypt_stream(
            _ZeroReader(CHUNK - 1), _Discard(), data_key=make_data_key(), header=make_header()
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert totals.plaintext_bytes == CHUNK - 1
    assert peak < 3 * CHUNK, f"peak traced memory {peak} bytes"


#: Traced peak bounds of a 16-block stream: one input and one output block in one thread
#: (ADR 0136), one input and two output blocks writing behind (ADR 0270); plus half a block
#: of slack.
_PEAK_BOUNDS = [(False, 2 * BLOCK + BLOCK // 2), (True, 3 * BLOCK + BLOCK // 2)]


@pytest.mark.parametrize(("overlap", "bound"), _PEAK_BOUNDS)
def test_encrypting_many_blocks_holds_a_constant_number_of_blocks(
    overlap: bool, bound: int
) -> None:
    """Encryption reuses its input block (2 MiB) and output blocks (about 2 MiB each)
    whatever the size: 16 blocks through, and the traced peak stays under 2.5 blocks in one
    thread and 3.5 blocks writing behind (ADR 0275)."""
    tracemalloc.start()
    try:
        totals = encrypt_stream(
            _ZeroReader(16 * BLOCK + CHUNK),
            _Discard(),
            data_key=make_data_key(),
            header=make_header(),
            overlap=overlap,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert totals.plaintext_bytes == 16 * BLOCK + CHUNK
    assert peak < bound, f"peak traced memory {peak} bytes"


@pytest.mark.parametrize(("overlap", "bound"), _PEAK_BOUNDS)
def test_decrypting_many_blocks_holds_a_constant_number_of_blocks(
    overlap: bool, bound: int
) -> None:
    """Decryption likewise: 16 blocks through, the same bounds."""
    stored = encrypt_bytes(payload_text(16 * BLOCK + CHUNK))
    reader = io.BytesIO(stored)
    header = read_object_header(reader)
    tracemalloc.start()
    try:
        totals = decrypt_stream(
            reader,
            _Discard(),
            data_key=make_data_key(),
            header=header,
            encryption_context=CONTEXT,
            overlap=overlap,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert totals.plaintext_bytes == 16 * BLOCK + CHUNK
    assert peak < bound, f"peak traced memory {peak} bytes"


def test_streaming_256_mib_stays_in_constant_memory() -> None:
    """Encrypt into a pipe while another thread decrypts from it: 256 MiB through, and the
    traced peak stays below 6.5 blocks (13 MiB): each side holds at most one input block and
    two output blocks of about 2 MiB each, whatever the size of the object (ADRs 0270,
    0275)."""
    size = 256 * 1024 * 1024
    read_end, write_end = os.pipe()
    plaintext_out = _Discard()
    errors: list[BaseException] = []

    def decrypt_side() -> None:
        try:
            with open(read_end, "rb", buffering=0) as reader:
                header = read_object_header(reader)
                decrypt_stream(
                    reader,
                    plaintext_out,
                    data_key=make_data_key(),
                    header=header,
                    encryption_context=CONTEXT,
                )
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    tracemalloc.start()
    try:
        consumer = threading.Thread(target=decrypt_side)
        consumer.start()
        with open(write_end, "wb", buffering=0) as writer:
            totals = encrypt_stream(
                _ZeroReader(size), writer, data_key=make_data_key(), header=make_header()
            )
        consumer.join()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not errors
    assert totals.plaintext_bytes == plaintext_out.total == size
    assert peak < 6 * BLOCK + BLOCK // 2, f"peak traced memory {peak} bytes"
