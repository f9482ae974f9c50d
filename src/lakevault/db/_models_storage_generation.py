"""The storage generation: one counter that every change to a bucket's request-time state advances.

Database triggers (migration ``z001``) advance it in the same transaction as any insert, update
or delete on ``storage_buckets`` (owner, KMS key, versioning, policy, tags, public access) and
``storage_bucket_limits`` (streaming limits). A process may therefore cache what a request needs
of a bucket and reuse it while the counter is unchanged: one indexed read per request instead of
two ORM sessions (ADR 0177). Triggers, not application code, so
that no writer, present or future, in any process, can change a bucket without advancing it —
the pattern of the policy generation (ADR 0168).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class StorageGeneration(Base):
    """The single row ``id = 1`` whose ``value`` only ever grows."""

    __tablename__ = "storage_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)
