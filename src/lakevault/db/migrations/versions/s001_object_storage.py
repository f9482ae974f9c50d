"""object storage: buckets, object versions, blob journal

Revision ID: s001
Revises: k001
Create Date: 2026-11-29 10:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s001"
down_revision: str | None = "k001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OBJECT_KEY = sa.String(length=1024).with_variant(
    sa.String(length=1024, collation="C"), "postgresql"
)


def upgrade() -> None:
    op.create_table(
        "storage_buckets",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("kms_key_id", sa.String(length=2048), nullable=False),
        sa.Column("versioning", sa.String(length=12), nullable=False),
        sa.Column("policy", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("block_public_access", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tenants.account_id"],
            name=op.f("fk_storage_buckets_account_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_storage_buckets")),
    )
    with op.batch_alter_table("storage_buckets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storage_buckets_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "storage_objects",
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("bucket_name", sa.String(length=63), nullable=False),
        sa.Column("key", _OBJECT_KEY, nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("is_delete_marker", sa.Boolean(), nullable=False),
        sa.Column("is_null_version", sa.Boolean(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column("blob_path", sa.String(length=256), nullable=True),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("user_metadata", sa.JSON(), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kms_key_id", sa.String(length=2048), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_data_key", sa.LargeBinary(), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket_name"],
            ["storage_buckets.name"],
            name=op.f("fk_storage_objects_bucket_name_storage_buckets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_storage_objects")),
    )
    with op.batch_alter_table("storage_objects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_storage_objects_listing", ["bucket_name", "is_latest", "key"], unique=False
        )
        batch_op.create_index(
            "ix_storage_objects_bucket_name_key", ["bucket_name", "key"], unique=False
        )

    op.create_table(
        "storage_blob_journal",
        sa.Column("blob_path", sa.String(length=256), nullable=False),
        sa.Column("bucket_name", sa.String(length=63), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("blob_path", name=op.f("pk_storage_blob_journal")),
    )
    with op.batch_alter_table("storage_blob_journal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storage_blob_journal_bucket_name"), ["bucket_name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_storage_blob_journal_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("storage_blob_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_blob_journal_created_at"))
        batch_op.drop_index(batch_op.f("ix_storage_blob_journal_bucket_name"))
    op.drop_table("storage_blob_journal")
    with op.batch_alter_table("storage_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_storage_objects_bucket_name_key")
        batch_op.drop_index("ix_storage_objects_listing")
    op.drop_table("storage_objects")
    with op.batch_alter_table("storage_buckets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_buckets_account_id"))
    op.drop_table("storage_buckets")
