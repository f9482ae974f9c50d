"""Per-user sign-in state: lockout after failed attempts, and the token generation.

* Lockout follows :class:`LockoutPolicy` (exponential backoff, bounded). While a user is
  locked, sign-in is refused without checking the password — with the same answer as a wrong
  password, so a lockout reveals nothing — and the refused attempts do not extend the lockout.
  ``unlock_user`` clears it (the documented recovery: ``lakevault userpool unlock`` or the
  admin API).
* ``token_generation`` is written into every access token and refresh token. "Sign out
  everywhere" increments it: every token of the older generation stops working at once, since
  each request compares the token's generation with the stored one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lakevault.db import models
from lakevault.identity._user_pool_rules import LockoutPolicy
from lakevault.identity._users import user_row


def sign_in_state(session: Session, user_id: str) -> models.UserSignInState:
    """The user's state row, created (race-free on both databases) when missing."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(models.UserSignInState)
        .values(user_id=user_id, failed_attempts=0, token_generation=1)
        .on_conflict_do_nothing()
    )
    state = session.get(models.UserSignInState, user_id, populate_existing=True)
    if state is None:  # pragma: no cover - the insert above guarantees the row
        raise LookupError(user_id)
    return state


def is_locked(state: models.UserSignInState, now: datetime) -> bool:
    return state.locked_until is not None and now < state.locked_until


def record_failure(
    session: Session, user_id: str, *, policy: LockoutPolicy, now: datetime
) -> models.UserSignInState:
    """Count a failed sign-in and lock the user when the policy says so."""
    state = sign_in_state(session, user_id)
    if is_locked(state, now):
        return state
    state.failed_attempts += 1
    state.last_failure_at = now
    seconds = policy.lockout_seconds(state.failed_attempts)
    state.locked_until = now + timedelta(seconds=seconds) if seconds else None
    session.flush()
    return state


def record_success(session: Session, user_id: str) -> models.UserSignInState:
    state = sign_in_state(session, user_id)
    if state.failed_attempts or state.locked_until is not None:
        state.failed_attempts = 0
        state.locked_until = None
        session.flush()
    return state


def unlock_user(session: Session, user_id: str) -> None:
    """End a lockout and forget the failed attempts."""
    state = sign_in_state(session, user_id)
    state.failed_attempts = 0
    state.locked_until = None
    session.flush()


def current_token_generation(session: Session, user_id: str) -> int:
    """The generation tokens of ``user_id`` must carry (1 before any sign-out everywhere)."""
    generation = session.scalar(
        select(models.UserSignInState.token_generation).where(
            models.UserSignInState.user_id == user_id
        )
    )
    return 1 if generation is None else int(generation)


def sign_out_everywhere(session: Session, user_id: str, *, now: datetime) -> int:
    """Invalidate every access and refresh token of the user; return the new generation."""
    state = sign_in_state(session, user_id)
    state.token_generation += 1
    state.signed_out_at = now
    session.execute(
        update(models.RefreshToken)
        .where(models.RefreshToken.user_id == user_id, models.RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return state.token_generation


def user_id_of(session: Session, account_id: str, user_name: str) -> str:
    """The id of a tenant's user; raise ``NoSuchEntity`` naming the user."""
    return user_row(session, account_id, user_name).user_id
