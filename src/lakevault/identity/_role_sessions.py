"""STS sessions: the temporary credentials ``AssumeRole`` (and ``AssumeRoleWithWebIdentity``)
and ``GetSessionToken`` hand out, and who they are.

A role session is a row (role, name, who assumed it, session policy, session tags and which of
them are transitive, expiry); a user session (``GetSessionToken``) is a row (user, whether MFA
was presented, expiry). Secrets and session tokens are derived from the platform root key and
the session's key id, so nothing secret is stored. A role session stops working when it
expires, when its role is deleted, or when the role's sessions issued before a time are
revoked; a user session when it expires or its user is deleted — every request looks it up.

Session tags follow AWS's rules for role chaining: the tags a session marked transitive carry
into every session assumed from it, stay transitive, and cannot be overridden.

Deciding *whether* a caller may assume the role is the gate's job (the directory asks it with
the role's trust policy); this module only issues and resolves the credentials.
"""

from __future__ import annotations

import dataclasses
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.orm import Session

from lakevault import iam
from lakevault.audit import IdentityType
from lakevault.core import RandomSource
from lakevault.core.errors import (
    AccessDenied,
    InvalidInput,
    InvalidParameterValue,
    ValidationError,
)
from lakevault.db import Database, models
from lakevault.identity._access_keys import new_key_id
from lakevault.identity._authenticate import principal_from_row
from lakevault.identity._errors import InvalidAccessKeyId
from lakevault.identity._mfa import check_device_code, confirmed_device
from lakevault.identity._names import validate_tags
from lakevault.identity._principal import Principal
from lakevault.identity._sigv4_verify import SigningCredential
from lakevault.kms import PlatformRootKey

SECRET_PURPOSE = "sts-session-secret"  # noqa: S105 - a derivation label, not a secret
TOKEN_PURPOSE = "sts-session-token"  # noqa: S105 - a derivation label, not a secret
MIN_DURATION_SECONDS = 900
MAX_SESSION_POLICY_CHARACTERS = 2048
MAX_SESSION_TAGS = 50
#: AWS caps a session assumed with temporary role credentials (role chaining) at one hour.
ROLE_CHAINING_MAX_DURATION_SECONDS = 3600
#: GetSessionToken: 15 minutes to 36 hours, 12 hours unless asked otherwise (AWS's numbers).
SESSION_TOKEN_MIN_SECONDS = 900
SESSION_TOKEN_MAX_SECONDS = 129_600
SESSION_TOKEN_DEFAULT_SECONDS = 43_200
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TemporaryCredentials:
    """What AssumeRole returns; secret and token are shown in this answer only."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    assumed_role_arn: str
    assumed_role_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionCredentials:
    """What GetSessionToken returns; secret and token are shown in this answer only."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionTags:
    """The tags of a new role session and which of their keys are transitive."""

    tags: Mapping[str, str]
    transitive_keys: tuple[str, ...]


def chain_session_tags(
    *,
    requested: Mapping[str, str],
    transitive_keys: Sequence[str],
    inherited: Mapping[str, str],
    inherited_transitive_keys: Sequence[str],
) -> SessionTags:
    """Combine a request's session tags with those a role session passes down (AWS's rules).

    * Tag keys are compared without case; a request may not name a key twice.
    * Every transitive key must be one of the request's tag keys.
    * The caller's transitive tags carry into the new session and stay transitive; a request
      that names one of their keys again (whatever the value) is refused: they cannot be
      overridden down a role chain.
    * At most 50 tags in all.

    Raises ``InvalidParameterValue`` (or ``ValidationError`` for AWS's tag-shape rules).
    """
    requested = validate_tags(dict(requested))
    folded = {key.lower() for key in requested}
    if len(folded) != len(requested):
        raise InvalidParameterValue(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        )
    for key in transitive_keys:
        if key.lower() not in folded:
            raise InvalidParameterValue(
                f"the transitive tag key {key!r} is not one of the session tags; list only "
                "keys of the tags passed in Tags as TransitiveTagKeys"
            )
    carried = {key: inherited[key] for key in inherited_transitive_keys if key in inherited}
    carried_folded = {key.lower() for key in carried}
    for key in requested:
        if key.lower() in carried_folded:
            raise InvalidParameterValue(
                f"the session tag {key!r} is a transitive tag of the calling session; "
                "transitive tags carry down a role chain and cannot be overridden: leave it out"
            )
    tags = {**carried, **requested}
    if len(tags) > MAX_SESSION_TAGS:
        raise ValidationError(
            f"at most {MAX_SESSION_TAGS} session tags are allowed, including the "
            f"{len(carried)} transitive tags of the calling session; got {len(tags)}"
        )
    marked = {key.lower() for key in transitive_keys}
    transitive = (*carried, *(key for key in requested if key.lower() in marked))
    return SessionTags(tags=tags, transitive_keys=transitive)


def assumed_role_arn(account_id: str, role_name: str, session_name: str) -> str:
    return f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}"


