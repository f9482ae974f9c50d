"""Tables of the user pool: pools, their groups and members, sign-in state, MFA, codes,
refresh tokens, pending sign-in challenges and the mail outbox.

A pool member is an IAM user of the tenant (``users``) with a row in ``user_pool_members``, so
policies reach pool users through IAM groups exactly as they reach any user. Secrets are not
stored: codes, refresh tokens and challenge sessions are kept as digests, and TOTP secrets are
derived from the platform root key and the device's enrollment id (docs/user-pool.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class UserPool(Base):
    """A tenant's user pool (one per tenant) and its sign-in rules."""

    __tablename__ = "user_pools"

    pool_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.account_id", ondelete="RESTRICT"), unique=True
    )
    name: Mapped[str] = mapped_column(String(128))
    mfa_configuration: Mapped[str] = mapped_column(String(8))
    allow_self_sign_up: Mapped[bool] = mapped_column(Boolean)
    password_min_length: Mapped[int] = mapped_column(Integer)
    password_require_uppercase: Mapped[bool] = mapped_column(Boolean)
    password_require_lowercase: Mapped[bool] = mapped_column(Boolean)
    password_require_digits: Mapped[bool] = mapped_column(Boolean)
    password_require_symbols: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class UserPoolGroup(Base):
    """A pool group (``student``, ``instructor``...) and the IAM group that gives it policies."""

    __tablename__ = "user_pool_groups"

    pool_id: Mapped[str] = mapped_column(
        ForeignKey("user_pools.pool_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.group_id", ondelete="CASCADE"), unique=True
    )
    mfa_required: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class UserPoolMember(Base):
    """An IAM user who belongs to a pool: contact address and confirmation status."""

    __tablename__ = "user_pool_members"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )
    pool_id: Mapped[str] = mapped_column(
        ForeignKey("user_pools.pool_id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime]


class UserSignInState(Base):
    """Failed sign-ins (for lockout) and the token generation (for sign-out everywhere)."""

    __tablename__ = "user_sign_in_states"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )
    failed_attempts: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_failure_at: Mapped[datetime | None] = mapped_column(nullable=True)
    token_generation: Mapped[int] = mapped_column(Integer)
    signed_out_at: Mapped[datetime | None] = mapped_column(nullable=True)


class UserMFADevice(Base):
    """A user's TOTP authenticator. The secret is derived from ``enrollment_id``, not stored."""

    __tablename__ = "user_mfa_devices"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )
    enrollment_id: Mapped[str] = mapped_column(String(32))
    is_confirmed: Mapped[bool] = mapped_column(Boolean)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class UserPoolCode(Base):
    """A pending one-time code (email verification or password reset), stored as an HMAC."""

    __tablename__ = "user_pool_codes"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    failed_attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class RefreshToken(Base):
    """One refresh token of a family (a sign-in); rotated on use, stored as a SHA-256 digest."""

    __tablename__ = "refresh_tokens"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(String(12))
    token_generation: Mapped[int] = mapped_column(Integer)
    is_mfa_authenticated: Mapped[bool] = mapped_column(Boolean)
    authenticated_at: Mapped[datetime]
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SignInChallenge(Base):
    """A sign-in that passed the password and waits for an MFA code (single use)."""

    __tablename__ = "sign_in_challenges"

    challenge_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    failed_attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class UserPoolMail(Base):
    """A message to a pool user. Delivered by a job; the outbox sender keeps it for the admin,
    the SMTP sender erases the body once the server has accepted it."""

    __tablename__ = "user_pool_mail"

    message_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
