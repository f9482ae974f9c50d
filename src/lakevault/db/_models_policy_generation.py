"""The policy generation: one counter that every change to what decides access advances.

Database triggers (migration ``y001``) advance it in the same transaction as any insert, update
or delete on the tables the gate reads a principal's policies from (users, groups, memberships,
roles, attachments, policies and their versions, inline policies, tenants, organizations,
guardrails). A process may therefore cache a principal's policies and reuse them while the
counter is unchanged: one indexed read per request instead of four to six queries
(docs/decisions/0168-policy-cache-generation.md). Triggers, not application code, so that no
writer, present or future, in any process, can change a policy without advancing it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class PolicyGeneration(Base):
    """The single row ``id = 1`` whose ``value`` only ever grows."""

    __tablename__ = "policy_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)
