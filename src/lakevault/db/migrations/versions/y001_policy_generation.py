"""policy generation counter, advanced by triggers on every policy-relevant table

Revision ID: y001
Revises: x001
Create Date: 2026-11-29 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "y001"
down_revision: str | None = "x001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every table the gate's policy source reads (identity/_policy_source.py). A table added to
#: that reader must be added here (tests/unit/identity/test_policy_cache.py checks the list).
WATCHED_TABLES = (
    "users",
    "groups",
    "group_memberships",
    "user_policy_attachments",
    "group_policy_attachments",
    "policies",
    "policy_versions",
    "inline_policies",
    "tenants",
    "organizations",
    "guardrail_attachments",
    "roles",
    "role_policy_attachments",
)
_BUMP = "UPDATE policy_generation SET value = value + 1 WHERE id = 1"
_FUNCTION = "lakevault_advance_policy_generation"


def upgrade() -> None:
    op.create_table(
        "policy_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_generation")),
    )
    op.execute("INSERT INTO policy_generation (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_BUMP}; RETURN NULL; END $$"
        )
        for table in WATCHED_TABLES:
            op.execute(
                f"CREATE TRIGGER policy_generation_{table} AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()"
            )
        return
    for table in WATCHED_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER policy_generation_{table}_{event.lower()} AFTER {event} "
                f"ON {table} BEGIN {_BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED_TABLES:
            op.execute(f"DROP TRIGGER policy_generation_{table} ON {table}")
        op.execute(f"DROP FUNCTION {_FUNCTION}()")
    else:
        for table in WATCHED_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER policy_generation_{table}_{event}")
    op.drop_table("policy_generation")
