"""storage: object lock (bucket configuration, version retention and legal hold), lifecycle

Revision ID: o001
Revises: q001
Create Date: 2026-11-29 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "o001"
down_revision: str | None = "q001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "storage_bucket_object_lock",
        sa.Column("bucket_name", sa.String(length=63), nullable=False),
        sa.Column("default_mode", sa.String(length=10), nullable=True),
        sa.Column("default_days", sa.Integer(), nullable=True),
        sa.Column("default_years", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket_name"],
            ["storage_buckets.name"],
            name=op.f("fk_storage_bucket_object_lock_bucket_name_storage_buckets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bucket_name", name=op.f("pk_storage_bucket_object_lock")),
    )
    op.create_table(
        "storage_bucket_lifecycle",
        sa.Column("bucket_name", sa.String(length=63), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket_name"],
            ["storage_buckets.name"],
            name=op.f("fk_storage_bucket_lifecycle_bucket_name_storage_buckets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bucket_name", name=op.f("pk_storage_bucket_lifecycle")),
    )
    op.create_table(
        "storage_object_locks",
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("bucket_name", sa.String(length=63), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=True),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["storage_objects.version_id"],
            name=op.f("fk_storage_object_locks_version_id_storage_objects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_storage_object_locks")),
    )
    with op.batch_alter_table("storage_object_locks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storage_object_locks_bucket_name"), ["bucket_name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_storage_object_locks_retain_until"), ["retain_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("storage_object_locks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_object_locks_retain_until"))
        batch_op.drop_index(batch_op.f("ix_storage_object_locks_bucket_name"))
    op.drop_table("storage_object_locks")
    op.drop_table("storage_bucket_lifecycle")
    op.drop_table("storage_bucket_object_lock")
