"""Sealing small secrets under a key derived from the platform root key (AES-256-GCM).

.. warning::

   Hazardous layer: takes raw root key bytes and a nonce. The caller passes a fresh random
   96-bit nonce for every seal. Each (purpose, context) pair gets its own derived key, so a
   nonce collision could only ever affect two seals of the same secret slot.

Format (``SEALED_FORMAT_VERSION`` 1)::

    version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)

The version byte and the context are authenticated (associated data), so a sealed value moved
to another row, or relabelled with another version, does not open.
"""

from __future__ import annotations

from lakevault.kms._errors import IntegrityError, IntegrityFailure
from lakevault.kms._primitives._aead import NONCE_BYTES, TAG_BYTES, AESGCMCipher
from lakevault.kms._primitives._derivation import derive_bytes

SEALED_FORMAT_VERSION = 1
_KEY_PURPOSE_PREFIX = "sealed-secret:"
_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES


def _cipher(root_key: bytes, purpose: str, context: str) -> AESGCMCipher:
    key = derive_bytes(
        root_key, purpose=_KEY_PURPOSE_PREFIX + purpose, identifier=context, length=32
    )
    return AESGCMCipher(key)


def _associated_data(version: int, purpose: str, context: str) -> bytes:
    return bytes([version]) + purpose.encode("utf-8") + b"\x00" + context.encode("utf-8")


def seal(root_key: bytes, *, purpose: str, context: str, plaintext: bytes, nonce: bytes) -> bytes:
    """Encrypt ``plaintext`` for (``purpose``, ``context``) with the caller's fresh ``nonce``."""
    cipher = _cipher(root_key, purpose, context)
    body = cipher.seal(nonce, plaintext, _associated_data(SEALED_FORMAT_VERSION, purpose, context))
    return bytes([SEALED_FORMAT_VERSION]) + nonce + body


def open_sealed(root_key: bytes, *, purpose: str, context: str, sealed: bytes) -> bytes:
    """Decrypt a value made by :func:`seal`; every failure is one ``IntegrityError``."""
    if len(sealed) < _OVERHEAD:
        raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
    if sealed[0] != SEALED_FORMAT_VERSION:
        raise IntegrityError(IntegrityFailure.UNSUPPORTED_FORMAT_VERSION)
    nonce = sealed[1 : 1 + NONCE_BYTES]
    cipher = _cipher(root_key, purpose, context)
    return cipher.open(
        nonce, sealed[1 + NONCE_BYTES :], _associated_data(sealed[0], purpose, context)
    )
