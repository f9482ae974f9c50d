"""access keys and role sessions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 08:25:26.205046
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_access_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("access_key_id", name=op.f("pk_access_keys")),
    )
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "role_sessions",
        sa.Column("access_key_id", sa.String(length=20), nullable=False),
        sa.Column("role_id", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("session_name", sa.String(length=64), nullable=False),
        sa.Column("source_arn", sa.String(length=2048), nullable=False),
        sa.Column("session_policy", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.role_id"],
            name=op.f("fk_role_sessions_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("access_key_id", name=op.f("pk_role_sessions")),
    )
    with op.batch_alter_table("role_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_role_sessions_role_id"), ["role_id"], unique=False)

    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sessions_revoked_before", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.drop_column("sessions_revoked_before")

    with op.batch_alter_table("role_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_sessions_role_id"))

    op.drop_table("role_sessions")
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_keys_user_id"))

    op.drop_table("access_keys")
