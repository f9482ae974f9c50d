"""SQLAlchemy models of the metadata store.

One model per table; relationships are deliberately few (services query explicitly, which keeps
SQL visible). Times are stored as aware UTC datetimes. The same models run on SQLite and
PostgreSQL: no dialect-specific types.

Each later capability (keys, storage, audit log, jobs) adds its tables with its own migration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lakevault.db._types import UTCDateTime

#: Constraint names are fixed so that migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Tenant(Base):
    """An account: the unit of isolation. Its id is a 12-digit AWS-style account id."""

    __tablename__ = "tenants"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_platform: Mapped[bool] = mapped_column(Boolean, default=False)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.organization_id", ondelete="RESTRICT"), nullable=True
    )
    created_at: Mapped[datetime]


class User(Base):
    """A person or program of a tenant with long-term credentials."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_users_account_id_name"),)

    user_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("tenants.account_id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(512), default="/")
    arn: Mapped[str] = mapped_column(String(2048), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    permissions_boundary_arn: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class Policy(Base):
    """A managed policy of a tenant. Its documents are its versions (``PolicyVersion``)."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_policies_account_id_name"),)

    policy_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("tenants.account_id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(512), default="/")
    description: Mapped[str] = mapped_column(String(1000), default="")
    arn: Mapped[str] = mapped_column(String(2048), unique=True)
    default_version_id: Mapped[str] = mapped_column(String(8))
    next_version_number: Mapped[int] = mapped_column(Integer, default=2)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PolicyVersion(Base):
    """One version of a managed policy (``v1``, ``v2``...); at most five are kept."""

    __tablename__ = "policy_versions"

    policy_id: Mapped[str] = mapped_column(
        ForeignKey("policies.policy_id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class UserPolicyAttachment(Base):
    __tablename__ = "user_policy_attachments"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[str] = mapped_column(
        ForeignKey("policies.policy_id", ondelete="RESTRICT"), primary_key=True
    )


class AuditEvent(Base):
    """One audit event, appended and never updated. Per-account sequence numbers are dense.

    The tamper-evident Merkle log and signed checkpoints build on this table (docs/audit.md).
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("account_id", "sequence", name="uq_audit_events_account_id_sequence"),
    )

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    event_time: Mapped[datetime]
    event_name: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    #: SHA-256(0x00 || body): the event's RFC 9162 leaf hash (migration 0003, docs/audit.md).
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class PlatformState(Base):
    """Singleton row: facts about this installation (when it was bootstrapped, by whom)."""

    __tablename__ = "platform_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bootstrapped_at: Mapped[datetime]
    admin_user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="RESTRICT"))


class AuditHead(Base):
    """The size of each account's audit log; incremented under a row lock on every append."""

    __tablename__ = "audit_heads"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
