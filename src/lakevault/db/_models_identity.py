"""Tables of identity: organizations, groups (teams), roles, inline policies, attachments.

Tenants, users and managed policies are in ``_models.py`` (they predate this module). Inline
policies are keyed by the kind and id of their principal instead of a foreign key per kind, so
one table serves users, groups and roles; the identity service deletes them with their owner.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class Organization(Base):
    """A group of tenants under common guardrail policies (like an AWS Organization)."""

    __tablename__ = "organizations"

    organization_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class Group(Base):
    """A team: users share the policies attached to it."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_groups_account_id_name"),)

    group_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("tenants.account_id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(512), default="/")
    arn: Mapped[str] = mapped_column(String(2048), unique=True)
    created_at: Mapped[datetime]


class GroupMembership(Base):
    __tablename__ = "group_memberships"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.group_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )


class Role(Base):
    """A role: assumed by principals its trust policy allows, for temporary credentials."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_roles_account_id_name"),)

    role_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("tenants.account_id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(512), default="/")
    arn: Mapped[str] = mapped_column(String(2048), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    trust_policy: Mapped[str] = mapped_column(Text)
    max_session_duration_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    permissions_boundary_arn: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    sessions_revoked_before: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]


class InlinePolicy(Base):
    """A policy embedded in one user, group or role (``principal_kind`` says which)."""

    __tablename__ = "inline_policies"

    principal_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class GroupPolicyAttachment(Base):
    __tablename__ = "group_policy_attachments"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.group_id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[str] = mapped_column(
        ForeignKey("policies.policy_id", ondelete="RESTRICT"), primary_key=True
    )


class RolePolicyAttachment(Base):
    __tablename__ = "role_policy_attachments"

    role_id: Mapped[str] = mapped_column(
        ForeignKey("roles.role_id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[str] = mapped_column(
        ForeignKey("policies.policy_id", ondelete="RESTRICT"), primary_key=True
    )


class GuardrailAttachment(Base):
    """A guardrail policy (a platform policy, like an SCP) attached to an organization or tenant."""

    __tablename__ = "guardrail_attachments"

    policy_id: Mapped[str] = mapped_column(
        ForeignKey("policies.policy_id", ondelete="RESTRICT"), primary_key=True
    )
    target_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(16), primary_key=True)


class AccessKey(Base):
    """A user's long-term access key. Its secret is derived from the platform root key and the
    key id, never stored (docs/decisions/0008-credential-secrets.md)."""

    __tablename__ = "access_keys"

    access_key_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class RoleSession(Base):
    """Temporary credentials of an assumed role. Secret and session token are derived too."""

    __tablename__ = "role_sessions"

    access_key_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    role_id: Mapped[str] = mapped_column(
        ForeignKey("roles.role_id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(String(12))
    session_name: Mapped[str] = mapped_column(String(64))
    source_arn: Mapped[str] = mapped_column(String(2048))
    session_policy: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    transitive_tag_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Tag keys that carry into sessions this session assumes (role chaining)."""
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ApiKey(Base):
    """An API key for ingestion endpoints: acts as its creator, narrowed to its scope.

    Only a SHA-256 of the key's 256-bit secret is kept; the key is shown once at creation.
    """

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_api_keys_account_id_name"),)

    key_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    secret_sha256: Mapped[str] = mapped_column(String(64))
    actions: Mapped[list[str]] = mapped_column(JSON)
    resources: Mapped[list[str]] = mapped_column(JSON)
    source_cidrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
