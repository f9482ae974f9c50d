"""Turning long-term credentials into a :class:`Principal`.

Every failure — unknown account, unknown user, user without a password, wrong password — is
the same ``AccessDenied`` with the same message, and an unknown user still costs one argon2
verification, so neither the answer nor its timing tells which part was wrong.
"""

from __future__ import annotations

import functools

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
    stop working at once, before they expire.
    """
    with database.read_session() as session:
        user = session.get(models.User, claims.principal_id)
    if user is None or user.arn != claims.principal_arn:
        raise AccessDenied("the access token is not valid; sign in again", code="InvalidToken")
    return user_principal(user)


def user_principal(user: models.User) -> Principal:
    return Principal(
        arn=user.arn,
        account_id=user.account_id,
        principal_id=user.user_id,
        identity_type=IdentityType.IAM_USER,
        username=user.name,
        tags=dict(user.tags),
    )
