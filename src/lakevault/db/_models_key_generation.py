"""The key generation: one counter that every change to a KMS key's row advances.

Database triggers (migration ``k701``) advance it in the same transaction as any insert, update
or delete on ``kms_keys`` (state, key policy, current version, rotation, deletion date). A
process may therefore cache a service key's record — what every object PUT's data key is decided
on — and reuse it while the counter is unchanged; the PUT reads the counter with its token
(ADR 0243). Triggers, not application code, so that no writer in any process can change a key
without advancing it — the pattern of the policy and storage generations (ADRs 0168, 0177).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class KeyGeneration(Base):
    """The single row ``id = 1`` whose ``value`` only ever grows."""

    __tablename__ = "key_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)
