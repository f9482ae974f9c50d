"""Refresh tokens: opaque, stored as digests, rotated on every use, revoked as a family.

* A refresh token is ``lvrt.`` and 32 random bytes (URL-safe base64). Only its SHA-256 is
  stored: the token has 256 bits of entropy, so a plain hash cannot be reversed, and a copy of
  the database holds no usable token. Opaque rather than a JWT because it is always looked up
  (for rotation and revocation), and so signing keys need not outlive 30-day tokens
  (docs/decisions/0111-opaque-refresh-tokens.md).
* Each sign-in starts a *family*. Using a token marks it used and returns its successor in the
  same family, with the family's original expiry (the lifetime is absolute, not sliding).
* Presenting a token that was already used means two parties hold it: the whole family is
  revoked, so the thief's successor stops working too (reuse detection, RFC 9700 §4.14.2).
* A token also stops when its user signs out everywhere (the generation changes or the rows
  are revoked) or is deleted (rows cascade).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from lakevault.core import RandomSource
from lakevault.db import models
from lakevault.identity._sign_in_state import current_token_generation

TOKEN_PREFIX = "lvrt."  # noqa: S105 - a format prefix, not a token


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedRefreshToken:
    """A refresh token, readable only in this value; ``repr`` hides it."""

    token: str = field(repr=False)
    family_id: str
    expires_at: datetime


class RotationOutcome(Enum):
    ROTATED = "rotated"
    REUSED = "reused"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rotation:
    """What presenting a refresh token led to; ``used`` is the presented token's row."""

    outcome: RotationOutcome
    used: models.RefreshToken | None = None
    successor: IssuedRefreshToken | None = None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_refresh_token(
    session: Session,
    *,
    user_id: str,
    account_id: str,
    token_generation: int,
    is_mfa_authenticated: bool,
    authenticated_at: datetime,
    now: datetime,
    random: RandomSource,
    ttl_seconds: int | None = None,
    family_id: str | None = None,
    expires_at: datetime | None = None,
) -> IssuedRefreshToken:
    """Start a family (``ttl_seconds``) or continue one (``family_id`` and ``expires_at``)."""
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(random.token_bytes(32)).decode().rstrip("=")
    family = family_id or random.token_bytes(16).hex()
    if expires_at is None:
        if ttl_seconds is None:
            raise ValueError("a new refresh token family needs ttl_seconds")
        expires_at = now + timedelta(seconds=ttl_seconds)
    session.add(
        models.RefreshToken(
            token_digest=token_digest(token),
            family_id=family,
            user_id=user_id,
            account_id=account_id,
            token_generation=token_generation,
            is_mfa_authenticated=is_mfa_authenticated,
            authenticated_at=authenticated_at,
            issued_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return IssuedRefreshToken(token=token, family_id=family, expires_at=expires_at)


def revoke_family(session: Session, family_id: str, *, now: datetime) -> None:
    session.execute(
        update(models.RefreshToken)
        .where(models.RefreshToken.family_id == family_id, models.RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()


def rotate_refresh_token(
    session: Session,
    token: str,
    *,
    now: datetime,
    random: RandomSource,
) -> Rotation:
    """Use ``token`` once: its successor, or why not (the caller commits, then refuses).

    A token of an older generation than its user's (signed out everywhere) is invalid. The
    claim is one conditional UPDATE, so two concurrent uses of one token cannot both succeed.
    """
    row = session.get(models.RefreshToken, token_digest(token))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return Rotation(outcome=RotationOutcome.INVALID)
    claimed = session.execute(
        update(models.RefreshToken)
        .where(
            models.RefreshToken.token_digest == row.token_digest,
            models.RefreshToken.used_at.is_(None),
            models.RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(claimed) != 1:
        revoke_family(session, row.family_id, now=now)
        return Rotation(outcome=RotationOutcome.REUSED, used=row)
    if row.token_generation != current_token_generation(session, row.user_id):
        return Rotation(outcome=RotationOutcome.INVALID, used=row)
    successor = issue_refresh_token(
        session,
        user_id=row.user_id,
        account_id=row.account_id,
        token_generation=row.token_generation,
        is_mfa_authenticated=row.is_mfa_authenticated,
        authenticated_at=row.authenticated_at,
        now=now,
        random=random,
        family_id=row.family_id,
        expires_at=row.expires_at,
    )
    return Rotation(outcome=RotationOutcome.ROTATED, used=row, successor=successor)


def revoke_refresh_token(session: Session, token: str, *, now: datetime) -> str | None:
    """Revoke the family of ``token`` (Cognito ``RevokeToken``); return its user id, if any."""
    row = session.get(models.RefreshToken, token_digest(token))
    if row is None:
        return None
    revoke_family(session, row.family_id, now=now)
    return row.user_id


def _rowcount(result: object) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0
