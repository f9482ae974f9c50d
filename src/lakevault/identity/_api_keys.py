"""API keys for ingestion endpoints: ``X-Api-Key: lvk_<id>_<secret>``.

A key acts as the user who created it, narrowed by the key's scope — the actions and resources
it names and, when given, the source CIDRs it may come from — which travels as a session
policy, so the key can never do more than its creator may (the gate intersects them). Browser
origins are checked by the face before the gate. Only the SHA-256 of the 256-bit secret is
stored; the key is shown once. A key stops working when it expires, when it is deleted, or when
its creator is deleted. Rotation issues a replacement with the same scope and shortens the old
key's life to a grace period.

Every failure to authenticate is the same ``AccessDenied`` (``InvalidApiKey``).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault import iam
from lakevault.core import RandomSource
from lakevault.core.errors import (
    AccessDenied,
    EntityAlreadyExists,
    NoSuchEntity,
    ValidationError,
)
from lakevault.db import Database, models
from lakevault.identity._authenticate import user_principal
from lakevault.identity._principal import Principal
from lakevault.identity._users import user_row

PREFIX = "lvk"
MAX_TTL_DAYS = 365
DEFAULT_TTL_DAYS = 90
_KEY = re.compile(r"lvk_(?P<id>[A-Z2-7]{16})_(?P<secret>[A-Za-z0-9_-]{43})")
_ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9*?]+|\*")
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_INVALID = "the API key is not valid"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyInfo:
    key_id: str
    account_id: str
    name: str
    user_name: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    source_cidrs: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewApiKey:
    """A created key; ``key`` is the only readable copy of its secret, ever."""

    info: ApiKeyInfo
    key: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyCaller:
    """An authenticated API key: its principal (creator narrowed by the scope) and origins."""

    principal: Principal
    key_id: str
    allowed_origins: tuple[str, ...]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _validate_scope(
    actions: Sequence[str],
    resources: Sequence[str],
    source_cidrs: Sequence[str],
    allowed_origins: Sequence[str],
) -> None:
    if not actions or not all(_ACTION.fullmatch(a) for a in actions):
        raise ValidationError(
            "actions must be a non-empty list of 'service:Action' names (wildcards * and ? "
            "allowed), for example ['s3:PutObject']"
        )
    if not resources or not all(r == "*" or r.startswith("arn:") for r in resources):
        raise ValidationError(
            "resources must be a non-empty list of ARNs (or '*'), for example "
            "['arn:aws:s3:::ingest/*']"
        )
    for cidr in source_cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise ValidationError(
                "sourceCidrs must hold CIDR blocks such as '192.0.2.0/24'; one entry is not"
            ) from exc
    if not all(_ORIGIN.fullmatch(o) for o in allowed_origins):
        raise ValidationError(
            "allowedOrigins must hold origins such as 'https://upload.example.org'"
        )


def scope_policy(info: ApiKeyInfo) -> iam.Policy:
    """The key's scope as a session policy (what the key may do, at most)."""
    statement: dict[str, object] = {
        "Sid": "ApiKeyScope",
        "Effect": "Allow",
        "Action": list(info.actions),
        "Resource": list(info.resources),
    }
    if info.source_cidrs:
        statement["Condition"] = {"IpAddress": {"aws:SourceIp": list(info.source_cidrs)}}
    return iam.parse_policy(
        {"Version": "2012-10-17", "Statement": [statement]},
        kind=iam.PolicyKind.SESSION,
        policy_id=f"api-key:{info.key_id}",
    )


def _info(row: models.ApiKey, user_name: str) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row.key_id,
        account_id=row.account_id,
        name=row.name,
        user_name=user_name,
        actions=tuple(row.actions),
        resources=tuple(row.resources),
        source_cidrs=tuple(row.source_cidrs),
        allowed_origins=tuple(row.allowed_origins),
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )


def create_api_key(
    session: Session,
    *,
    account_id: str,
    user_name: str,
    name: str,
    actions: Sequence[str],
    resources: Sequence[str],
    source_cidrs: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    ttl_days: int = DEFAULT_TTL_DAYS,
    now: datetime,
    random: RandomSource,
) -> NewApiKey:
    if not _NAME.fullmatch(name):
        raise ValidationError("an API key name is 1 to 64 letters, digits and _ . -")
    if not 1 <= ttl_days <= MAX_TTL_DAYS:
        raise ValidationError(f"ttlDays must be between 1 and {MAX_TTL_DAYS}; got {ttl_days}")
    _validate_scope(actions, resources, source_cidrs, allowed_origins)
    user = user_row(session, account_id, user_name)
    if session.scalar(
        select(models.ApiKey.key_id).where(
            models.ApiKey.account_id == account_id, models.ApiKey.name == name
        )
    ):
        raise EntityAlreadyExists(f"an API key named {name} already exists in this tenant")
    key_id = base64.b32encode(random.token_bytes(10)).decode("ascii")
    secret = base64.urlsafe_b64encode(random.token_bytes(32)).decode("ascii").rstrip("=")
    row = models.ApiKey(
        key_id=key_id,
        account_id=account_id,
        name=name,
        user_id=user.user_id,
        secret_sha256=_digest(secret),
        actions=list(actions),
        resources=list(resources),
        source_cidrs=list(source_cidrs),
        allowed_origins=list(allowed_origins),
        created_at=now,
        expires_at=now + timedelta(days=ttl_days),
        last_used_at=None,
    )
    session.add(row)
    session.flush()
    return NewApiKey(info=_info(row, user.name), key=f"{PREFIX}_{key_id}_{secret}")