def check_session_request(
    *, session_name: str, duration_seconds: int, max_duration_seconds: int, policy: str | None
) -> iam.Policy | None:
    """Validate AssumeRole's parameters; return the parsed session policy, if any."""
    if not _SESSION_NAME.fullmatch(session_name):
        raise ValidationError(
            "1 validation error detected: Value at 'roleSessionName' failed to satisfy "
            "constraint: 2 to 64 characters of letters, digits and + = , . @ _ -"
        )
    if not MIN_DURATION_SECONDS <= duration_seconds <= max_duration_seconds:
        raise ValidationError(
            f"The requested DurationSeconds ({duration_seconds}) must be between "
            f"{MIN_DURATION_SECONDS} and the role's MaxSessionDuration ({max_duration_seconds})."
        )
    if policy is None:
        return None
    if len(policy) > MAX_SESSION_POLICY_CHARACTERS:
        raise ValidationError(
            f"the session policy has {len(policy)} characters; at most "
            f"{MAX_SESSION_POLICY_CHARACTERS} are allowed"
        )
    return iam.parse_policy(policy, kind=iam.PolicyKind.SESSION, policy_id="session-policy")


def create_role_session(
    session: Session,
    role: models.Role,
    *,
    session_name: str,
    source_arn: str,
    duration_seconds: int,
    policy: str | None,
    tags: SessionTags,
    root_key: PlatformRootKey,
    now: datetime,
    random: RandomSource,
) -> TemporaryCredentials:
    """Record a session of ``role`` (already authorised) and derive its credentials.

    ``tags`` come from :func:`chain_session_tags`, which has checked them.
    """
    check_session_request(
        session_name=session_name,
        duration_seconds=duration_seconds,
        max_duration_seconds=role.max_session_duration_seconds,
        policy=policy,
    )
    row = models.RoleSession(
        access_key_id=new_key_id("LSIA", random),
        role_id=role.role_id,
        account_id=role.account_id,
        session_name=session_name,
        source_arn=source_arn,
        session_policy=policy,
        tags=dict(tags.tags),
        transitive_tag_keys=list(tags.transitive_keys),
        created_at=now,
        expires_at=now + timedelta(seconds=duration_seconds),
    )
    session.add(row)
    session.flush()
    return TemporaryCredentials(
        access_key_id=row.access_key_id,
        secret_access_key=_secret(root_key, row.access_key_id),
        session_token=_token(root_key, row.access_key_id),
        expiration=row.expires_at,
        assumed_role_arn=assumed_role_arn(role.account_id, role.name, session_name),
        assumed_role_id=f"{role.role_id}:{session_name}",
    )


def _secret(root_key: PlatformRootKey, access_key_id: str) -> str:
    return root_key.derive_secret(purpose=SECRET_PURPOSE, identifier=access_key_id)


def _token(root_key: PlatformRootKey, access_key_id: str) -> str:
    return root_key.derive_secret(purpose=TOKEN_PURPOSE, identifier=access_key_id)


def _signing_credential(
    root_key: PlatformRootKey, principal: Principal
) -> SigningCredential[Principal]:
    """What the SigV4 verifier checks a temporary credential's request against."""
    key_id = principal.access_key_id or ""
    return SigningCredential(
        access_key_id=key_id,
        secret_access_key=_secret(root_key, key_id),
        principal=principal,
        session_token=_token(root_key, key_id),
    )


def _expired() -> AccessDenied:
    return AccessDenied(
        "The security token included in the request is expired", code="ExpiredToken"
    )


_ROLE_SESSION_ROW = (
    "SELECT s.session_name, s.session_policy, s.tags, s.transitive_tag_keys, s.created_at, "
    "s.expires_at, r.role_id, r.account_id, r.name, r.arn, r.sessions_revoked_before "
    "FROM role_sessions s JOIN roles r ON r.role_id = s.role_id WHERE s.access_key_id = ?"
)
_USER_SESSION_ROW = (
    "SELECT u.user_id, u.account_id, u.name, u.arn, u.tags, s.mfa_authenticated, s.expires_at "
    "FROM user_sessions s JOIN users u ON u.user_id = s.user_id WHERE s.access_key_id = ?"
)


