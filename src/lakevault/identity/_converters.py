"""Rows to values (one place, so every caller sees entities the same way)."""

from __future__ import annotations

from lakevault.db import models
from lakevault.identity._entities import (
    GroupInfo,
    OrganizationInfo,
    PolicyInfo,
    RoleInfo,
    TenantInfo,
    UserInfo,
)


def organization_info(row: models.Organization) -> OrganizationInfo:
    return OrganizationInfo(
        organization_id=row.organization_id, name=row.name, created_at=row.created_at
    )


def tenant_info(row: models.Tenant) -> TenantInfo:
    return TenantInfo(
        account_id=row.account_id,
        name=row.name,
        organization_id=row.organization_id,
        is_platform=row.is_platform,
        created_at=row.created_at,
    )


def user_info(row: models.User) -> UserInfo:
    return UserInfo(
        user_id=row.user_id,
        account_id=row.account_id,
        name=row.name,
        path=row.path,
        arn=row.arn,
        tags=dict(row.tags),
        permissions_boundary_arn=row.permissions_boundary_arn,
        created_at=row.created_at,
    )


def group_info(row: models.Group) -> GroupInfo:
    return GroupInfo(
        group_id=row.group_id,
        account_id=row.account_id,
        name=row.name,
        path=row.path,
        arn=row.arn,
        created_at=row.created_at,
    )


def role_info(row: models.Role) -> RoleInfo:
    return RoleInfo(
        role_id=row.role_id,
        account_id=row.account_id,
        name=row.name,
        path=row.path,
        arn=row.arn,
        description=row.description,
        trust_policy=row.trust_policy,
        max_session_duration_seconds=row.max_session_duration_seconds,
        permissions_boundary_arn=row.permissions_boundary_arn,
        tags=dict(row.tags),
        created_at=row.created_at,
    )


def policy_info(row: models.Policy) -> PolicyInfo:
    return PolicyInfo(
        policy_id=row.policy_id,
        account_id=row.account_id,
        name=row.name,
        path=row.path,
        arn=row.arn,
        description=row.description,
        default_version_id=row.default_version_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
