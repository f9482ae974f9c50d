"""The versioned header in front of every encrypted object.

Byte layout of format version 1 (all integers big-endian)::

    offset  size  field
    0       4     magic "LVOB"
    4       1     format version (1)
    5       2     header length H: bytes from offset 0 to the end of the wrapped data key
    7       4     chunk size in bytes (16384, the only value C2SP allows)
    11      32    SHA-256 of the canonical encryption context
    43      4     key version
    47      1     key id length K (1..255)
    48      K     key id, UTF-8
    48+K    2     wrapped data key length W (1..4096)
    50+K    W     wrapped data key (opaque bytes from the key hierarchy)

    H = 50 + K + W; the C2SP ciphertext (salt, commitment, chunks) starts at offset H.

The header is authenticated by being the C2SP *context*: its exact bytes enter the HKDF-Expand
that derives the object's AEAD key, base nonce and commitment (docs/decisions/0091). Any change
to it — a flipped bit, another key id, another context hash — changes the commitment, which is
checked before any chunk is opened. Parsing is strict and canonical: a header parses only if
re-encoding it gives the same bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lakevault.core.errors import InvalidParameterValue
from lakevault.kms._chunk_stream import read_full
from lakevault.kms._encryption_context import EncryptionContext
from lakevault.kms._errors import IntegrityError, IntegrityFailure
from lakevault.kms._primitives import CHUNK_PLAINTEXT_BYTES
from lakevault.kms._types import RangeReadable, Readable

MAGIC = b"LVOB"
#: Bytes before the variable part: magic, version and header length.
FIXED_PREFIX_BYTES = 7
MAX_KEY_ID_BYTES = 255
MAX_WRAPPED_DATA_KEY_BYTES = 4096
MAX_KEY_VERSION = 2**32 - 1
_CONTEXT_SHA256_BYTES = 32
_MIN_HEADER_BYTES = 50 + 1 + 1
_MAX_HEADER_BYTES = 50 + MAX_KEY_ID_BYTES + MAX_WRAPPED_DATA_KEY_BYTES


class ObjectFormatVersion(enum.IntEnum):
    """Versions of the encrypted object format; each fixes its suite and layout."""

    V1 = 1
    """C2SP chunked encryption, AES-256-GCM, HKDF-SHA-512, 16 KiB chunks, header as context."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectHeader:
    """What a reader needs before decrypting an object: which key, which version, which context.

    Build one for a new object with :meth:`create`; get one from stored bytes with
    :func:`read_object_header` or :func:`read_object_header_at`. Direct construction validates
    every field and raises ``InvalidParameterValue`` with the expected and actual sizes.
    ``repr`` shows the wrapped data key's length, never its bytes.
    """

    format_version: ObjectFormatVersion
    key_id: str
    key_version: int
    encryption_context_sha256: bytes
    wrapped_data_key: bytes
    chunk_size_bytes: int = CHUNK_PLAINTEXT_BYTES

    def __post_init__(self) -> None:
        try:
            key_id_bytes = len(self.key_id.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise InvalidParameterValue("key_id must be valid Unicode text") from exc
        if not 1 <= key_id_bytes <= MAX_KEY_ID_BYTES:
            raise InvalidParameterValue(
                f"key_id must be 1 to {MAX_KEY_ID_BYTES} bytes of UTF-8, got {key_id_bytes}"
            )
        if not 0 <= self.key_version <= MAX_KEY_VERSION:
            raise InvalidParameterValue(
                f"key_version must be 0 to {MAX_KEY_VERSION}, got {self.key_version}"
            )
        if len(self.encryption_context_sha256) != _CONTEXT_SHA256_BYTES:
            raise InvalidParameterValue(
                f"encryption_context_sha256 must be {_CONTEXT_SHA256_BYTES} bytes, "
                f"got {len(self.encryption_context_sha256)}"
            )
        if not 1 <= len(self.wrapped_data_key) <= MAX_WRAPPED_DATA_KEY_BYTES:
            raise InvalidParameterValue(
                f"wrapped_data_key must be 1 to {MAX_WRAPPED_DATA_KEY_BYTES} bytes, "
                f"got {len(self.wrapped_data_key)}"
            )
        if self.chunk_size_bytes != CHUNK_PLAINTEXT_BYTES:
            raise InvalidParameterValue(
                f"chunk_size_bytes must be {CHUNK_PLAINTEXT_BYTES} (fixed by C2SP), "
                f"got {self.chunk_size_bytes}"
            )

    @classmethod
    def create(
        cls,
        *,
        key_id: str,
        key_version: int,
        wrapped_data_key: bytes,
        encryption_context: EncryptionContext,
    ) -> ObjectHeader:
        """The header of a new object in the current format version."""
        return cls(
            format_version=ObjectFormatVersion.V1,
            key_id=key_id,
            key_version=key_version,
            encryption_context_sha256=encryption_context.sha256(),
            wrapped_data_key=bytes(wrapped_data_key),
        )

    def __repr__(self) -> str:
        return (
            f"ObjectHeader(format_version={self.format_version!r}, key_id={self.key_id!r}, "
            f"key_version={self.key_version}, "
            f"encryption_context_sha256={self.encryption_context_sha256.hex()!r}, "
            f"wrapped_data_key=<{len(self.wrapped_data_key)} bytes>, "
            f"chunk_size_bytes={self.chunk_size_bytes})"
        )

    @property
    def encoded_length(self) -> int:
        """Bytes the header occupies; the C2SP ciphertext starts at this offset."""
        return 50 + len(self.key_id.encode("utf-8")) + len(self.wrapped_data_key)

    def encode(self) -> bytes:
        """The header's bytes, exactly as stored (and as bound into the key derivation)."""
        key_id = self.key_id.encode("utf-8")
        length = 50 + len(key_id) + len(self.wrapped_data_key)
        return b"".join(
            (
                MAGIC,
                bytes((self.format_version,)),
                length.to_bytes(2, "big"),
                self.chunk_size_bytes.to_bytes(4, "big"),
                self.encryption_context_sha256,
                self.key_version.to_bytes(4, "big"),
                bytes((len(key_id),)),
                key_id,
                len(self.wrapped_data_key).to_bytes(2, "big"),
                self.wrapped_data_key,
            )
        )


def _header_length(prefix: bytes) -> int:
    """Check magic and version in the first 7 bytes; return the declared header length."""
    if len(prefix) != FIXED_PREFIX_BYTES or prefix[:4] != MAGIC:
        raise IntegrityError(IntegrityFailure.MALFORMED_HEADER)
    if prefix[4] not in {version.value for version in ObjectFormatVersion}:
        raise IntegrityError(IntegrityFailure.UNSUPPORTED_FORMAT_VERSION)
    length = int.from_bytes(prefix[5:7], "big")
    if not _MIN_HEADER_BYTES <= length <= _MAX_HEADER_BYTES:
        raise IntegrityError(IntegrityFailure.MALFORMED_HEADER)
    return length


def parse_object_header(data: bytes) -> ObjectHeader:
    """Parse a whole header (exactly its bytes); fail closed with ``IntegrityError``."""
    if len(data) != _header_length(data[:FIXED_PREFIX_BYTES]):
        raise IntegrityError(IntegrityFailure.MALFORMED_HEADER)
    key_id_end = 48 + data[47]
    wrapped_length_end = key_id_end + 2
    try:
        wrapped_length = int.from_bytes(data[key_id_end:wrapped_length_end], "big")
        header = ObjectHeader(
            format_version=ObjectFormatVersion(data[4]),
            chunk_size_bytes=int.from_bytes(data[7:11], "big"),
            encryption_context_sha256=data[11:43],
            key_version=int.from_bytes(data[43:47], "big"),
            key_id=data[48:key_id_end].decode("utf-8"),
            wrapped_data_key=data[wrapped_length_end : wrapped_length_end + wrapped_length],
        )
    except (InvalidParameterValue, UnicodeDecodeError, ValueError) as exc:
        raise IntegrityError(IntegrityFailure.MALFORMED_HEADER) from exc
    if header.encode() != data:
        raise IntegrityError(IntegrityFailure.MALFORMED_HEADER)
    return header


def read_object_header(reader: Readable) -> ObjectHeader:
    """Read and parse the header at the start of a stream, leaving it at the C2SP prefix.

    The header is not yet authenticated: use it to find and unwrap the data key, then pass it
    to ``decrypt_stream``, whose commitment check authenticates it. Raises ``IntegrityError``
    when the bytes are not a well-formed header (too short, bad magic, unknown version).
    """
    prefix = bytearray(FIXED_PREFIX_BYTES)
    if read_full(reader, memoryview(prefix)) != FIXED_PREFIX_BYTES:
        raise IntegrityError(IntegrityFailure.MALFORMED_HEADER)
    rest = bytearray(_header_length(bytes(prefix)) - FIXED_PREFIX_BYTES)
    if read_full(reader, memoryview(rest)) != len(rest):
        raise IntegrityError(IntegrityFailure.MALFORMED_HEADER)
    return parse_object_header(bytes(prefix + rest))


def read_object_header_at(source: RangeReadable) -> ObjectHeader:
    """Read and parse the header of a stored object through range reads (two at most)."""
    prefix = source.read_range(0, FIXED_PREFIX_BYTES)
    length = _header_length(prefix)
    return parse_object_header(
        prefix + source.read_range(FIXED_PREFIX_BYTES, length - FIXED_PREFIX_BYTES)
    )
