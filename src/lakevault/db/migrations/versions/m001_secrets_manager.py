"""secrets manager: secrets, their encrypted versions and staging labels

Revision ID: m001
Revises: i001
Create Date: 2026-11-29 10:57:33.812512
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "m001"
down_revision: str | None = "i001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "secrets",
        sa.Column("arn", sa.String(length=2048), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kms_key_id", sa.String(length=2048), nullable=True),
        sa.Column("service_key_id", sa.String(length=36), nullable=True),
        sa.Column("policy", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("rotation_enabled", sa.Boolean(), nullable=False),
        sa.Column("rotation_hook", sa.String(length=256), nullable=True),
        sa.Column("rotation_days", sa.Integer(), nullable=True),
        sa.Column("last_rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_accessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purge_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tenants.account_id"],
            name=op.f("fk_secrets_account_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("arn", name=op.f("pk_secrets")),
    )
    with op.batch_alter_table("secrets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_secrets_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_secrets_account_name", ["account_id", "name"], unique=True)
        batch_op.create_index(batch_op.f("ix_secrets_purge_at"), ["purge_at"], unique=False)

    op.create_table(
        "secret_version_stages",
        sa.Column("secret_arn", sa.String(length=2048), nullable=False),
        sa.Column("stage", sa.String(length=256), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["secret_arn"],
            ["secrets.arn"],
            name=op.f("fk_secret_version_stages_secret_arn_secrets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("secret_arn", "stage", name=op.f("pk_secret_version_stages")),
    )
    op.create_table(
        "secret_versions",
        sa.Column("secret_arn", sa.String(length=2048), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("is_binary", sa.Boolean(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_accessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["secret_arn"],
            ["secrets.arn"],
            name=op.f("fk_secret_versions_secret_arn_secrets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("secret_arn", "version_id", name=op.f("pk_secret_versions")),
    )


def downgrade() -> None:
    op.drop_table("secret_versions")
    op.drop_table("secret_version_stages")
    with op.batch_alter_table("secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_secrets_purge_at"))
        batch_op.drop_index("ix_secrets_account_name")
        batch_op.drop_index(batch_op.f("ix_secrets_account_id"))

    op.drop_table("secrets")
