"""key generation counter, advanced by triggers on kms_keys (ADR 0243)

Revision ID: k701
Revises: c001
Create Date: 2026-11-30 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "k701"
down_revision: str | None = "c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The table the service key records are read from (keys/_records.py, _SERVICE_RECORD_SQL).
WATCHED_TABLES = ("kms_keys",)
_BUMP = "UPDATE key_generation SET value = value + 1 WHERE id = 1"
_FUNCTION = "lakevault_advance_key_generation"


def upgrade() -> None:
    op.create_table(
        "key_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_generation")),
    )
    op.execute("INSERT INTO key_generation (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_BUMP}; RETURN NULL; END $$"
        )
        for table in WATCHED_TABLES:
            op.execute(
                f"CREATE TRIGGER key_generation_{table} AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()"
            )
        return
    for table in WATCHED_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER key_generation_{table}_{event.lower()} AFTER {event} "
                f"ON {table} BEGIN {_BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED_TABLES:
            op.execute(f"DROP TRIGGER key_generation_{table} ON {table}")
        op.execute(f"DROP FUNCTION {_FUNCTION}()")
    else:
        for table in WATCHED_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER key_generation_{table}_{event}")
    op.drop_table("key_generation")