def _row(session: Session, account_id: str, name: str) -> models.ApiKey:
    row = session.scalar(
        select(models.ApiKey).where(
            models.ApiKey.account_id == account_id, models.ApiKey.name == name
        )
    )
    if row is None:
        raise NoSuchEntity(f"The API key with name {name} cannot be found.")
    return row


def _user_name(session: Session, user_id: str) -> str:
    user = session.get(models.User, user_id)
    return user.name if user is not None else ""


def list_api_keys(session: Session, account_id: str) -> list[ApiKeyInfo]:
    rows = session.scalars(
        select(models.ApiKey)
        .where(models.ApiKey.account_id == account_id)
        .order_by(models.ApiKey.name)
    )
    return [_info(row, _user_name(session, row.user_id)) for row in rows]


def delete_api_key(session: Session, account_id: str, name: str) -> None:
    session.delete(_row(session, account_id, name))
    session.flush()


def rotate_api_key(
    session: Session,
    account_id: str,
    name: str,
    *,
    new_name: str,
    grace_seconds: int,
    now: datetime,
    random: RandomSource,
) -> NewApiKey:
    """A replacement with the same scope; the old key keeps working for ``grace_seconds``."""
    if not 0 <= grace_seconds <= 7 * 86400:
        raise ValidationError("graceSeconds must be between 0 and 604800 (7 days)")
    old = _row(session, account_id, name)
    replacement = create_api_key(
        session,
        account_id=account_id,
        user_name=_user_name(session, old.user_id),
        name=new_name,
        actions=old.actions,
        resources=old.resources,
        source_cidrs=old.source_cidrs,
        allowed_origins=old.allowed_origins,
        ttl_days=max(1, min(MAX_TTL_DAYS, (old.expires_at - old.created_at).days)),
        now=now,
        random=random,
    )
    old.expires_at = min(old.expires_at, now + timedelta(seconds=grace_seconds))
    session.flush()
    return replacement


def api_key_caller(database: Database, presented: str, *, now: datetime) -> ApiKeyCaller:
    """Authenticate an ``X-Api-Key`` value; raise the one ``InvalidApiKey`` denial otherwise."""
    found = _KEY.fullmatch(presented.strip())
    if found is None:
        raise AccessDenied(_INVALID, code="InvalidApiKey")
    with database.read_session() as session:
        row = session.get(models.ApiKey, found["id"])
        user = session.get(models.User, row.user_id) if row is not None else None
        info = _info(row, user.name) if row is not None and user is not None else None
    expected = row.secret_sha256 if row is not None else _digest("absent")
    matches = hmac.compare_digest(_digest(found["secret"]), expected)
    if row is None or user is None or info is None or not matches or now >= row.expires_at:
        raise AccessDenied(_INVALID, code="InvalidApiKey")
    # The key id (never the secret) names the key in every audit event it causes.
    principal = dataclasses.replace(
        user_principal(user), session_policies=(scope_policy(info),), access_key_id=row.key_id
    )
    return ApiKeyCaller(
        principal=principal, key_id=row.key_id, allowed_origins=info.allowed_origins
    )


def api_key_principal(database: Database, key_id: str, *, now: datetime) -> Principal:
    """The principal of the API key ``key_id`` as it is now, without its secret.

    For a face that acts later on behalf of a key that authenticated earlier (a pre-signed URL
    minted with the key): the key must still exist, be unexpired and have its creator; the
    principal carries the key's current scope. Raises the one ``InvalidApiKey`` denial.
    """
    with database.read_session() as session:
        row = session.get(models.ApiKey, key_id)
        user = session.get(models.User, row.user_id) if row is not None else None
        info = _info(row, user.name) if row is not None and user is not None else None
    if row is None or user is None or info is None or now >= row.expires_at:
        raise AccessDenied(_INVALID, code="InvalidApiKey")
    return dataclasses.replace(
        user_principal(user), session_policies=(scope_policy(info),), access_key_id=row.key_id
    )
