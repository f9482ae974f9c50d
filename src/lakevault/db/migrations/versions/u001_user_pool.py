"""user pool, refresh tokens, MFA and sign-in state

Revision ID: u001
Revises: 0006
Create Date: 2026-11-29 08:36:59.958048
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "u001"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_pool_mail",
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_user_pool_mail")),
    )
    with op.batch_alter_table("user_pool_mail", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_pool_mail_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "user_pools",
        sa.Column("pool_id", sa.String(length=48), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("mfa_configuration", sa.String(length=8), nullable=False),
        sa.Column("allow_self_sign_up", sa.Boolean(), nullable=False),
        sa.Column("password_min_length", sa.Integer(), nullable=False),
        sa.Column("password_require_uppercase", sa.Boolean(), nullable=False),
        sa.Column("password_require_lowercase", sa.Boolean(), nullable=False),
        sa.Column("password_require_digits", sa.Boolean(), nullable=False),
        sa.Column("password_require_symbols", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tenants.account_id"],
            name=op.f("fk_user_pools_account_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("pool_id", name=op.f("pk_user_pools")),
        sa.UniqueConstraint("account_id", name=op.f("uq_user_pools_account_id")),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("family_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("token_generation", sa.Integer(), nullable=False),
        sa.Column("is_mfa_authenticated", sa.Boolean(), nullable=False),
        sa.Column("authenticated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_refresh_tokens")),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_refresh_tokens_family_id"), ["family_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_refresh_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sign_in_challenges",
        sa.Column("challenge_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_sign_in_challenges_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("challenge_digest", name=op.f("pk_sign_in_challenges")),
    )
    with op.batch_alter_table("sign_in_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_challenges_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "user_mfa_devices",
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("enrollment_id", sa.String(length=32), nullable=False),
        sa.Column("is_confirmed", sa.Boolean(), nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_user_mfa_devices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_mfa_devices")),
    )
    op.create_table(
        "user_pool_codes",
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_user_pool_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "purpose", name=op.f("pk_user_pool_codes")),
    )
    op.create_table(
        "user_pool_groups",
        sa.Column("pool_id", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("group_id", sa.String(length=20), nullable=False),
        sa.Column("mfa_required", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.group_id"],
            name=op.f("fk_user_pool_groups_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["user_pools.pool_id"],
            name=op.f("fk_user_pool_groups_pool_id_user_pools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pool_id", "name", name=op.f("pk_user_pool_groups")),
        sa.UniqueConstraint("group_id", name=op.f("uq_user_pool_groups_group_id")),
    )
    op.create_table(
        "user_pool_members",
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("pool_id", sa.String(length=48), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["user_pools.pool_id"],
            name=op.f("fk_user_pool_members_pool_id_user_pools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_user_pool_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_pool_members")),
    )
    with op.batch_alter_table("user_pool_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_pool_members_pool_id"), ["pool_id"], unique=False)

    op.create_table(
        "user_sign_in_states",
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_generation", sa.Integer(), nullable=False),
        sa.Column("signed_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_user_sign_in_states_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_sign_in_states")),
    )


def downgrade() -> None:
    op.drop_table("user_sign_in_states")
    with op.batch_alter_table("user_pool_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_pool_members_pool_id"))

    op.drop_table("user_pool_members")
    op.drop_table("user_pool_groups")
    op.drop_table("user_pool_codes")
    op.drop_table("user_mfa_devices")
    with op.batch_alter_table("sign_in_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_challenges_user_id"))

    op.drop_table("sign_in_challenges")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_family_id"))

    op.drop_table("refresh_tokens")
    op.drop_table("user_pools")
    with op.batch_alter_table("user_pool_mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_pool_mail_account_id"))

    op.drop_table("user_pool_mail")
