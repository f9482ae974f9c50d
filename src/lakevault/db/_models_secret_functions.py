"""The tenants' rotation functions (docs/secrets.md, "Rotation functions"; ADR 0214).

``secret_rotation_functions`` — one row per function a tenant registered: its Python source
(run only in the sandbox, never imported by the platform), the handler's name, the network
endpoints it may reach and its limits. A secret names the function it rotates with by ARN in
``secrets.rotation_hook``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class SecretRotationFunction(Base):
    """A tenant's rotation function (AWS's rotation Lambda, held by the secrets manager)."""

    __tablename__ = "secret_rotation_functions"
    __table_args__ = (
        Index("ix_secret_rotation_functions_account_name", "account_id", "name", unique=True),
    )

    arn: Mapped[str] = mapped_column(String(2048), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.account_id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    code_sha256: Mapped[str] = mapped_column(String(64))
    handler: Mapped[str] = mapped_column(String(128))
    endpoints: Mapped[list[str]] = mapped_column(JSON, default=list)
    timeout_seconds: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
