"""Tables of the tamper-evident audit log beyond the events themselves (docs/audit.md).

``audit_events`` and ``audit_heads`` (in ``_models.py``) hold each account's dense sequence of
events and their leaf hashes; this module adds the signed checkpoints over them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class AuditCheckpoint(Base):
    """A signed checkpoint of one account's log: appended, never updated.

    ``note`` is the C2SP signed note exactly as signed; ``frontier`` the concatenated 32-byte
    roots of the perfect subtrees of the tree at ``tree_size`` (its compact range), so the next
    checkpoint hashes only the leaves appended since.
    """

    __tablename__ = "audit_checkpoints"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
