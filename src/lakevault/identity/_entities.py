"""The identity entities as values: what the directory returns and the API shows.

Values, not rows: callers never hold a database object beyond its session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationInfo:
    organization_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantInfo:
    account_id: str
    name: str
    organization_id: str | None
    is_platform: bool
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UserInfo:
    user_id: str
    account_id: str
    name: str
    path: str
    arn: str
    tags: Mapping[str, str]
    permissions_boundary_arn: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupInfo:
    group_id: str
    account_id: str
    name: str
    path: str
    arn: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleInfo:
    role_id: str
    account_id: str
    name: str
    path: str
    arn: str
    description: str
    trust_policy: str
    max_session_duration_seconds: int
    permissions_boundary_arn: str | None
    tags: Mapping[str, str]
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyInfo:
    policy_id: str
    account_id: str
    name: str
    path: str
    arn: str
    description: str
    default_version_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyVersionInfo:
    policy_arn: str
    version_id: str
    document: str
    is_default: bool
    created_at: datetime
