"""C2SP chunked encryption (https://c2sp.org/chunked-encryption, "Cobblestone").

.. warning::

   Hazardous layer: this module derives per-object AEAD keys and nonces. Only ``lakevault.kms``
   imports it. Domain code uses ``kms.encrypt_stream`` and friends.

The construction, as the specification defines it::

    aead key ‖ base nonce ‖ commitment = HKDF-Expand(SHA-512, prk = input key,
        info = "c2sp.org/chunked-encryption@v1+" ‖ aead name ‖ 0x00 ‖ salt ‖ context)
    ciphertext = salt (24 B) ‖ commitment (32 B) ‖ chunk 0 ‖ chunk 1 ‖ … ‖ chunk n

Each chunk is 16 KiB of plaintext sealed with the AEAD, no associated data, and the nonce
``base nonce XOR i`` (chunk number ``i`` big-endian, as wide as the nonce). The final chunk is
always shorter than 16 KiB, possibly empty: that is the end-of-message signal (there is no
separate "last chunk" flag). The commitment is checked in constant time before any chunk is
opened. At most 2**38 chunks (4 PiB) per message.

Two suites are implemented, the two of the Wycheproof vectors: AES-128-GCM and AES-256-GCM, both
with HKDF-SHA-512. lakevault objects use AES-256-GCM (:data:`OBJECT_SUITE`).
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA512
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from lakevault.core import RandomSource
from lakevault.core.errors import InvalidParameterValue
from lakevault.kms._errors import IntegrityError, IntegrityFailure
from lakevault.kms._primitives._aead import NONCE_BYTES, TAG_BYTES
from lakevault.kms._primitives._keys import PlaintextDataKey, data_key_material_unsafe

CHUNK_PLAINTEXT_BYTES = 16 * 1024
CHUNK_CIPHERTEXT_BYTES = CHUNK_PLAINTEXT_BYTES + TAG_BYTES
SALT_BYTES = 24
COMMITMENT_BYTES = 32
PREFIX_BYTES = SALT_BYTES + COMMITMENT_BYTES
MAX_CHUNKS = 2**38

_LABEL = b"c2sp.org/chunked-encryption@v1+"


class ChunkedSuite(enum.Enum):
    """An instantiation of the construction: the AEAD (by IANA name) with HKDF-SHA-512."""

    AES_128_GCM = "AEAD_AES_128_GCM"
    AES_256_GCM = "AEAD_AES_256_GCM"

    @property
    def key_bytes(self) -> int:
        """Length of the input key and of the derived AEAD key."""
        return 16 if self is ChunkedSuite.AES_128_GCM else 32


#: The suite of every lakevault object (docs/decisions/0090).
OBJECT_SUITE = ChunkedSuite.AES_256_GCM


class ChunkCipher:
    """The derived AEAD key and base nonce of one message; seals and opens chunks by index.

    .. warning::

       Constructing one directly is C2SP "raw mode": the caller must supply a uniformly random
       key and base nonce used for no other message, and gets no key commitment. Use
       :func:`begin_encryption` / :func:`begin_decryption` instead.

    Blocks are runs of consecutive chunks in one buffer, so one Python call does the work of many
    chunks and the buffers are reused across calls (``encrypt_into``/``decrypt_into``).
    """

    __slots__ = ("_base_nonce", "_decrypt_into", "_encrypt_into")

    def __init__(self, *, suite: ChunkedSuite, aead_key: bytes, base_nonce: bytes) -> None:
        if len(aead_key) != suite.key_bytes or len(base_nonce) != NONCE_BYTES:
            raise InvalidParameterValue(
                f"{suite.value} raw mode needs a {suite.key_bytes}-byte key and a "
                f"{NONCE_BYTES}-byte base nonce, got {len(aead_key)} and {len(base_nonce)} bytes"
            )
        aead = AESGCM(aead_key)
        self._encrypt_into = aead.encrypt_into
        self._decrypt_into = aead.decrypt_into
        self._base_nonce = int.from_bytes(base_nonce, "big")

    def __repr__(self) -> str:
        return "ChunkCipher(<key and nonce redacted>)"

    def seal_chunks(
        self, first_index: int, plaintext: memoryview, out: memoryview, *, is_final: bool
    ) -> int:
        """Encrypt consecutive chunks starting at chunk ``first_index``; return bytes written.

        Without ``is_final`` the plaintext must be whole chunks. With it, whatever follows the
        last whole chunk (possibly nothing) becomes the short final chunk. ``out`` must hold
        the plaintext plus 16 bytes per chunk. Raises ``InvalidParameterValue`` past 2**38
        chunks.
        """
        length = len(plaintext)
        full_chunks, rest = divmod(length, CHUNK_PLAINTEXT_BYTES)
        if rest and not is_final:
            raise InvalidParameterValue(
                f"a non-final block must be whole {CHUNK_PLAINTEXT_BYTES}-byte chunks, "
                f"got {length} bytes"
            )
        if first_index + full_chunks + is_final > MAX_CHUNKS:
            raise InvalidParameterValue(
                f"an object may have at most {MAX_CHUNKS} chunks (4 PiB); this one has more"
            )
        return self._run(
            self._encrypt_into,
            first_index,
            plaintext,
            out,
            full_chunks=full_chunks,
            final_length=rest if is_final else None,
            growth=TAG_BYTES,
        )

    def open_chunks(
        self, first_index: int, ciphertext: memoryview, out: memoryview, *, is_final: bool
    ) -> int:
        """Verify and decrypt consecutive chunks from chunk ``first_index``; return bytes written.

        Without ``is_final`` the ciphertext must be whole 16,400-byte chunks. With it, what
        follows the whole chunks is the final chunk and must be 16 to 16,399 bytes long, else
        the message is truncated or extended. Chunks are verified in order; the first that does
        not verify raises :class:`~lakevault.kms.IntegrityError`, and ``out`` then holds only
        verified plaintext of the chunks before it.
        """
        length = len(ciphertext)
        full_chunks, rest = divmod(length, CHUNK_CIPHERTEXT_BYTES)
        if is_final and rest < TAG_BYTES:
            raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
        if rest and not is_final:
            raise InvalidParameterValue(
                f"a non-final block must be whole {CHUNK_CIPHERTEXT_BYTES}-byte chunks, "
                f"got {length} bytes"
            )
        if first_index + full_chunks + is_final > MAX_CHUNKS:
            raise IntegrityError(IntegrityFailure.CHUNK_LIMIT_EXCEEDED)
        try:
            return self._run(
                self._decrypt_into,
                first_index,
                ciphertext,
                out,
                full_chunks=full_chunks,
                final_length=rest if is_final else None,
                growth=-TAG_BYTES,
            )
        except InvalidTag as exc:
            raise IntegrityError(IntegrityFailure.CHUNK_NOT_AUTHENTIC) from exc

    def _run(
        self,
        operation: Callable[[bytes, memoryview, None, memoryview], int],
        first_index: int,
        source: memoryview,
        out: memoryview,
        *,
        full_chunks: int,
        final_length: int | None,
        growth: int,
    ) -> int:
        """Apply ``operation`` (``encrypt_into`` or ``decrypt_into``) chunk by chunk.

        Full chunks are ``step`` bytes in ``source`` and ``step + growth`` in ``out``; a final
        chunk of ``final_length`` source bytes follows when given. This loop is the hot path:
        one nonce, two slices and one call per 16 KiB.
        """
        step = CHUNK_PLAINTEXT_BYTES if growth > 0 else CHUNK_CIPHERTEXT_BYTES
        out_step = step + growth
        base = self._base_nonce
        read = written = 0
        index = first_index
        for _ in range(full_chunks):
            operation(
                (base ^ index).to_bytes(NONCE_BYTES, "big"),
                source[read : read + step],
                None,
                out[written : written + out_step],
            )
            read += step
            written += out_step
            index += 1
        if final_length is not None:
            operation(
                (base ^ index).to_bytes(NONCE_BYTES, "big"),
                source[read : read + final_length],
                None,
                out[written : written + final_length + growth],
            )
            written += final_length + growth
        return written


def _input_key_bytes(input_key: bytes | PlaintextDataKey) -> bytes:
    if isinstance(input_key, PlaintextDataKey):
        return data_key_material_unsafe(input_key)
    return input_key


def _derive(
    suite: ChunkedSuite, input_key: bytes, salt: bytes, context: bytes
) -> tuple[bytes, bytes, bytes]:
    """HKDF-Expand(SHA-512) into (aead key, base nonce, commitment), as the spec defines."""
    key_bytes = suite.key_bytes
    info = _LABEL + suite.value.encode("ascii") + b"\x00" + salt + context
    output = HKDFExpand(
        algorithm=SHA512(), length=key_bytes + NONCE_BYTES + COMMITMENT_BYTES, info=info
    ).derive(input_key)
    return (
        output[:key_bytes],
        output[key_bytes : key_bytes + NONCE_BYTES],
        output[key_bytes + NONCE_BYTES :],
    )


def begin_encryption(
    suite: ChunkedSuite,
    input_key: bytes | PlaintextDataKey,
    *,
    context: bytes,
    random: RandomSource,
) -> tuple[bytes, ChunkCipher]:
    """Start a message: return its 56-byte prefix (salt ‖ commitment) and its chunk cipher.

    The salt comes from ``random`` (tests inject a vector's salt this way). ``context`` is
    bound into the derivation, so a decryptor given another context fails the commitment check.
    Raises ``InvalidParameterValue`` when the input key has the wrong length for ``suite``.
    """
    key = _input_key_bytes(input_key)
    if len(key) != suite.key_bytes:
        raise InvalidParameterValue(
            f"{suite.value} needs a {suite.key_bytes}-byte input key, got {len(key)} bytes"
        )
    salt = random.token_bytes(SALT_BYTES)
    if len(salt) != SALT_BYTES:
        raise InvalidParameterValue(
            f"the random source gave {len(salt)} bytes of salt, expected {SALT_BYTES}"
        )
    aead_key, base_nonce, commitment = _derive(suite, key, salt, context)
    return salt + commitment, ChunkCipher(suite=suite, aead_key=aead_key, base_nonce=base_nonce)


def begin_decryption(
    suite: ChunkedSuite,
    input_key: bytes | PlaintextDataKey,
    *,
    prefix: bytes,
    context: bytes,
) -> ChunkCipher:
    """Check a message's prefix (salt ‖ commitment) and return its chunk cipher.

    Fails closed with :class:`~lakevault.kms.IntegrityError` — before any chunk is touched —
    when the key has the wrong length, the prefix is short, or the commitment does not match
    (wrong key, wrong context, or a corrupt salt or commitment).
    """
    key = _input_key_bytes(input_key)
    if len(key) != suite.key_bytes:
        raise IntegrityError(IntegrityFailure.INVALID_KEY)
    if len(prefix) != PREFIX_BYTES:
        raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
    aead_key, base_nonce, commitment = _derive(suite, key, prefix[:SALT_BYTES], context)
    if not hmac.compare_digest(commitment, prefix[SALT_BYTES:]):
        raise IntegrityError(IntegrityFailure.COMMITMENT_MISMATCH)
    return ChunkCipher(suite=suite, aead_key=aead_key, base_nonce=base_nonce)


def encrypted_length(plaintext_length: int) -> int:
    """Bytes of chunk data (after the 56-byte prefix) for a message of ``plaintext_length``."""
    return plaintext_length + (plaintext_length // CHUNK_PLAINTEXT_BYTES + 1) * TAG_BYTES


def plaintext_length(chunk_data_length: int) -> int:
    """The message length that ``chunk_data_length`` bytes of chunks encode.

    Raises :class:`~lakevault.kms.IntegrityError` when no honest message has that length (the
    final chunk would be shorter than a tag, or missing). The length is authenticated only once
    the final chunk at that position verifies.
    """
    full_chunks, rest = divmod(chunk_data_length, CHUNK_CIPHERTEXT_BYTES)
    if chunk_data_length < 0 or rest < TAG_BYTES:
        raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
    return full_chunks * CHUNK_PLAINTEXT_BYTES + rest - TAG_BYTES
