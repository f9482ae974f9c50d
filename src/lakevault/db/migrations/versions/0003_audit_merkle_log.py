"""audit merkle log: leaf hashes and signed checkpoints

Adds each event's RFC 9162 leaf hash, ``SHA-256(0x00 || body)``, to ``audit_events`` (computed
here for the events already logged, so every existing log becomes a Merkle log from sequence 0)
and the table of signed checkpoints (docs/audit.md, docs/decisions/0060-audit-merkle-log.md).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 07:59:50.585290
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "tree_size", name=op.f("pk_audit_checkpoints")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=True))
    # Existing events become leaves: hash each stored body exactly as the log now does.
    events = sa.table(
        "audit_events",
        sa.column("event_id", sa.String),
        sa.column("body", sa.Text),
        sa.column("leaf_hash", sa.LargeBinary),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(events.c.event_id, events.c.body)).all()
    for event_id, body in rows:
        connection.execute(
            sa.update(events)
            .where(events.c.event_id == event_id)
            .values(leaf_hash=hashlib.sha256(b"\x00" + str(body).encode("utf-8")).digest())
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("leaf_hash", existing_type=sa.LargeBinary(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("leaf_hash")
    op.drop_table("audit_checkpoints")
