"""storage generation counter, advanced by triggers on the bucket tables

Revision ID: z001
Revises: y001
Create Date: 2026-11-29 17:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "z001"
down_revision: str | None = "y001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every table the storage bucket cache reads (storage/_bucket_cache.py). A table added to that
#: reader must be added here (tests/unit/storage/test_bucket_cache.py checks the list).
WATCHED_TABLES = ("storage_buckets", "storage_bucket_limits")
_BUMP = "UPDATE storage_generation SET value = value + 1 WHERE id = 1"
_FUNCTION = "lakevault_advance_storage_generation"


def upgrade() -> None:
    op.create_table(
        "storage_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_generation")),
    )
    op.execute("INSERT INTO storage_generation (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_BUMP}; RETURN NULL; END $$"
        )
        for table in WATCHED_TABLES:
            op.execute(
                f"CREATE TRIGGER storage_generation_{table} AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()"
            )
        return
    for table in WATCHED_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER storage_generation_{table}_{event.lower()} AFTER {event} "
                f"ON {table} BEGIN {_BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED_TABLES:
            op.execute(f"DROP TRIGGER storage_generation_{table} ON {table}")
        op.execute(f"DROP FUNCTION {_FUNCTION}()")
    else:
        for table in WATCHED_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER storage_generation_{table}_{event}")
    op.drop_table("storage_generation")
