"""storage: multipart uploads and their parts

Revision ID: n001
Revises: o001
Create Date: 2026-11-29 14:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "n001"
down_revision: str | None = "o001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OBJECT_KEY = sa.String(length=1024).with_variant(
    sa.String(length=1024, collation="C"), "postgresql"
)


def upgrade() -> None:
    op.create_table(
        "storage_multipart_uploads",
        sa.Column("upload_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("bucket_name", sa.String(length=63), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("key", _OBJECT_KEY, nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("user_metadata", sa.JSON(), nullable=False),
        sa.Column("kms_key_id", sa.String(length=2048), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_data_key", sa.LargeBinary(), nullable=False),
        sa.Column("initiator_arn", sa.String(length=2048), nullable=False),
        sa.Column("initiated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket_name"],
            ["storage_buckets.name"],
            name=op.f("fk_storage_multipart_uploads_bucket_name_storage_buckets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("upload_id", name=op.f("pk_storage_multipart_uploads")),
        sa.UniqueConstraint("version_id", name=op.f("uq_storage_multipart_uploads_version_id")),
    )
    with op.batch_alter_table("storage_multipart_uploads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storage_multipart_uploads_initiated_at"), ["initiated_at"], unique=False
        )
        batch_op.create_index(
            "ix_storage_multipart_uploads_listing", ["bucket_name", "key"], unique=False
        )
    op.create_table(
        "storage_multipart_parts",
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("part_number", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.String(length=64), nullable=False),
        sa.Column("blob_path", sa.String(length=256), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "version_id", "part_number", name=op.f("pk_storage_multipart_parts")
        ),
    )
    with op.batch_alter_table("storage_multipart_parts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storage_multipart_parts_upload_id"), ["upload_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("storage_multipart_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_multipart_parts_upload_id"))
    op.drop_table("storage_multipart_parts")
    with op.batch_alter_table("storage_multipart_uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_storage_multipart_uploads_listing")
        batch_op.drop_index(batch_op.f("ix_storage_multipart_uploads_initiated_at"))
    op.drop_table("storage_multipart_uploads")
