"""storage: server-minted pre-signed URLs, per-bucket streaming limits, organizations that allow
public buckets

Revision ID: r001
Revises: n001
Create Date: 2026-11-29 14:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r001"
down_revision: str | None = "n001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "storage_presigned_urls",
        sa.Column("url_id", sa.String(length=32), nullable=False),
        sa.Column("bucket_name", sa.String(length=63), nullable=False),
        sa.Column("object_key", sa.String(length=1024), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("min_length", sa.BigInteger(), nullable=True),
        sa.Column("max_length", sa.BigInteger(), nullable=True),
        sa.Column("single_use", sa.Boolean(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signer_kind", sa.String(length=16), nullable=False),
        sa.Column("signer_account_id", sa.String(length=12), nullable=False),
        sa.Column("signer_arn", sa.String(length=2048), nullable=False),
        sa.Column("signer_principal_id", sa.String(length=256), nullable=False),
        sa.Column("signer_credential_id", sa.String(length=128), nullable=True),
        sa.Column("signer_user_name", sa.String(length=128), nullable=True),
        sa.Column("signer_token_generation", sa.Integer(), nullable=True),
        sa.Column("signer_token_issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signer_mfa_authenticated", sa.Boolean(), nullable=False),
        sa.Column("signer_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bucket_name"],
            ["storage_buckets.name"],
            name=op.f("fk_storage_presigned_urls_bucket_name_storage_buckets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("url_id", name=op.f("pk_storage_presigned_urls")),
    )
    with op.batch_alter_table("storage_presigned_urls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storage_presigned_urls_bucket_name"), ["bucket_name"], unique=False
        )
        batch_op.create_index("ix_storage_presigned_urls_expires_at", ["expires_at"], unique=False)
    op.create_table(
        "storage_bucket_limits",
        sa.Column("bucket_name", sa.String(length=63), nullable=False),
        sa.Column("max_object_bytes", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket_name"],
            ["storage_buckets.name"],
            name=op.f("fk_storage_bucket_limits_bucket_name_storage_buckets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bucket_name", name=op.f("pk_storage_bucket_limits")),
    )
    op.create_table(
        "storage_org_public_buckets",
        sa.Column("organization_id", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.organization_id"],
            name=op.f("fk_storage_org_public_buckets_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_storage_org_public_buckets")),
    )


def downgrade() -> None:
    op.drop_table("storage_org_public_buckets")
    op.drop_table("storage_bucket_limits")
    with op.batch_alter_table("storage_presigned_urls", schema=None) as batch_op:
        batch_op.drop_index("ix_storage_presigned_urls_expires_at")
        batch_op.drop_index(batch_op.f("ix_storage_presigned_urls_bucket_name"))
    op.drop_table("storage_presigned_urls")
