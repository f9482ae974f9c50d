"""AES-GCM with 96-bit nonces: the only raw AEAD calls in lakevault.

.. warning::

   Hazardous layer. Reusing a (key, nonce) pair under AES-GCM reveals the XOR of plaintexts
   and lets an attacker forge tags. Nothing outside ``kms/_primitives`` may call this module;
   the chunked construction in :mod:`._chunked` derives a fresh key and base nonce per object
   and is the only caller in production code.

Only 12-byte nonces are accepted (docs/decisions/0094): other lengths go through GHASH to form
the counter block, which the chunked construction never needs and which widens the attack
surface (Wycheproof ``ZeroLengthIv``, CVE-2017-7822). Backed by pyca/cryptography's
:class:`~cryptography.hazmat.primitives.ciphers.aead.AESGCM`, whose ``encrypt_into`` and
``decrypt_into`` (cryptography 44 and later) write into caller-owned buffers.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lakevault.core.errors import InvalidParameterValue
from lakevault.kms._errors import IntegrityError, IntegrityFailure
from lakevault.kms._types import BytesLike

NONCE_BYTES = 12
TAG_BYTES = 16
AES_KEY_BYTES = frozenset({16, 24, 32})


class AESGCMCipher:
    """One AES-GCM key (128, 192 or 256 bits) with 96-bit nonces and 128-bit tags.

    .. warning::

       The caller guarantees that a nonce is never used twice with this key.

    Sealing with a bad nonce length raises ``InvalidParameterValue`` (a programming error).
    Opening fails closed: a bad nonce length, a short input or a tag that does not verify all
    raise the one :class:`~lakevault.kms.IntegrityError`.
    """

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) not in AES_KEY_BYTES:
            raise InvalidParameterValue(
                f"an AES key must be 16, 24 or 32 bytes, got {len(key)} bytes"
            )
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "AESGCMCipher(<key redacted>)"

    def seal_into(
        self, nonce: bytes, plaintext: BytesLike, associated_data: BytesLike, out: memoryview
    ) -> int:
        """Encrypt ``plaintext`` into ``out`` (exactly ``len(plaintext) + 16`` bytes)."""
        if len(nonce) != NONCE_BYTES:
            raise InvalidParameterValue(
                f"an AES-GCM nonce must be {NONCE_BYTES} bytes, got {len(nonce)} bytes"
            )
        return self._aead.encrypt_into(nonce, plaintext, associated_data or None, out)

    def open_into(
        self, nonce: bytes, ciphertext: BytesLike, associated_data: BytesLike, out: memoryview
    ) -> int:
        """Decrypt and verify ``ciphertext`` (with its tag) into ``out`` (``len - 16`` bytes)."""
        if len(nonce) != NONCE_BYTES:
            raise IntegrityError(IntegrityFailure.INVALID_NONCE)
        if len(ciphertext) < TAG_BYTES:
            raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
        try:
            return self._aead.decrypt_into(nonce, ciphertext, associated_data or None, out)
        except InvalidTag as exc:
            raise IntegrityError(IntegrityFailure.CHUNK_NOT_AUTHENTIC) from exc

    def seal(self, nonce: bytes, plaintext: BytesLike, associated_data: BytesLike) -> bytes:
        """Encrypt ``plaintext`` and return ciphertext followed by the 16-byte tag.

        One call into OpenSSL and no intermediate buffer: small values (wrapped keys) are sealed
        on every key use, so this path is kept short.
        """
        if len(nonce) != NONCE_BYTES:
            raise InvalidParameterValue(
                f"an AES-GCM nonce must be {NONCE_BYTES} bytes, got {len(nonce)} bytes"
            )
        return self._aead.encrypt(nonce, plaintext, associated_data or None)

    def open(self, nonce: bytes, ciphertext: BytesLike, associated_data: BytesLike) -> bytes:
        """Verify and decrypt ciphertext-with-tag; raise ``IntegrityError`` on any failure."""
        out = bytearray(max(len(ciphertext) - TAG_BYTES, 0))
        self.open_into(nonce, ciphertext, associated_data, memoryview(out))
        return bytes(out)
