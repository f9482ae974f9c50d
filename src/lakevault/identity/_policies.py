"""Managed policies and their versions, inline policies, attachments, boundaries, guardrails.

Managed policies keep at most five versions, one of them the default (the one that is in
force), like AWS. Every document is validated for the role it will play before it is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from lakevault import iam
from lakevault.core import PLATFORM_ACCOUNT_ID, RandomSource, new_entity_id
from lakevault.core.errors import (
    Conflict,
    EntityAlreadyExists,
    InvalidParameterValue,
    LimitExceeded,
    NoSuchEntity,
)
from lakevault.db import models
from lakevault.identity._converters import policy_info
from lakevault.identity._entities import PolicyInfo, PolicyVersionInfo
from lakevault.identity._names import (
    EntityKind,
    check_name,
    check_path,
    entity_arn,
    parse_policy_arn,
)
from lakevault.identity._roles import normalise_document, role_row
from lakevault.identity._tenants import get_organization, get_tenant
from lakevault.identity._users import group_row, user_row

MAX_VERSIONS = 5
MAX_ATTACHED_PER_PRINCIPAL = 20


def policy_row(session: Session, arn: str) -> models.Policy:
    parse_policy_arn(arn)
    row = session.scalar(select(models.Policy).where(models.Policy.arn == arn))
    if row is None:
        raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
    return row


def create_policy(
    session: Session,
    *,
    account_id: str,
    name: str,
    document: str | Mapping[str, Any],
    path: str = "/",
    description: str = "",
    now: datetime,
    random: RandomSource,
) -> PolicyInfo:
    check_name(EntityKind.POLICY, name, parameter="policyName")
    check_path(path)
    text = normalise_document(document, iam.PolicyKind.IDENTITY)
    get_tenant(session, account_id)
    if session.scalar(
        select(models.Policy.policy_id).where(
            models.Policy.account_id == account_id, models.Policy.name == name
        )
    ):
        raise EntityAlreadyExists(
            f"A policy called {name} already exists. Duplicate names are not allowed."
        )
    row = models.Policy(
        policy_id=new_entity_id("LVPO", random),
        account_id=account_id,
        name=name,
        path=path,
        description=description,
        arn=entity_arn(account_id, EntityKind.POLICY, name, path),
        default_version_id="v1",
        next_version_number=2,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    session.add(
        models.PolicyVersion(
            policy_id=row.policy_id, version_id="v1", document=text, created_at=now
        )
    )
    session.flush()
    return policy_info(row)


def get_policy(session: Session, arn: str) -> PolicyInfo:
    return policy_info(policy_row(session, arn))


def list_policies(session: Session, account_id: str) -> list[PolicyInfo]:
    rows = session.scalars(
        select(models.Policy)
        .where(models.Policy.account_id == account_id)
        .order_by(models.Policy.name)
    )
    return [policy_info(row) for row in rows]


def _version_info(row: models.PolicyVersion, policy: models.Policy) -> PolicyVersionInfo:
    return PolicyVersionInfo(
        policy_arn=policy.arn,
        version_id=row.version_id,
        document=row.document,
        is_default=row.version_id == policy.default_version_id,
        created_at=row.created_at,
    )


def create_policy_version(
    session: Session,
    arn: str,
    document: str | Mapping[str, Any],
    *,
    set_as_default: bool,
    now: datetime,
) -> PolicyVersionInfo:
    policy = policy_row(session, arn)
    text = normalise_document(document, iam.PolicyKind.IDENTITY)
    count = session.scalar(
        select(func.count()).where(models.PolicyVersion.policy_id == policy.policy_id)
    )
    if (count or 0) >= MAX_VERSIONS:
        raise LimitExceeded(
            f"A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new "
            "version, you must delete an existing version."
        )
    version_id = f"v{policy.next_version_number}"
    policy.next_version_number += 1
    row = models.PolicyVersion(
        policy_id=policy.policy_id, version_id=version_id, document=text, created_at=now
    )
    session.add(row)
    if set_as_default:
        policy.default_version_id = version_id
    policy.updated_at = now
    session.flush()
    return _version_info(row, policy)


def _version_row(session: Session, policy: models.Policy, version_id: str) -> models.PolicyVersion:
    row = session.get(models.PolicyVersion, (policy.policy_id, version_id))
    if row is None:
        raise NoSuchEntity(f"Policy {policy.arn} version {version_id} does not exist.")
    return row


def get_policy_version(session: Session, arn: str, version_id: str) -> PolicyVersionInfo:
    policy = policy_row(session, arn)
    return _version_info(_version_row(session, policy, version_id), policy)


def list_policy_versions(session: Session, arn: str) -> list[PolicyVersionInfo]:
    policy = policy_row(session, arn)
    rows = session.scalars(
        select(models.PolicyVersion)
        .where(models.PolicyVersion.policy_id == policy.policy_id)
        .order_by(models.PolicyVersion.created_at, models.PolicyVersion.version_id)
    )
    return [_version_info(row, policy) for row in rows]


def set_default_policy_version(
    session: Session, arn: str, version_id: str, *, now: datetime
) -> None:
    policy = policy_row(session, arn)
    _version_row(session, policy, version_id)
    policy.default_version_id = version_id
    policy.updated_at = now
    session.flush()


def delete_policy_version(session: Session, arn: str, version_id: str) -> None:
    policy = policy_row(session, arn)
    row = _version_row(session, policy, version_id)
    if version_id == policy.default_version_id:
        raise Conflict(
            "Cannot delete the default version of a policy; make another version the default "
            "first.",
            code="DeleteConflict",
        )
    session.delete(row)
    session.flush()


def _attachment_count(session: Session, policy: models.Policy) -> int:
    """How many principals, guardrail targets and boundaries use ``policy``."""
    total = 0
    for table in (
        models.UserPolicyAttachment,
        models.GroupPolicyAttachment,
        models.RolePolicyAttachment,
        models.GuardrailAttachment,
    ):
        total += (
            session.scalar(select(func.count()).where(table.policy_id == policy.policy_id)) or 0
        )
    for column in (models.User.permissions_boundary_arn, models.Role.permissions_boundary_arn):
        total += session.scalar(select(func.count()).where(column == policy.arn)) or 0
    return total


def delete_policy(session: Session, arn: str) -> PolicyInfo:
    policy = policy_row(session, arn)
    attached = _attachment_count(session, policy)
    if attached:
        raise Conflict(
            f"Cannot delete a policy attached to entities ({attached} attachments); detach it "
            "first.",
            code="DeleteConflict",
        )
    info = policy_info(policy)
    session.delete(policy)
    session.flush()
    return info


# --- attachments ---------------------------------------------------------------------------


def _same_tenant(policy: models.Policy, account_id: str) -> None:
    if policy.account_id != account_id:
        raise InvalidParameterValue(
            f"policy {policy.arn} belongs to another tenant; attach policies of tenant "
            f"{account_id} only"
        )


def attach_policy(
    session: Session, kind: EntityKind, account_id: str, principal_name: str, arn: str
) -> None:
    """Attach a managed policy of the same tenant to a user, group or role (idempotent)."""
    policy = policy_row(session, arn)
    _same_tenant(policy, account_id)
    table, column, principal_id = _attachment_target(session, kind, account_id, principal_name)
    existing = session.scalar(
        select(func.count()).where(column == principal_id, table.policy_id == policy.policy_id)
    )
    if existing:
        return
    count = session.scalar(select(func.count()).where(column == principal_id)) or 0
    if count >= MAX_ATTACHED_PER_PRINCIPAL:
        raise LimitExceeded(
            f"Cannot exceed quota for PoliciesPerUser: {MAX_ATTACHED_PER_PRINCIPAL}"
        )
    session.add(table(**{column.key: principal_id, "policy_id": policy.policy_id}))
    session.flush()


def detach_policy(
    session: Session, kind: EntityKind, account_id: str, principal_name: str, arn: str
) -> None:
    policy = policy_row(session, arn)
    table, column, principal_id = _attachment_target(session, kind, account_id, principal_name)
    row = session.scalar(
        select(table).where(column == principal_id, table.policy_id == policy.policy_id)
    )
    if row is None:
        raise NoSuchEntity(f"Policy {arn} was not found attached to {kind.value} {principal_name}.")
    session.delete(row)
    session.flush()


def list_attached_policies(
    session: Session, kind: EntityKind, account_id: str, principal_name: str
) -> list[PolicyInfo]:
    table, column, principal_id = _attachment_target(session, kind, account_id, principal_name)
    rows = session.scalars(
        select(models.Policy)
        .join(table, table.policy_id == models.Policy.policy_id)
        .where(column == principal_id)
        .order_by(models.Policy.name)
    )
    return [policy_info(row) for row in rows]


_AttachmentTable = (
    type[models.UserPolicyAttachment]
    | type[models.GroupPolicyAttachment]
    | type[models.RolePolicyAttachment]
)


def _attachment_target(
    session: Session, kind: EntityKind, account_id: str, name: str
) -> tuple[_AttachmentTable, InstrumentedAttribute[str], str]:
    if kind is EntityKind.USER:
        user = user_row(session, account_id, name)
        return models.UserPolicyAttachment, models.UserPolicyAttachment.user_id, user.user_id
    if kind is EntityKind.GROUP:
        group = group_row(session, account_id, name)
        return models.GroupPolicyAttachment, models.GroupPolicyAttachment.group_id, group.group_id
    if kind is EntityKind.ROLE:
        role = role_row(session, account_id, name)
        return models.RolePolicyAttachment, models.RolePolicyAttachment.role_id, role.role_id
    raise InvalidParameterValue("policies attach to users, groups and roles")


def principal_id_of(session: Session, kind: EntityKind, account_id: str, name: str) -> str:
    return _attachment_target(session, kind, account_id, name)[2]


# --- inline policies -----------------------------------------------------------------------


def put_inline_policy(
    session: Session,
    kind: EntityKind,
    account_id: str,
    principal_name: str,
    *,
    policy_name: str,
    document: str | Mapping[str, Any],
    now: datetime,
) -> None:
    check_name(EntityKind.POLICY, policy_name, parameter="policyName")
    text = normalise_document(document, iam.PolicyKind.IDENTITY)
    principal_id = principal_id_of(session, kind, account_id, principal_name)
    row = session.get(models.InlinePolicy, (kind.value, principal_id, policy_name))
    if row is None:
        session.add(
            models.InlinePolicy(
                principal_kind=kind.value,
                principal_id=principal_id,
                name=policy_name,
                document=text,
                updated_at=now,
            )
        )
    else:
        row.document = text
        row.updated_at = now
    session.flush()


def get_inline_policy(
    session: Session, kind: EntityKind, account_id: str, principal_name: str, policy_name: str
) -> str:
    principal_id = principal_id_of(session, kind, account_id, principal_name)
    row = session.get(models.InlinePolicy, (kind.value, principal_id, policy_name))
    if row is None:
        raise NoSuchEntity(f"The {kind.value} policy with name {policy_name} cannot be found.")
    return row.document


def list_inline_policies(
    session: Session, kind: EntityKind, account_id: str, principal_name: str
) -> list[str]:
    principal_id = principal_id_of(session, kind, account_id, principal_name)
    return list(
        session.scalars(
            select(models.InlinePolicy.name)
            .where(
                models.InlinePolicy.principal_kind == kind.value,
                models.InlinePolicy.principal_id == principal_id,
            )
            .order_by(models.InlinePolicy.name)
        )
    )


def delete_inline_policy(
    session: Session, kind: EntityKind, account_id: str, principal_name: str, policy_name: str
) -> None:
    principal_id = principal_id_of(session, kind, account_id, principal_name)
    row = session.get(models.InlinePolicy, (kind.value, principal_id, policy_name))
    if row is None:
        raise NoSuchEntity(f"The {kind.value} policy with name {policy_name} cannot be found.")
    session.delete(row)
    session.flush()


# --- permissions boundaries ---------------------------------------------------------------


def set_permissions_boundary(
    session: Session, kind: EntityKind, account_id: str, principal_name: str, arn: str | None
) -> None:
    """Set (or with ``None`` remove) the boundary of a user or role."""
    if arn is not None:
        policy = policy_row(session, arn)
        _same_tenant(policy, account_id)
    if kind is EntityKind.USER:
        user_row(session, account_id, principal_name).permissions_boundary_arn = arn
    elif kind is EntityKind.ROLE:
        role_row(session, account_id, principal_name).permissions_boundary_arn = arn
    else:
        raise InvalidParameterValue("permissions boundaries apply to users and roles only")
    session.flush()


# --- guardrails ----------------------------------------------------------------------------

GUARDRAIL_TARGETS = ("organization", "tenant")


def attach_guardrail(session: Session, target_kind: str, target_id: str, arn: str) -> None:
    """Attach a platform policy as a guardrail of an organization or tenant (idempotent)."""
    policy = policy_row(session, arn)
    if policy.account_id != PLATFORM_ACCOUNT_ID:
        raise InvalidParameterValue(
            "guardrail policies are policies of the platform account 000000000000; create the "
            "policy there first"
        )
    normalise_document(_default_document(session, policy), iam.PolicyKind.GUARDRAIL)
    _check_target(session, target_kind, target_id)
    key = (policy.policy_id, target_kind, target_id)
    if session.get(models.GuardrailAttachment, key) is None:
        session.add(
            models.GuardrailAttachment(
                policy_id=policy.policy_id, target_kind=target_kind, target_id=target_id
            )
        )
        session.flush()


def detach_guardrail(session: Session, target_kind: str, target_id: str, arn: str) -> None:
    policy = policy_row(session, arn)
    row = session.get(models.GuardrailAttachment, (policy.policy_id, target_kind, target_id))
    if row is None:
        raise NoSuchEntity(f"Policy {arn} is not attached to {target_kind} {target_id}.")
    session.delete(row)
    session.flush()


def _check_target(session: Session, target_kind: str, target_id: str) -> None:
    if target_kind == "organization":
        get_organization(session, target_id)
    elif target_kind == "tenant":
        if target_id == PLATFORM_ACCOUNT_ID:
            raise InvalidParameterValue("guardrails do not apply to the platform account")
        get_tenant(session, target_id)
    else:
        raise InvalidParameterValue(f"guardrails attach to one of {', '.join(GUARDRAIL_TARGETS)}")


def _default_document(session: Session, policy: models.Policy) -> str:
    return _version_row(session, policy, policy.default_version_id).document
