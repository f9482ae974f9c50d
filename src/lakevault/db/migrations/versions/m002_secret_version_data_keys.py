"""secrets: the database copy of each version's wrapped data key (for kms rewrap)

Revision ID: m002
Revises: m001
Create Date: 2026-11-29 12:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "m002"
down_revision: str | None = "m001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("secret_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("key_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("wrapped_data_key", sa.LargeBinary(), nullable=True))
        batch_op.create_index(batch_op.f("ix_secret_versions_key_id"), ["key_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("secret_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_secret_versions_key_id"))
        batch_op.drop_column("wrapped_data_key")
        batch_op.drop_column("key_version")
        batch_op.drop_column("key_id")
