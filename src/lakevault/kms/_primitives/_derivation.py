"""Deriving named secrets from the platform root key (HKDF-SHA256, RFC 5869).

.. warning::

   Hazardous: the output is key material. Each (purpose, identifier) pair must name exactly
   one secret; reusing a purpose string for two kinds of secret would make them equal.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ROOT_KEY_BYTES = 32
_SALT = b"lakevault root-key derivation v1"


def derive_bytes(root_key: bytes, *, purpose: str, identifier: str, length: int) -> bytes:
    """``length`` bytes bound to ``purpose`` and ``identifier`` (NUL-separated in ``info``)."""
    if len(root_key) != ROOT_KEY_BYTES:
        raise ValueError(f"the root key must be {ROOT_KEY_BYTES} bytes, got {len(root_key)}")
    if "\x00" in purpose or "\x00" in identifier:
        raise ValueError("purpose and identifier may not contain NUL")
    info = purpose.encode("utf-8") + b"\x00" + identifier.encode("utf-8")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info).derive(root_key)
