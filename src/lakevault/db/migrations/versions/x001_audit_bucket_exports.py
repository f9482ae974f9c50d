"""audit: exports into an object-locked bucket (destination, retention, cursor)

Revision ID: x001
Revises: r001
Create Date: 2026-11-29 14:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "x001"
down_revision: str | None = "r001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_bucket_exports",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("bucket_name", sa.String(length=63), nullable=False),
        sa.Column("prefix", sa.String(length=256), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_sequence", sa.BigInteger(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("first_sequence", sa.BigInteger(), nullable=False),
        sa.Column("start_range", sa.JSON(), nullable=False),
        sa.Column("keyring_keys", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_export_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_audit_bucket_exports")),
    )


def downgrade() -> None:
    op.drop_table("audit_bucket_exports")
