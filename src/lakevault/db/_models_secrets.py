"""Tables of the secrets manager (docs/secrets.md).

* ``secrets`` — one row per secret of a tenant: its name and ARN, the KMS key its values are
  encrypted under (the tenant's own key named by ``KmsKeyId``, or the secret's service key),
  its resource policy, tags, rotation settings and — while it waits out its recovery window —
  the date it is purged.
* ``secret_versions`` — every version's value, only ever as ciphertext (the encrypted object
  format, whose header carries the wrapped data key); never plaintext.
* ``secret_version_stages`` — the staging labels (``AWSCURRENT``, ``AWSPREVIOUS``,
  ``AWSPENDING`` and custom ones): one label points at one version of its secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class Secret(Base):
    """A secret of a tenant (AWS ``DescribeSecret``'s fields)."""

    __tablename__ = "secrets"
    __table_args__ = (Index("ix_secrets_account_name", "account_id", "name", unique=True),)

    arn: Mapped[str] = mapped_column(String(2048), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.account_id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(512))
    description: Mapped[str] = mapped_column(Text, default="")
    kms_key_id: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    service_key_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    policy: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rotation_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    rotation_hook: Mapped[str | None] = mapped_column(String(256), nullable=True)
    rotation_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_rotated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_changed_at: Mapped[datetime]
    last_accessed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    purge_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)


class SecretVersion(Base):
    """One version of a secret's value, encrypted (``SecretString`` or ``SecretBinary``)."""

    __tablename__ = "secret_versions"

    secret_arn: Mapped[str] = mapped_column(
        ForeignKey("secrets.arn", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    is_binary: Mapped[bool] = mapped_column(Boolean, default=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    last_accessed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The database copy of the data key wrapped under the secret's service key (``None`` for
    # a value under a KmsKeyId): ``lakevault kms rewrap`` moves it to the key's newest version;
    # the header's copy inside ``ciphertext`` cannot change (ADR 0091, ADR 0213).
    key_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    key_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    wrapped_data_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class SecretVersionStage(Base):
    """A staging label of a secret, attached to one of its versions."""

    __tablename__ = "secret_version_stages"

    secret_arn: Mapped[str] = mapped_column(
        ForeignKey("secrets.arn", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(256), primary_key=True)
    version_id: Mapped[str] = mapped_column(String(64))
