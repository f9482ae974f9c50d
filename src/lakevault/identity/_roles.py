"""Roles of a tenant and their trust policies.

A trust policy is a resource policy on the role, validated as one when it is written (it must
name a ``Principal``), so a role can never hold a trust document the engine would refuse later.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lakevault import iam
from lakevault.core import RandomSource, new_entity_id
from lakevault.core.errors import (
    Conflict,
    EntityAlreadyExists,
    MalformedPolicyDocument,
    NoSuchEntity,
    ValidationError,
)
from lakevault.db import models
from lakevault.identity._converters import role_info
from lakevault.identity._entities import RoleInfo
from lakevault.identity._names import (
    EntityKind,
    check_name,
    check_path,
    entity_arn,
    validate_tags,
)
from lakevault.identity._tenants import get_tenant
from lakevault.identity._users import count_inline_policies

MIN_SESSION_SECONDS = 3600
MAX_SESSION_SECONDS = 43200


def role_row(session: Session, account_id: str, name: str) -> models.Role:
    row = session.scalar(
        select(models.Role).where(models.Role.account_id == account_id, models.Role.name == name)
    )
    if row is None:
        raise NoSuchEntity(f"The role with name {name} cannot be found.")
    return row


def normalise_document(document: str | Mapping[str, Any], kind: iam.PolicyKind) -> str:
    """Validate a policy document for ``kind``; return it as the JSON text that is stored.

    Text is kept as given (AWS returns documents as they were written); a mapping is
    serialised. Raises ``MalformedPolicyDocument`` with the JSON path of the first problem.
    """
    text = document if isinstance(document, str) else orjson.dumps(dict(document)).decode("utf-8")
    iam.parse_policy(text, kind=kind)
    return text


def normalise_trust_policy(document: str | Mapping[str, Any]) -> str:
    """A trust policy is a resource policy whose every statement names who may assume the role
    (AWS refuses one without ``Principal`` with "Missing required field Principal")."""
    text = normalise_document(document, iam.PolicyKind.RESOURCE)
    for statement in iam.parse_policy(text, kind=iam.PolicyKind.RESOURCE).statements:
        if statement.principals is None and statement.not_principals is None:
            raise MalformedPolicyDocument(
                f"Missing required field Principal (trust policy statement {statement.index})"
            )
    return text


def create_role(
    session: Session,
    *,
    account_id: str,
    name: str,
    trust_policy: str | Mapping[str, Any],
    path: str = "/",
    description: str = "",
    max_session_duration_seconds: int = 3600,
    tags: dict[str, str] | None = None,
    now: datetime,
    random: RandomSource,
) -> RoleInfo:
    check_name(EntityKind.ROLE, name, parameter="roleName")
    check_path(path)
    if not MIN_SESSION_SECONDS <= max_session_duration_seconds <= MAX_SESSION_SECONDS:
        raise ValidationError(
            "maxSessionDuration must be between 3600 and 43200 seconds (1 to 12 hours); got "
            f"{max_session_duration_seconds}"
        )
    if len(description) > 1000:
        raise ValidationError(f"description is at most 1000 characters; got {len(description)}")
    document = normalise_trust_policy(trust_policy)
    get_tenant(session, account_id)
    if session.scalar(
        select(models.Role.role_id).where(
            models.Role.account_id == account_id, models.Role.name == name
        )
    ):
        raise EntityAlreadyExists(f"Role with name {name} already exists.")
    row = models.Role(
        role_id=new_entity_id("LVRO", random),
        account_id=account_id,
        name=name,
        path=path,
        arn=entity_arn(account_id, EntityKind.ROLE, name, path),
        description=description,
        trust_policy=document,
        max_session_duration_seconds=max_session_duration_seconds,
        tags=validate_tags(tags or {}),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return role_info(row)


def get_role(session: Session, account_id: str, name: str) -> RoleInfo:
    return role_info(role_row(session, account_id, name))


def list_roles(session: Session, account_id: str) -> list[RoleInfo]:
    rows = session.scalars(
        select(models.Role).where(models.Role.account_id == account_id).order_by(models.Role.name)
    )
    return [role_info(row) for row in rows]


def update_trust_policy(
    session: Session, account_id: str, name: str, trust_policy: str | Mapping[str, Any]
) -> RoleInfo:
    row = role_row(session, account_id, name)
    row.trust_policy = normalise_trust_policy(trust_policy)
    session.flush()
    return role_info(row)


def delete_role(session: Session, account_id: str, name: str) -> RoleInfo:
    row = role_row(session, account_id, name)
    attached = session.scalar(
        select(func.count()).where(models.RolePolicyAttachment.role_id == row.role_id)
    )
    inline = count_inline_policies(session, EntityKind.ROLE, row.role_id)
    if attached or inline:
        raise Conflict(
            f"Cannot delete entity, must detach all policies ({attached} attached, {inline} "
            "inline) first.",
            code="DeleteConflict",
        )
    info = role_info(row)
    session.delete(row)
    session.flush()
    return info
