"""small object versions' stored bytes beside their rows (ADR 0272)

Revision ID: v001
Revises: t001
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "v001"
down_revision: str | None = "t001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "storage_inline_data",
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["storage_objects.version_id"],
            name=op.f("fk_storage_inline_data_version_id_storage_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_storage_inline_data")),
    )


def downgrade() -> None:
    # Dropping the table would drop the only copy of every small object's bytes.
    held = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM storage_inline_data")).scalar()
    if held:
        raise RuntimeError(
            f"storage_inline_data holds the bytes of {held} object versions; downgrading past "
            "v001 would destroy them. Delete those objects first, or restore a backup taken "
            "before the upgrade"
        )
    op.drop_table("storage_inline_data")
