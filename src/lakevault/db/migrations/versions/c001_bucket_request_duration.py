"""a bucket's maximum request duration (storage_bucket_limits.max_request_seconds)

Revision ID: c001
Revises: z001
Create Date: 2026-11-29 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c001"
down_revision: str | None = "z001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "storage_bucket_limits", sa.Column("max_request_seconds", sa.Integer(), nullable=True)
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of the table would lose z001's trigger.
    op.drop_column("storage_bucket_limits", "max_request_seconds")
