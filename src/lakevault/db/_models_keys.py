"""Tables of the tenant KMS (docs/keys.md).

* ``kms_keys`` — one row per KMS key of a tenant: its state, key policy, rotation schedule and,
  for keys the platform's services made for a resource (a bucket), the resource they serve.
* ``kms_key_versions`` — the material of every version, stored only wrapped by the tenant level
  (``lakevault.kms.TenantKeyWrapper``). Crypto-shredding deletes these rows.
* ``kms_aliases``, ``kms_key_tags``, ``kms_grants`` — as in AWS KMS.
* ``kms_key_tombstones`` — every key whose material was destroyed; the key service refuses to
  load material of a tombstoned key (a restored old backup) without an explicit override.
* ``kms_rewrap_progress`` — where ``lakevault kms rewrap`` stopped, so a crash resumes there.

States are short strings, not database enums, so adding one needs no ``ALTER TYPE``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class KMSKey(Base):
    """A KMS key of a tenant (AWS ``KeyMetadata``)."""

    __tablename__ = "kms_keys"

    key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.account_id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(24))
    policy: Mapped[str] = mapped_column(Text)
    service_resource: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    current_version: Mapped[int] = mapped_column(Integer)
    rotation_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    rotation_period_days: Mapped[int] = mapped_column(Integer, default=365)
    next_rotation_at: Mapped[datetime | None] = mapped_column(nullable=True)
    deletion_date: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]


class KMSKeyVersion(Base):
    """The wrapped material of one version of a KMS key."""

    __tablename__ = "kms_key_versions"

    key_id: Mapped[str] = mapped_column(
        ForeignKey("kms_keys.key_id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wrapped_material: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class KMSAlias(Base):
    """``alias/NAME`` of a tenant, pointing at one of its keys."""

    __tablename__ = "kms_aliases"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    alias_name: Mapped[str] = mapped_column(String(256), primary_key=True)
    key_id: Mapped[str] = mapped_column(
        ForeignKey("kms_keys.key_id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]


class KMSKeyTag(Base):
    """One tag of a KMS key."""

    __tablename__ = "kms_key_tags"

    key_id: Mapped[str] = mapped_column(
        ForeignKey("kms_keys.key_id", ondelete="CASCADE"), primary_key=True
    )
    tag_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    tag_value: Mapped[str] = mapped_column(String(256))


class KMSGrant(Base):
    """A grant: a principal may use a key for listed operations, within constraints."""

    __tablename__ = "kms_grants"
    __table_args__ = (Index("ix_kms_grants_key_id_grantee", "key_id", "grantee_principal"),)

    grant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("kms_keys.key_id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(12))
    name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    grantee_principal: Mapped[str] = mapped_column(String(2048))
    retiring_principal: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    operations: Mapped[list[str]] = mapped_column(JSON)
    constraints: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    issuing_account: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]


class KMSKeyTombstone(Base):
    """A key whose material was destroyed (crypto-shredded) and when."""

    __tablename__ = "kms_key_tombstones"

    key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), index=True)
    key_arn: Mapped[str] = mapped_column(String(2048))
    versions_destroyed: Mapped[int] = mapped_column(Integer)
    destroyed_at: Mapped[datetime]


class KMSRewrapProgress(Base):
    """How far re-wrapping one key's data keys in one registry has come (resumable)."""

    __tablename__ = "kms_rewrap_progress"

    key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    registry_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    target_version: Mapped[int] = mapped_column(Integer)
    cursor: Mapped[str] = mapped_column(Text, default="")
    rewrapped: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]
