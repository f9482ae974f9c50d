"""Tables of the job queue (docs/jobs.md).

``jobs`` is the embedded backend's queue: one row per task instance, claimed by a worker under a
lease. The other three tables serve both backends (the embedded one and Procrastinate, whose own
tables live in the PostgreSQL schema ``procrastinate``):

* ``job_idempotency_keys`` — at most one job per idempotency key (also how a periodic task is
  enqueued once per period by many workers);
* ``job_effects`` — effects already applied, written in the same transaction as the effect, so a
  task that runs twice (at-least-once delivery) applies its effect once;
* ``job_failures`` — the last error of every job that failed at least once, and whether it is dead.

States and backends are stored as short strings, not database enums, so that adding a state
never needs an ``ALTER TYPE`` on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base

#: 64-bit ids on PostgreSQL; SQLite's rowid alias must be spelt INTEGER to autoincrement.
_JOB_ID = BigInteger().with_variant(Integer(), "sqlite")

#: The states in which a queueing lock is held: at most one such job per lock key.
_LOCK_HELD = "state IN ('waiting', 'running')"


class Job(Base):
    """One task instance of the embedded backend."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state_priority_run_at", "state", "priority", "run_at"),
        Index("ix_jobs_state_lease_expires_at", "state", "lease_expires_at"),
        Index(
            "uq_jobs_queueing_lock_held",
            "queueing_lock",
            unique=True,
            sqlite_where=text(_LOCK_HELD),
            postgresql_where=text(_LOCK_HELD),
        ),
    )

    id: Mapped[int] = mapped_column(_JOB_ID, primary_key=True, autoincrement=True)
    task_name: Mapped[str] = mapped_column(String(128), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    timeout_seconds: Mapped[float] = mapped_column(Float)
    queueing_lock: Mapped[str | None] = mapped_column(String(256), nullable=True)
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class JobIdempotencyKey(Base):
    """An idempotency key taken by an enqueue; a second enqueue with it returns the same job."""

    __tablename__ = "job_idempotency_keys"

    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    task_name: Mapped[str] = mapped_column(String(128))
    job_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(index=True)


class JobEffect(Base):
    """An effect that has been applied; inserted in the effect's own transaction."""

    __tablename__ = "job_effects"

    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(index=True)


class JobFailure(Base):
    """The last error of a job that failed at least once, on either backend."""

    __tablename__ = "job_failures"

    backend: Mapped[str] = mapped_column(String(16), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    task_name: Mapped[str] = mapped_column(String(128), index=True)
    failed_attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text)
    is_dead: Mapped[bool] = mapped_column(Boolean)
    failed_at: Mapped[datetime]
