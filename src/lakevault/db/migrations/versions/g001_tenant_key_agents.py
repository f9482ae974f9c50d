"""tenant key agents (operator-blind mode) and the platform root key check value

Revision ID: g001
Revises: s001
Create Date: 2026-11-29 11:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g001"
down_revision: str | None = "s001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_key_agents",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("ca_certificate", sa.LargeBinary(), nullable=False),
        sa.Column("client_certificate", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_client_key", sa.LargeBinary(), nullable=False),
        sa.Column("client_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tenants.account_id"],
            name=op.f("fk_tenant_key_agents_account_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_tenant_key_agents")),
    )
    op.create_table(
        "platform_root_key_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_value", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_root_key_checks")),
    )


def downgrade() -> None:
    op.drop_table("platform_root_key_checks")
    op.drop_table("tenant_key_agents")