def _utc(value: Any) -> datetime:
    """A timestamp as the driver returns it (text on SQLite), as an aware UTC datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def session_credential(
    database: Database, root_key: PlatformRootKey, access_key_id: str, *, now: datetime
) -> SigningCredential[Principal]:
    """The SigV4 lookup for temporary credentials: refuse expired or revoked sessions.

    One primary-key read on the raw driver path per request (role session with its role, or
    user session with its user), like the other per-request lookups (docs/performance.md):
    nothing is cached, so an expired, revoked or deleted session stops at once.
    """
    row = database.fetch_one(_ROLE_SESSION_ROW, (access_key_id,))
    if row is None:
        user_row = database.fetch_one(_USER_SESSION_ROW, (access_key_id,))
        if user_row is not None:
            return _user_session_credential(root_key, access_key_id, user_row, now=now)
        raise InvalidAccessKeyId(
            "The AWS Access Key Id you provided does not exist in our records."
        )
    (session_name, session_policy, tags, transitive, created_at, expires_at) = row[:6]
    role_id, account_id, role_name, role_arn, revoked = row[6:]
    if now >= _utc(expires_at):
        raise _expired()
    if revoked is not None and _utc(created_at) < _utc(revoked):
        raise AccessDenied(
            "the role's sessions issued before "
            f"{_utc(revoked):%Y-%m-%dT%H:%M:%SZ} were revoked; assume the role again",
            code="ExpiredToken",
        )
    policies: tuple[iam.Policy, ...] = ()
    if session_policy is not None:
        policies = (
            iam.parse_policy(
                session_policy, kind=iam.PolicyKind.SESSION, policy_id="session-policy"
            ),
        )
    principal = Principal(
        arn=assumed_role_arn(account_id, role_name, session_name),
        account_id=account_id,
        principal_id=f"{role_id}:{session_name}",
        identity_type=IdentityType.ASSUMED_ROLE,
        username=None,
        tags=dict(_json(tags) or {}),
        session_policies=policies,
        role_arn=role_arn,
        transitive_tag_keys=tuple(_json(transitive) or ()),
        access_key_id=access_key_id,
        is_temporary=True,
    )
    return _signing_credential(root_key, principal)


def _user_session_credential(
    root_key: PlatformRootKey, access_key_id: str, row: tuple[Any, ...], *, now: datetime
) -> SigningCredential[Principal]:
    """A GetSessionToken session acts as its user (looked up afresh), with its MFA flag."""
    mfa_authenticated, expires_at = row[5:]
    if now >= _utc(expires_at):
        raise _expired()
    principal = dataclasses.replace(
        principal_from_row(row[:5]),
        mfa_authenticated=bool(mfa_authenticated),
        access_key_id=access_key_id,
        is_temporary=True,
    )
    return _signing_credential(root_key, principal)


def check_session_token_duration(duration_seconds: int, *, max_seconds: int) -> None:
    """GetSessionToken's DurationSeconds: 900 up to 129,600 (36 h), capped by ``max_seconds``."""
    ceiling = min(SESSION_TOKEN_MAX_SECONDS, max_seconds)
    if not SESSION_TOKEN_MIN_SECONDS <= duration_seconds <= ceiling:
        raise ValidationError(
            f"The requested DurationSeconds ({duration_seconds}) must be between "
            f"{SESSION_TOKEN_MIN_SECONDS} and {ceiling} seconds."
        )


def create_user_session(
    session: Session,
    user: models.User,
    *,
    serial_number: str | None,
    token_code: str | None,
    duration_seconds: int,
    root_key: PlatformRootKey,
    now: datetime,
    random: RandomSource,
) -> SessionCredentials:
    """Record a GetSessionToken session of ``user`` (already authorised) and derive its
    credentials; with ``serial_number`` (the ARN of the user's MFA device) and a current
    ``token_code`` of it the session counts as MFA-authenticated.

    Raises ``InvalidParameterValue`` when only one of the two is given and ``AccessDenied``
    when the device or the code is wrong (a code is accepted once).
    """
    if (serial_number is None) != (token_code is None):
        raise InvalidParameterValue(
            "give both SerialNumber (the ARN of your MFA device) and TokenCode, or neither"
        )
    if serial_number is not None and token_code is not None:
        device_arn = mfa_device_arn(user.account_id, user.name)
        device = confirmed_device(session, user.user_id)
        if device is None or not hmac.compare_digest(serial_number, device_arn):
            raise AccessDenied(
                "MultiFactorAuthentication failed: SerialNumber names no MFA device of this "
                f"user; once the user has set one up, it is {device_arn}"
            )
        try:
            check_device_code(session, device, token_code, root_key=root_key, now=now)
        except InvalidInput as exc:
            raise AccessDenied(
                "MultiFactorAuthentication failed with invalid MFA one time pass code."
            ) from exc
    row = models.UserSession(
        access_key_id=new_key_id("LSIA", random),
        user_id=user.user_id,
        account_id=user.account_id,
        mfa_authenticated=token_code is not None,
        created_at=now,
        expires_at=now + timedelta(seconds=duration_seconds),
    )
    session.add(row)
    session.flush()
    return SessionCredentials(
        access_key_id=row.access_key_id,
        secret_access_key=_secret(root_key, row.access_key_id),
        session_token=_token(root_key, row.access_key_id),
        expiration=row.expires_at,
    )


def mfa_device_arn(account_id: str, user_name: str) -> str:
    """The ARN that names a user's MFA device (its ``SerialNumber``)."""
    return f"arn:aws:iam::{account_id}:mfa/{user_name}"


def revoke_role_sessions(session: Session, role: models.Role, *, now: datetime) -> None:
    """Make every session of ``role`` issued before ``now`` stop working."""
    role.sessions_revoked_before = now
    session.flush()


def session_policy_text(policy: object) -> str | None:
    """A session policy given as a mapping or text, as the text that is stored."""
    if policy is None:
        return None
    return policy if isinstance(policy, str) else orjson.dumps(policy).decode("utf-8")
