"""Role sessions: the temporary credentials ``sts:AssumeRole`` hands out, and who they are.

A session is a row (role, name, who assumed it, session policy and tags, expiry); its secret and
session token are derived from the platform root key and the session's key id, so nothing
secret is stored. A session stops working when it expires, when its role is deleted, or when
the role's sessions issued before a time are revoked — every request looks it up.

Deciding *whether* a caller may assume the role is the gate's job (the directory asks it with
the role's trust policy); this module only issues and resolves the credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from sqlalchemy.orm import Session

from lakevault import iam
from lakevault.audit import IdentityType
from lakevault.core import RandomSource
from lakevault.core.errors import AccessDenied, ValidationError
from lakevault.db import Database, models
from lakevault.identity._access_keys import new_key_id
from lakevault.identity._errors import InvalidAccessKeyId
from lakevault.identity._names import validate_tags
from lakevault.identity._principal import Principal
from lakevault.identity._sigv4_verify import SigningCredential
from lakevault.kms import PlatformRootKey

SECRET_PURPOSE = "sts-session-secret"  # noqa: S105 - a derivation label, not a secret
TOKEN_PURPOSE = "sts-session-token"  # noqa: S105 - a derivation label, not a secret
MIN_DURATION_SECONDS = 900
MAX_SESSION_POLICY_CHARACTERS = 2048
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
    tags: dict[str, str],
    root_key: PlatformRootKey,
    now: datetime,
    random: RandomSource,
) -> TemporaryCredentials:
    """Record a session of ``role`` (already authorised) and derive its credentials."""
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
        tags=validate_tags(tags),
        created_at=now,
        expires_at=now + timedelta(seconds=duration_seconds),
    )
    session.add(row)
    session.flush()
    return TemporaryCredentials(
        access_key_id=row.access_key_id,
        secret_access_key=root_key.derive_secret(
            purpose=SECRET_PURPOSE, identifier=row.access_key_id
        ),
        session_token=root_key.derive_secret(purpose=TOKEN_PURPOSE, identifier=row.access_key_id),
        expiration=row.expires_at,
        assumed_role_arn=assumed_role_arn(role.account_id, role.name, session_name),
        assumed_role_id=f"{role.role_id}:{session_name}",
    )


def session_credential(
    database: Database, root_key: PlatformRootKey, access_key_id: str, *, now: datetime
) -> SigningCredential[Principal]:
    """The SigV4 lookup for temporary credentials: refuse expired or revoked sessions."""
    with database.read_session() as session:
        row = session.get(models.RoleSession, access_key_id)
        role = session.get(models.Role, row.role_id) if row is not None else None
    if row is None or role is None:
        raise InvalidAccessKeyId(
            "The AWS Access Key Id you provided does not exist in our records."
        )
    expires_at = (
        row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=now.tzinfo)
    )
    created_at = (
        row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=now.tzinfo)
    )
    if now >= expires_at:
        raise AccessDenied(
            "The security token included in the request is expired", code="ExpiredToken"
        )
    revoked = role.sessions_revoked_before
    if revoked is not None and created_at < (
        revoked if revoked.tzinfo else revoked.replace(tzinfo=now.tzinfo)
    ):
        raise AccessDenied(
            "the role's sessions issued before "
            f"{revoked:%Y-%m-%dT%H:%M:%SZ} were revoked; assume the role again",
            code="ExpiredToken",
        )
    policies: tuple[iam.Policy, ...] = ()
    if row.session_policy is not None:
        policies = (
            iam.parse_policy(
                row.session_policy, kind=iam.PolicyKind.SESSION, policy_id="session-policy"
            ),
        )
    principal = Principal(
        arn=assumed_role_arn(role.account_id, role.name, row.session_name),
        account_id=role.account_id,
        principal_id=f"{role.role_id}:{row.session_name}",
        identity_type=IdentityType.ASSUMED_ROLE,
        username=None,
        tags=dict(row.tags),
        session_policies=policies,
        role_arn=role.arn,
    )
    return SigningCredential(
        access_key_id=access_key_id,
        secret_access_key=root_key.derive_secret(purpose=SECRET_PURPOSE, identifier=access_key_id),
        principal=principal,
        session_token=root_key.derive_secret(purpose=TOKEN_PURPOSE, identifier=access_key_id),
    )


def revoke_role_sessions(session: Session, role: models.Role, *, now: datetime) -> None:
    """Make every session of ``role`` issued before ``now`` stop working."""
    role.sessions_revoked_before = now
    session.flush()


def session_policy_text(policy: object) -> str | None:
    """A session policy given as a mapping or text, as the text that is stored."""
    if policy is None:
        return None
    return policy if isinstance(policy, str) else orjson.dumps(policy).decode("utf-8")
