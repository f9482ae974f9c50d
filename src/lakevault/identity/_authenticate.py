"""Turning long-term credentials into a :class:`Principal`.

Every failure — unknown account, unknown user, user without a password, wrong password — is
the same ``AccessDenied`` with the same message, and an unknown user still costs one argon2
verification, so neither the answer nor its timing tells which part was wrong.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import orjson
from sqlalchemy import select

from lakevault.audit import IdentityType
from lakevault.core.errors import AccessDenied
from lakevault.db import Database, models
from lakevault.identity._passwords import hash_password, is_password_valid
from lakevault.identity._principal import Principal
from lakevault.identity._tokens import TokenClaims

_SIGN_IN_FAILED = "sign-in failed: the account id, user name or password is wrong"


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist (computed on first use)."""
    return hash_password("lakevault-timing-equaliser")


def authenticate_password(
    database: Database, *, account_id: str, user_name: str, password: str
) -> Principal:
    """Check a user's password; return the user's principal or raise ``AccessDenied``."""
    with database.read_session() as session:
        user = session.scalar(
            select(models.User).where(
                models.User.account_id == account_id, models.User.name == user_name
            )
        )
    if user is None or user.password_hash is None:
        is_password_valid(_dummy_hash(), password)
        raise AccessDenied(_SIGN_IN_FAILED)
    if not is_password_valid(user.password_hash, password):
        raise AccessDenied(_SIGN_IN_FAILED)
    return user_principal(user)


def principal_for_token(database: Database, claims: TokenClaims) -> Principal:
    """The principal a verified token speaks for, looked up afresh on every request.

    A user deleted (or renamed) after the token was issued no longer matches, so its tokens
    stop working at once, before they expire. The lookup is one primary-key read on the raw
    driver path: it runs on every authenticated request.
    """
    row = database.fetch_one(
        "SELECT u.user_id, u.account_id, u.name, u.arn, u.tags, s.token_generation FROM users u "
        "LEFT JOIN user_sign_in_states s ON s.user_id = u.user_id WHERE u.user_id = ?",
        (claims.principal_id,),
        # Inside a request's generation snapshot, the same read fetches the cache
        # generations for the request (ADR 0241).
        with_generations=True,
    )
    # A user who signed out everywhere has a newer token generation than the token's
    # (docs/user-pool.md): the token stops at once. No state row means generation 1.
    if (
        row is None
        or row[3] != claims.principal_arn
        or (row[5] if row[5] is not None else 1) != claims.token_generation
    ):
        raise AccessDenied("the access token is not valid; sign in again", code="InvalidToken")
    principal = principal_from_row(row)
    if claims.mfa_authenticated:
        principal = dataclasses.replace(principal, mfa_authenticated=True)
    return principal


def principal_from_row(row: tuple[Any, ...]) -> Principal:
    """A user's principal from ``(user_id, account_id, name, arn, tags)``."""
    user_id, account_id, name, arn, tags = row[:5]
    if isinstance(tags, str | bytes):
        tags = orjson.loads(tags)
    return Principal(
        arn=arn,
        account_id=account_id,
        principal_id=user_id,
        identity_type=IdentityType.IAM_USER,
        username=name,
        tags=dict(tags or {}),
    )


def user_principal(user: models.User) -> Principal:
    return Principal(
        arn=user.arn,
        account_id=user.account_id,
        principal_id=user.user_id,
        identity_type=IdentityType.IAM_USER,
        username=user.name,
        tags=dict(user.tags),
    )
