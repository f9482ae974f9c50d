"""Password hashing with argon2id (argon2-cffi), and generation of one-time passwords.

Hashes use argon2-cffi's defaults (RFC 9106 "low memory" profile: t=3, m=64 MiB, p=4), above
OWASP's minimum. Verification compares in constant time inside the library and never says why
it failed.
"""

from __future__ import annotations

import base64

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lakevault.core import RandomSource

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def is_password_valid(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; False for a wrong password or a damaged hash."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password(random: RandomSource, *, length_bytes: int = 18) -> str:
    """A random password of ``length_bytes`` bytes of entropy (144 bits by default), URL-safe."""
    return base64.urlsafe_b64encode(random.token_bytes(length_bytes)).decode("ascii").rstrip("=")
