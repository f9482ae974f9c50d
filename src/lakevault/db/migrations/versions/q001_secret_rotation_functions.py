"""secrets: the tenants' rotation functions (run in the sandbox)

Revision ID: q001
Revises: m002
Create Date: 2026-11-29 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "q001"
down_revision: str | None = "m002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "secret_rotation_functions",
        sa.Column("arn", sa.String(length=2048), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("handler", sa.String(length=128), nullable=False),
        sa.Column("endpoints", sa.JSON(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["tenants.account_id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("arn"),
    )
    with op.batch_alter_table("secret_rotation_functions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_secret_rotation_functions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_secret_rotation_functions_account_name", ["account_id", "name"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("secret_rotation_functions", schema=None) as batch_op:
        batch_op.drop_index("ix_secret_rotation_functions_account_name")
        batch_op.drop_index(batch_op.f("ix_secret_rotation_functions_account_id"))
    op.drop_table("secret_rotation_functions")
