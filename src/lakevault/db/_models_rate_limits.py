"""Rate-limit windows in the metadata store, shared by every process and server using it.

Sign-in throttling (``identity._rate_limit``) counts attempts per client address and per user
name. Counted in process memory, each HTTP process would grant the whole limit again, so N
processes would let a password guesser make N times the attempts the setting promises; kept
here, the limit holds across processes and servers without a separate store (ADR 0268).
"""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class RateLimitEntry(Base):
    """One counted attempt under a key: the moving window counts a key's entries newer than
    the window; ``expires_at`` (its time plus the window) is when any writer may delete it."""

    __tablename__ = "rate_limit_entries"
    __table_args__ = (
        Index("ix_rate_limit_entries_key_at", "key", "at"),
        Index("ix_rate_limit_entries_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    #: Seconds since the epoch (``time.time()``, the clock ``limits`` measures windows on).
    at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)


class RateLimitCounter(Base):
    """A fixed-window counter (``limits``' fixed and sliding strategies): its count, and when
    it ends."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float)
