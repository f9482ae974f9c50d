"""What both backends share: enqueue's checks and keys, failure records, statistics."""

from __future__ import annotations

import abc
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from lakevault.core import Clock, RandomSource
from lakevault.core.errors import InvalidParameterValue
from lakevault.db import Database, models
from lakevault.jobs._errors import InvalidJobState, NoSuchJob, QueueingLockHeld
from lakevault.jobs._periodic import enqueue_due_periods
from lakevault.jobs._registry import TaskRegistry
from lakevault.jobs._sql import insert_for
from lakevault.jobs._task import TaskDefinition
from lakevault.jobs._types import JobId, JobState

_MAX_KEY_LENGTH = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    """A validated job, ready for a backend to insert."""

    definition: TaskDefinition[Any]
    payload: dict[str, Any]
    run_at: datetime | None
    priority: int
    queueing_lock: str | None


class QueueBase(abc.ABC):
    """The backend-independent half of a :class:`JobQueue`.

    Subclasses insert jobs (:meth:`_insert`) and run workers; this class validates, handles
    idempotency keys, and reads the shared failure table.
    """

    backend_name = "base"

    def __init__(
        self,
        *,
        database: Database,
        registry: TaskRegistry,
        clock: Clock,
        random: RandomSource,
        region: str,
    ) -> None:
        self._database = database
        self._registry = registry
        self._clock = clock
        self._random = random
        self._region = region

    @property
    def registry(self) -> TaskRegistry:
        return self._registry

    @property
    def database(self) -> Database:
        return self._database

    def enqueue(
        self,
        session: Session,
        task_name: str,
        payload: BaseModel | Mapping[str, Any] | None = None,
        *,
        run_at: datetime | None = None,
        priority: int | None = None,
        queueing_lock: str | None = None,
        idempotency_key: str | None = None,
    ) -> JobId:
        definition = self._registry.get(task_name)
        document = self._registry.validate(task_name, payload)
        for name, value in (("queueing_lock", queueing_lock), ("idempotency_key", idempotency_key)):
            if value is not None and not 0 < len(value) <= _MAX_KEY_LENGTH:
                raise InvalidParameterValue(
                    f"{name} must be 1-{_MAX_KEY_LENGTH} characters, got {len(value)}"
                )
        if run_at is not None and run_at.tzinfo is None:
            raise InvalidParameterValue("run_at must be an aware datetime (UTC), got a naive one")
        now = self._clock.now()
        job = NewJob(
            definition=definition,
            payload=document,
            run_at=run_at,
            priority=definition.priority if priority is None else priority,
            queueing_lock=queueing_lock,
        )
        if idempotency_key is None and queueing_lock is None:
            return self._insert(session, job)  # Nothing can refuse it: no savepoint needed.
        # A savepoint: a refused enqueue (held lock) must not spoil the caller's transaction.
        with session.begin_nested():
            if idempotency_key is not None:
                taken = session.execute(
                    insert_for(session, models.JobIdempotencyKey)
                    .values(key=idempotency_key, task_name=task_name, job_id=None, created_at=now)
                    .on_conflict_do_nothing()
                    .returning(models.JobIdempotencyKey.key)
                ).first()
                if taken is None:
                    existing = session.scalar(
                        select(models.JobIdempotencyKey.job_id).where(
                            models.JobIdempotencyKey.key == idempotency_key
                        )
                    )
                    return JobId(int(existing or 0))
            job_id = self._insert(session, job)
            if idempotency_key is not None:
                session.execute(
                    update(models.JobIdempotencyKey)
                    .where(models.JobIdempotencyKey.key == idempotency_key)
                    .values(job_id=job_id)
                )
        return job_id

    @abc.abstractmethod
    def _insert(self, session: Session, job: NewJob) -> JobId:
        """Store ``job`` in the backend, inside ``session``'s transaction; return its id."""

    @staticmethod
    def _lock_held(task_name: str, queueing_lock: str) -> QueueingLockHeld:
        return QueueingLockHeld(
            f"task {task_name}: another job with queueing lock {queueing_lock!r} is waiting or "
            "running; at most one may be. Wait for it to finish, or cancel it"
        )

    def enqueue_due_periods(self) -> int:
        """Enqueue every periodic task whose current period has no job yet."""
        return enqueue_due_periods(self.enqueue, self._database, self._registry, self._clock.now())

    def _failure_counts(self, session: Session) -> tuple[dict[str, int], dict[str, int]]:
        failure = models.JobFailure
        rows: list[tuple[Any, Any, Any]] = session.execute(  # type: ignore[assignment]
            select(
                failure.task_name,
                func.sum(failure.failed_attempts),
                func.sum(case((failure.is_dead, 1), else_=0)),
            )
            .where(failure.backend == self.backend_name)
            .group_by(failure.task_name)
        ).all()
        failures = {str(name): int(total or 0) for name, total, _ in rows}
        dead = {str(name): int(count) for name, _, count in rows if count}
        return failures, dead

    def _purge_keys(self, session: Session, cutoff: datetime) -> None:
        session.execute(
            delete(models.JobIdempotencyKey).where(models.JobIdempotencyKey.created_at < cutoff)
        )
        session.execute(delete(models.JobEffect).where(models.JobEffect.applied_at < cutoff))

    def _cutoff(self, older_than_seconds: float) -> datetime:
        return self._clock.now() - timedelta(seconds=older_than_seconds)


def no_such_job(job_id: JobId) -> NoSuchJob:
    return NoSuchJob(f"no job has id {job_id}; it may have been purged ('lakevault jobs list')")


def require_final(states: Collection[JobState]) -> None:
    """Refuse to purge jobs that are not finished: they still have work to do."""
    if not all(state.is_final for state in states):
        raise InvalidJobState(
            "purge removes only finished jobs (done, dead, cancelled); cancel waiting jobs first"
        )
