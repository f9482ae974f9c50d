"""identity entities

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 08:02:47.716283
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inline_policies",
        sa.Column("principal_kind", sa.String(length=8), nullable=False),
        sa.Column("principal_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "principal_kind", "principal_id", "name", name=op.f("pk_inline_policies")
        ),
    )
    op.create_table(
        "organizations",
        sa.Column("organization_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("name", name=op.f("uq_organizations_name")),
    )
    op.create_table(
        "groups",
        sa.Column("group_id", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("arn", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tenants.account_id"],
            name=op.f("fk_groups_account_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_groups")),
        sa.UniqueConstraint("account_id", "name", name="uq_groups_account_id_name"),
        sa.UniqueConstraint("arn", name=op.f("uq_groups_arn")),
    )
    op.create_table(
        "roles",
        sa.Column("role_id", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("arn", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("trust_policy", sa.Text(), nullable=False),
        sa.Column("max_session_duration_seconds", sa.Integer(), nullable=False),
        sa.Column("permissions_boundary_arn", sa.String(length=2048), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tenants.account_id"],
            name=op.f("fk_roles_account_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("role_id", name=op.f("pk_roles")),
        sa.UniqueConstraint("account_id", "name", name="uq_roles_account_id_name"),
        sa.UniqueConstraint("arn", name=op.f("uq_roles_arn")),
    )
    op.create_table(
        "group_memberships",
        sa.Column("group_id", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.group_id"],
            name=op.f("fk_group_memberships_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_group_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_memberships")),
    )
    op.create_table(
        "group_policy_attachments",
        sa.Column("group_id", sa.String(length=20), nullable=False),
        sa.Column("policy_id", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.group_id"],
            name=op.f("fk_group_policy_attachments_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.policy_id"],
            name=op.f("fk_group_policy_attachments_policy_id_policies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("group_id", "policy_id", name=op.f("pk_group_policy_attachments")),
    )
    op.create_table(
        "guardrail_attachments",
        sa.Column("policy_id", sa.String(length=20), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.policy_id"],
            name=op.f("fk_guardrail_attachments_policy_id_policies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "policy_id", "target_kind", "target_id", name=op.f("pk_guardrail_attachments")
        ),
    )
    op.create_table(
        "policy_versions",
        sa.Column("policy_id", sa.String(length=20), nullable=False),
        sa.Column("version_id", sa.String(length=8), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.policy_id"],
            name=op.f("fk_policy_versions_policy_id_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("policy_id", "version_id", name=op.f("pk_policy_versions")),
    )
    op.create_table(
        "role_policy_attachments",
        sa.Column("role_id", sa.String(length=20), nullable=False),
        sa.Column("policy_id", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.policy_id"],
            name=op.f("fk_role_policy_attachments_policy_id_policies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.role_id"],
            name=op.f("fk_role_policy_attachments_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_id", "policy_id", name=op.f("pk_role_policy_attachments")),
    )
    # Managed policies gain versions: each existing document becomes its policy's v1.
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("path", sa.String(length=512), nullable=False, server_default="/")
        )
        batch_op.add_column(
            sa.Column("description", sa.String(length=1000), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "default_version_id", sa.String(length=8), nullable=False, server_default="v1"
            )
        )
        batch_op.add_column(
            sa.Column("next_version_number", sa.Integer(), nullable=False, server_default="2")
        )
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "INSERT INTO policy_versions (policy_id, version_id, document, created_at) "
        "SELECT policy_id, 'v1', document, created_at FROM policies"
    )
    op.execute("UPDATE policies SET updated_at = created_at")
    with op.batch_alter_table("policies", schema=None) as batch_op:
        for column in ("path", "description", "default_version_id", "next_version_number"):
            batch_op.alter_column(column, server_default=None)
        batch_op.alter_column(
            "updated_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.drop_column("version")
        batch_op.drop_column("document")

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.String(length=16), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tenants_organization_id_organizations"),
            "organizations",
            ["organization_id"],
            ["organization_id"],
            ondelete="RESTRICT",
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("permissions_boundary_arn", sa.String(length=2048), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("permissions_boundary_arn")

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tenants_organization_id_organizations"), type_="foreignkey"
        )
        batch_op.drop_column("organization_id")

    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document", sa.TEXT(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.INTEGER(), nullable=False, server_default="1"))
    op.execute(
        "UPDATE policies SET document = (SELECT document FROM policy_versions v "
        "WHERE v.policy_id = policies.policy_id AND v.version_id = policies.default_version_id)"
    )
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.alter_column("document", existing_type=sa.TEXT(), nullable=False)
        batch_op.drop_column("updated_at")
        batch_op.drop_column("next_version_number")
        batch_op.drop_column("default_version_id")
        batch_op.drop_column("description")
        batch_op.drop_column("path")

    op.drop_table("role_policy_attachments")
    op.drop_table("policy_versions")
    op.drop_table("guardrail_attachments")
    op.drop_table("group_policy_attachments")
    op.drop_table("group_memberships")
    op.drop_table("roles")
    op.drop_table("groups")
    op.drop_table("organizations")
    op.drop_table("inline_policies")
