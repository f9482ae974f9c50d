"""One-time codes of the user pool: email verification and password reset.

A code is 6 random digits, mailed to the user and stored only as an HMAC-SHA-256 keyed with a
secret derived from the platform root key (a plain hash of a 6-digit code would be reversed by
trying all million values). A code works once, expires (24 h for verification, 1 h for reset),
and dies after 5 wrong tries. A wrong, expired, used-up or never-issued code — or an unknown
user — all give the same ``CodeMismatchException``, so the answer tells nothing about who
exists.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from lakevault.core import RandomSource
from lakevault.core.errors import InvalidInput
from lakevault.db import models
from lakevault.kms import PlatformRootKey

CODE_KEY_PURPOSE = "user-pool-code-hmac"
CODE_DIGITS = 6
MAX_CODE_ATTEMPTS = 5


class CodePurpose(StrEnum):
    VERIFY_EMAIL = "verify-email"
    RESET_PASSWORD = "reset-password"  # noqa: S105 - a purpose name, not a password

    @property
    def ttl(self) -> timedelta:
        return timedelta(hours=24) if self is CodePurpose.VERIFY_EMAIL else timedelta(hours=1)


def code_mismatch() -> InvalidInput:
    return InvalidInput(
        "the code is wrong, used or expired; ask for a new code",
        code="CodeMismatchException",
    )


def new_code(random: RandomSource) -> str:
    """Six uniformly random digits (rejection sampling: no modulo bias)."""
    while True:
        value = int.from_bytes(random.token_bytes(4), "big")
        if value < 4_000_000_000:
            return f"{value % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def code_digest(root_key: PlatformRootKey, user_id: str, purpose: CodePurpose, code: str) -> str:
    key = root_key.derive_secret(purpose=CODE_KEY_PURPOSE, identifier="v1").encode("ascii")
    message = f"{user_id}\x00{purpose.value}\x00{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue_code(
    session: Session,
    user_id: str,
    purpose: CodePurpose,
    *,
    root_key: PlatformRootKey,
    now: datetime,
    random: RandomSource,
) -> str:
    """A fresh code for ``purpose``, replacing any earlier one; return it (to be mailed)."""
    code = new_code(random)
    row = session.get(models.UserPoolCode, (user_id, purpose.value))
    if row is None:
        row = models.UserPoolCode(user_id=user_id, purpose=purpose.value)
        session.add(row)
    row.code_digest = code_digest(root_key, user_id, purpose, code)
    row.failed_attempts = 0
    row.created_at = now
    row.expires_at = now + purpose.ttl
    session.flush()
    return code


def consume_code(
    session: Session,
    user_id: str | None,
    purpose: CodePurpose,
    code: str,
    *,
    root_key: PlatformRootKey,
    now: datetime,
) -> bool:
    """Use up ``code``; True when it was right. Callers raise :func:`code_mismatch` on False.

    The comparison is constant-time, and the digest is computed even without a user or code,
    so that every outcome costs the same. A wrong try is counted; the fifth kills the code.
    It returns instead of raising so that the caller can commit the count before refusing.
    """
    row = session.get(models.UserPoolCode, (user_id, purpose.value)) if user_id else None
    offered = code_digest(root_key, user_id or "", purpose, code)
    stored = row.code_digest if row is not None else "0" * len(offered)
    is_match = hmac.compare_digest(offered.encode(), stored.encode())
    if row is None:
        return False
    if row.expires_at <= now:
        session.delete(row)
        session.flush()
        return False
    if not is_match:
        row.failed_attempts += 1
        if row.failed_attempts >= MAX_CODE_ATTEMPTS:
            session.delete(row)
        session.flush()
        return False
    session.delete(row)
    session.flush()
    return True
