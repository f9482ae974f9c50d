"""The encrypted object format: a versioned header, then C2SP chunked encryption.

Stored bytes of one object version::

    header (docs/object-format.md) ‖ salt (24 B) ‖ commitment (32 B) ‖ chunk 0 ‖ … ‖ chunk n

The construction is C2SP chunked encryption (https://c2sp.org/chunked-encryption) with
AES-256-GCM and HKDF-SHA-512, keyed by the object's data key, with the header's exact bytes as
the C2SP context. So the header is authenticated by the key commitment, and the encryption
context is bound through the SHA-256 the header carries: a decryption checks that hash against
the context it is given, then the commitment, before it opens any chunk.

Every integrity failure raises the one :class:`~lakevault.kms.IntegrityError`.
"""

from __future__ import annotations

import hmac

from lakevault.core import RandomSource, SystemRandom
from lakevault.kms._chunk_stream import (
    StreamTotals,
    open_range,
    open_stream,
    read_full,
    seal_stream,
)
from lakevault.kms._encryption_context import EncryptionContext
from lakevault.kms._errors import IntegrityError, IntegrityFailure
from lakevault.kms._object_header import ObjectHeader
from lakevault.kms._primitives import (
    OBJECT_SUITE,
    PREFIX_BYTES,
    PlaintextDataKey,
    begin_decryption,
    begin_encryption,
    encrypted_length,
    plaintext_length,
)
from lakevault.kms._types import RangeReadable, Readable, Writable


def encrypt_stream(
    reader: Readable,
    writer: Writable,
    *,
    data_key: PlaintextDataKey,
    header: ObjectHeader,
    random: RandomSource | None = None,
    overlap: bool | None = None,
) -> StreamTotals:
    """Encrypt everything ``reader`` yields into ``writer`` as one object: header first.

    Memory stays constant (about 6 MiB) whatever the size. ``reader`` is called from this
    thread only; ``writer`` from one thread at a time, in order, at most 128 KiB per call,
    each call ending at a 128 KiB multiple of the stored object (docs/decisions/0136, 0275);
    a writer that prefers bigger pieces (a queue with a cost per item) should gather them
    itself. For an object longer than 2 MiB
    the writes may run on a helper thread one block behind the sealing (docs/decisions/0270),
    which ends before this returns or raises: with ``overlap`` True always, False never, None
    (default) when the CPUs are not contended. So ``writer`` must not rely on the caller's
    thread (thread-locals, context variables); the header always goes out from this thread.
    ``random`` gives the 24-byte C2SP salt (defaults to the OS CSPRNG). ``header`` must name
    the key that wraps ``data_key``; nothing here can check that. Raises
    ``InvalidParameterValue`` for a non-blocking reader, and whatever ``reader`` or ``writer``
    raise.
    """
    header_bytes = header.encode()
    prefix, cipher = begin_encryption(
        OBJECT_SUITE, data_key, context=header_bytes, random=random or SystemRandom()
    )
    return seal_stream(cipher, reader, writer, prefix=header_bytes + prefix, overlap=overlap)


def _check_context(header: ObjectHeader, encryption_context: EncryptionContext) -> bytes:
    """Refuse a context other than the header's; return the header bytes (the C2SP context)."""
    if not hmac.compare_digest(encryption_context.sha256(), header.encryption_context_sha256):
        raise IntegrityError(IntegrityFailure.WRONG_ENCRYPTION_CONTEXT)
    return header.encode()


def decrypt_stream(
    reader: Readable,
    writer: Writable,
    *,
    data_key: PlaintextDataKey,
    header: ObjectHeader,
    encryption_context: EncryptionContext,
    overlap: bool | None = None,
) -> StreamTotals:
    """Verify and decrypt an object whose header has already been read from ``reader``.

    Call :func:`~lakevault.kms.read_object_header` first, unwrap the data key it names, then call
    this with the stream positioned just after the header. The context, the header and the key
    are all checked (context hash, then key commitment) before any chunk is opened.

    Memory stays constant (about 6 MiB) whatever the size; ``reader`` is called from this
    thread only, ``writer`` from one thread at a time, in order, 128 KiB of plaintext per call
    (docs/decisions/0136, 0275); a writer that prefers bigger pieces should gather them itself.
    For an object longer than 2 MiB the writes may run on a helper thread one block behind the
    opening (docs/decisions/0270; ``overlap`` as for :func:`encrypt_stream`); a block's
    plaintext is handed to the writer only after the whole block verified, and the helper ends
    before this returns or raises.

    Raises :class:`~lakevault.kms.IntegrityError` on any failure. Chunks are verified before
    their plaintext is written, but a large object is written span by span: on an error the
    writer may already hold plaintext of the chunks that verified before the failing one, which
    the caller must discard (C2SP allows this; an HTTP face sends nothing before the object's
    first block verifies, and aborts the response on a later error). Plaintext is released a
    whole verified block (2 MiB) at a time.
    """
    header_bytes = _check_context(header, encryption_context)
    prefix = bytearray(PREFIX_BYTES)
    if read_full(reader, memoryview(prefix)) != PREFIX_BYTES:
        raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
    cipher = begin_decryption(OBJECT_SUITE, data_key, prefix=bytes(prefix), context=header_bytes)
    return open_stream(
        cipher,
        reader,
        writer,
        consumed_bytes=len(header_bytes) + PREFIX_BYTES,
        overlap=overlap,
    )


def decrypt_range(
    source: RangeReadable,
    *,
    data_key: PlaintextDataKey,
    header: ObjectHeader,
    encryption_context: EncryptionContext,
    ciphertext_length: int,
    offset: int,
    length: int,
) -> bytes:
    """Decrypt plaintext bytes ``[offset, offset + length)`` of a stored object by random access.

    ``ciphertext_length`` is the stored object's size (header included), as the object store
    reports it. Reads the header prefix, the final chunk (always: it authenticates the length,
    so truncation and extension are caught even for a range in good chunks) and the chunks the
    range overlaps. A range past the end is clipped; one starting past the end raises
    :class:`~lakevault.kms.InvalidRange`. Any integrity failure raises
    :class:`~lakevault.kms.IntegrityError`.
    """
    header_bytes = _check_context(header, encryption_context)
    prefix = source.read_range(len(header_bytes), PREFIX_BYTES)
    cipher = begin_decryption(OBJECT_SUITE, data_key, prefix=prefix, context=header_bytes)
    chunks_offset = len(header_bytes) + PREFIX_BYTES
    return open_range(
        cipher,
        source,
        chunks_offset=chunks_offset,
        chunks_length=ciphertext_length - chunks_offset,
        offset=offset,
        length=length,
    )


def encrypted_size(*, header: ObjectHeader, plaintext_bytes: int) -> int:
    """Stored size of an object of ``plaintext_bytes`` under ``header`` (for Content-Length)."""
    return header.encoded_length + PREFIX_BYTES + encrypted_length(plaintext_bytes)


def plaintext_size(*, header: ObjectHeader, ciphertext_length: int) -> int:
    """Plaintext size that a stored size implies. Not authenticated until the final chunk is.

    Raises :class:`~lakevault.kms.IntegrityError` when no object has that stored size.
    """
    return plaintext_length(ciphertext_length - header.encoded_length - PREFIX_BYTES)
