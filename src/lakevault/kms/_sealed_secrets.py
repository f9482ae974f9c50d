"""Sealed secrets: small values (an IdP's client secret) kept encrypted in the metadata store.

Some secrets are given to lakevault rather than made by it, so they cannot be derived on
demand like access-key secrets: they have to be stored. They are stored sealed under a key
derived from the platform root key (HKDF, one key per purpose and context; AES-256-GCM), so a
copy of the database alone reveals nothing, and a sealed value copied to another row (another
context) does not open.

``context`` names the slot the value belongs to (a provider ARN, say) and is authenticated;
pass the same one to open. Opening fails closed with one :class:`IntegrityError`.
"""

from __future__ import annotations

from lakevault.core import RandomSource
from lakevault.kms._primitives._aead import NONCE_BYTES
from lakevault.kms._primitives._sealing import open_sealed, seal
from lakevault.kms._root_key import PlatformRootKey


def _root_key_bytes(root_key: PlatformRootKey) -> bytes:
    # The root key's bytes never leave the kms package; this is the one read outside its class.
    return root_key._key


def seal_secret(
    root_key: PlatformRootKey,
    secret: str,
    *,
    purpose: str,
    context: str,
    random: RandomSource,
) -> bytes:
    """``secret`` sealed for (``purpose``, ``context``) with a fresh random nonce."""
    return seal(
        _root_key_bytes(root_key),
        purpose=purpose,
        context=context,
        plaintext=secret.encode("utf-8"),
        nonce=random.token_bytes(NONCE_BYTES),
    )


def open_secret(root_key: PlatformRootKey, sealed: bytes, *, purpose: str, context: str) -> str:
    """The secret sealed by :func:`seal_secret` for the same purpose and context.

    Raises :class:`~lakevault.kms.IntegrityError` when the value was altered, moved to another
    context, or sealed under another root key.
    """
    plaintext = open_sealed(
        _root_key_bytes(root_key), purpose=purpose, context=context, sealed=sealed
    )
    return plaintext.decode("utf-8")
