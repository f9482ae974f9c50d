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
from lakevault.core.errors import InvalidParameterValue

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
    """A random password of ``length_bytes`` bytes of entropy (144 bits by default), URL-safe.

    Drawn again until it has an upper-case letter, a lower-case letter and a digit, so that it
    meets the default password policy (almost every draw does).
    """
    while True:
        raw = random.token_bytes(length_bytes)
        password = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        if (
            any(c.isupper() for c in password)
            and any(c.islower() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def check_password_policy(password: str) -> None:
    """The default password policy: at least 8 characters with an upper-case letter, a
    lower-case letter and a digit, at most 256. Raises ``PasswordPolicyViolation``-coded
    ``InvalidParameterValue`` naming the rules, never the password."""
    problems = []
    if not 8 <= len(password) <= 256:
        problems.append("8 to 256 characters")
    if not any(c.isupper() for c in password):
        problems.append("an upper-case letter")
    if not any(c.islower() for c in password):
        problems.append("a lower-case letter")
    if not any(c.isdigit() for c in password):
        problems.append("a digit")
    if problems:
        raise InvalidParameterValue(
            "the password does not meet the password policy; it needs " + ", ".join(problems),
            code="PasswordPolicyViolation",
        )
