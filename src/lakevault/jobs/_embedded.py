"""The embedded backend: a job table in the metadata database (SQLite WAL or PostgreSQL).

A worker claims the most urgent due job by setting it ``running`` under a lease (a random token
and an expiry), renews the lease while the handler runs (heartbeat), and finishes the job only if
it still holds the lease. A job whose lease expired — its worker died or hung — is due again and
the next claim takes it over: delivery is at least once.

Claims are one short write transaction. On PostgreSQL the candidate row is locked with
``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent workers take different jobs without
waiting; on SQLite the write transaction begins ``IMMEDIATE`` (see ``lakevault.db``), which
serialises claimers, and SQLAlchemy leaves out the ``FOR UPDATE`` that SQLite lacks. The same
statements therefore run on both.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import sqlalchemy.exc
from sqlalchemy import Row, Table, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from lakevault.core import Clock, RandomSource
from lakevault.db import Database, models
from lakevault.jobs._base import NewJob, QueueBase, no_such_job, require_final
from lakevault.jobs._errors import InvalidJobState
from lakevault.jobs._failures import record_failure
from lakevault.jobs._queue import FINAL_STATES
from lakevault.jobs._registry import TaskRegistry
from lakevault.jobs._sql import rowcount
from lakevault.jobs._types import JobId, JobRecord, JobState, QueueStats

_JOB = models.Job
_FAILURE = models.JobFailure


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedJob:
    """A job a worker holds the lease of. ``attempt`` is 1 for the first run."""

    job_id: JobId
    task_name: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    timeout_seconds: float
    lease_token: str


class EmbeddedQueue(QueueBase):
    """The :class:`JobQueue` kept in the metadata database."""

    backend_name = "embedded"

    def __init__(
        self,
        *,
        database: Database,
        registry: TaskRegistry,
        clock: Clock,
        random: RandomSource,
        region: str,
        lease_seconds: float = 30.0,
        poll_interval_seconds: float = 0.02,
    ) -> None:
        super().__init__(
            database=database, registry=registry, clock=clock, random=random, region=region
        )
        self.lease_seconds = lease_seconds
        self.poll_interval_seconds = poll_interval_seconds

    # --- enqueue -------------------------------------------------------------------------

    def _insert(self, session: Session, job: NewJob) -> JobId:
        lock = job.queueing_lock
        name = job.definition.name
        if lock is not None and session.scalar(
            select(_JOB.id).where(_JOB.queueing_lock == lock, _JOB.state.in_(_LOCK_STATES))
        ):
            raise self._lock_held(name, lock)
        now = self._clock.now()
        values = {
            "task_name": name,
            "payload": job.payload,
            "state": JobState.WAITING.value,
            "priority": job.priority,
            "run_at": job.run_at if job.run_at is not None else now,
            "attempts": 0,
            "max_attempts": job.definition.retry.max_attempts,
            "timeout_seconds": job.definition.timeout_seconds,
            "queueing_lock": lock,
            "created_at": now,
        }
        if lock is None:
            return JobId(session.execute(_INSERT, values).scalar_one())
        try:
            # The caller's savepoint (QueueBase.enqueue) keeps its transaction usable.
            job_id: int = session.execute(_INSERT, values).scalar_one()
        except sqlalchemy.exc.IntegrityError as exc:
            # Another transaction took the lock between the check and the insert.
            raise self._lock_held(name, lock) from exc
        return JobId(job_id)

    # --- the worker's side ----------------------------------------------------------------

    def has_due_job(self) -> bool:
        """Whether a claim would find a job; reads without SQLite's write lock."""
        with self._database.read_session() as session:
            found = session.execute(_ANY_DUE, {"now": self._clock.now()}).first()
            return found is not None

    def claim(
        self,
        *,
        limit: int = 1,
        finished: Sequence[ClaimedJob] = (),
        released: Sequence[ClaimedJob] = (),
    ) -> list[ClaimedJob]:
        """Take up to ``limit`` of the most urgent due jobs under one new lease.

        In the same transaction, ``finished`` jobs (run successfully by this worker) are marked
        done and ``released`` ones (claimed but not started) go back to waiting, so that a busy
        SQLite queue — bound by its write transactions — pays one write for many jobs.
        """
        now = self._clock.now()
        token = secrets.token_hex(16)
        with self._database.session() as session:
            if finished:
                session.execute(
                    _FINISH,
                    [_finish_parameters(job, JobState.DONE, None, now) for job in finished],
                )
            if released:
                session.execute(
                    _RELEASE, [{"job_id": job.job_id, "token": job.lease_token} for job in released]
                )
            candidates: list[int] = list(
                session.execute(_CANDIDATES, {"now": now, "limit": limit}).scalars()
            )
            if not candidates:
                return []
            rows = session.execute(
                _TAKE,
                {
                    "job_ids": candidates,
                    "token": token,
                    "expires": now + timedelta(seconds=self.lease_seconds),
                    "now": now,
                },
            ).all()
        order = {job_id: position for position, job_id in enumerate(candidates)}
        return sorted(
            (
                ClaimedJob(
                    job_id=JobId(row.id),
                    task_name=row.task_name,
                    payload=row.payload,
                    attempt=row.attempts,
                    max_attempts=row.max_attempts,
                    timeout_seconds=row.timeout_seconds,
                    lease_token=token,
                )
                for row in rows
            ),
            key=lambda job: order[job.job_id],
        )

    def renew_lease(self, lease_token: str) -> int:
        """Push the expiry of every job held under ``lease_token`` forward; return how many.

        Fewer than expected means a lease was lost to another worker (this one stalled).
        """
        now = self._clock.now()
        with self._database.session() as session:
            result = session.execute(
                _RENEW,
                {"token": lease_token, "expires": now + timedelta(seconds=self.lease_seconds)},
            )
            return rowcount(result)

    def complete(self, job: ClaimedJob) -> bool:
        """Mark the job done if this worker still holds its lease."""
        with self._database.session() as session:
            return self._finish(session, job, state=JobState.DONE, run_at=None)

    def fail(self, job: ClaimedJob, *, error_text: str, retry_at: datetime | None) -> bool:
        """Record a failed attempt: waiting again at ``retry_at``, or dead when it is None."""
        now = self._clock.now()
        with self._database.session() as session:
            state = JobState.WAITING if retry_at is not None else JobState.DEAD
            if not self._finish(session, job, state=state, run_at=retry_at):
                return False
            record_failure(
                session,
                backend=self.backend_name,
                job_id=job.job_id,
                task_name=job.task_name,
                error_text=error_text,
                is_dead=retry_at is None,
                attempt=job.attempt,
                now=now,
                region=self._region,
                random=self._random,
            )
            return True

    def _finish(
        self, session: Session, job: ClaimedJob, *, state: JobState, run_at: datetime | None
    ) -> bool:
        """Set the final or waiting state of a job this worker holds; False if it lost it."""
        parameters = _finish_parameters(job, state, run_at, self._clock.now())
        return rowcount(session.execute(_FINISH, parameters)) == 1

    def run_worker(
        self, *, name: str, stop: threading.Event | None = None, until_idle: bool = False
    ) -> int:
        from lakevault.jobs._embedded_worker import EmbeddedWorker

        worker = EmbeddedWorker(queue=self, name=name, clock=self._clock, random=self._random)
        return worker.run(stop=stop, until_idle=until_idle)

    # --- operations ------------------------------------------------------------------------

    def get(self, job_id: JobId) -> JobRecord:
        with self._database.read_session() as session:
            row = session.execute(self._records().where(_JOB.id == job_id)).first()
        if row is None:
            raise no_such_job(job_id)
        return _record(row)

    def list_jobs(
        self,
        *,
        states: Collection[JobState] = (),
        task_name: str | None = None,
        older_than_seconds: float | None = None,
        limit: int = 100,
    ) -> list[JobRecord]:
        query = self._records().order_by(_JOB.id.desc()).limit(limit)
        if states:
            query = query.where(_JOB.state.in_([state.value for state in states]))
        if task_name is not None:
            query = query.where(_JOB.task_name == task_name)
        if older_than_seconds is not None:
            query = query.where(_JOB.created_at < self._cutoff(older_than_seconds))
        with self._database.read_session() as session:
            return [_record(row) for row in session.execute(query)]

    def cancel(self, job_id: JobId) -> JobRecord:
        with self._database.session() as session:
            result = session.execute(
                update(_JOB)
                .where(_JOB.id == job_id, _JOB.state == JobState.WAITING.value)
                .values(state=JobState.CANCELLED.value, finished_at=self._clock.now())
            )
            if rowcount(result) != 1:
                self._refuse(session, job_id, "cancel", "only a waiting job can be cancelled")
        return self.get(job_id)

    def retry(self, job_id: JobId) -> JobRecord:
        now = self._clock.now()
        with self._database.session() as session:
            # A waiting job becomes due now; a dead one gets exactly one more attempt.
            waiting = session.execute(
                update(_JOB)
                .where(_JOB.id == job_id, _JOB.state == JobState.WAITING.value)
                .values(run_at=now)
            )
            if rowcount(waiting) != 1:
                dead = session.execute(
                    update(_JOB)
                    .where(_JOB.id == job_id, _JOB.state == JobState.DEAD.value)
                    .values(
                        state=JobState.WAITING.value,
                        run_at=now,
                        finished_at=None,
                        max_attempts=_JOB.attempts + 1,
                    )
                )
                if rowcount(dead) != 1:
                    self._refuse(
                        session, job_id, "retry", "only a waiting or dead job can be retried"
                    )
                session.execute(
                    update(_FAILURE)
                    .where(_FAILURE.backend == self.backend_name, _FAILURE.job_id == job_id)
                    .values(is_dead=False)
                )
        return self.get(job_id)

    def _refuse(self, session: Session, job_id: JobId, verb: str, rule: str) -> None:
        state = session.scalar(select(_JOB.state).where(_JOB.id == job_id))
        if state is None:
            raise no_such_job(job_id)
        raise InvalidJobState(f"cannot {verb} job {job_id}: it is {state}; {rule}")

    def purge(
        self,
        *,
        states: Collection[JobState] = FINAL_STATES,
        task_name: str | None = None,
        older_than_seconds: float = 7 * 86400.0,
    ) -> int:
        require_final(states)
        finals = [state.value for state in states]
        cutoff = self._cutoff(older_than_seconds)
        condition = and_(_JOB.state.in_(finals), _JOB.finished_at < cutoff)
        if task_name is not None:
            condition = and_(condition, _JOB.task_name == task_name)
        with self._database.session() as session:
            ids = select(_JOB.id).where(condition).scalar_subquery()
            session.execute(
                delete(_FAILURE).where(
                    _FAILURE.backend == self.backend_name, _FAILURE.job_id.in_(ids)
                )
            )
            removed = rowcount(session.execute(delete(_JOB).where(condition)))
            self._purge_keys(session, cutoff)
        return int(removed)

    def stats(self) -> QueueStats:
        now = self._clock.now()
        with self._database.read_session() as session:
            counts = {state: 0 for state in JobState}
            for state, count in session.execute(
                select(_JOB.state, func.count()).group_by(_JOB.state)
            ):
                counts[JobState(state)] = int(count)
            oldest = session.scalar(
                select(func.min(_JOB.run_at)).where(
                    _JOB.state == JobState.WAITING.value, _JOB.run_at <= now
                )
            )
            failures, dead = self._failure_counts(session)
        age = None if oldest is None else max(0.0, (now - _aware(oldest)).total_seconds())
        return QueueStats(
            counts_by_state=counts,
            oldest_waiting_age_seconds=age,
            failures_by_task=failures,
            dead_by_task=dead,
        )

    def _records(self) -> Any:
        return select(
            _JOB.id,
            _JOB.task_name,
            _JOB.state,
            _JOB.payload,
            _JOB.priority,
            _JOB.run_at,
            _JOB.attempts,
            _JOB.queueing_lock,
            _JOB.created_at,
            _FAILURE.last_error,
        ).outerjoin(
            _FAILURE,
            and_(_FAILURE.backend == self.backend_name, _FAILURE.job_id == _JOB.id),
        )


_LOCK_STATES = (JobState.WAITING.value, JobState.RUNNING.value)

# The worker's statements, built once: SQLAlchemy then reuses their compiled form, and a claim
# costs two statements' execution, not their construction (measured: construction dominated).
_TABLE = cast(Table, _JOB.__table__)
_COLUMNS = _TABLE.c
_DUE = or_(
    and_(_COLUMNS.state == JobState.WAITING.value, _COLUMNS.run_at <= bindparam("now")),
    and_(_COLUMNS.state == JobState.RUNNING.value, _COLUMNS.lease_expires_at < bindparam("now")),
)
_INSERT = insert(_TABLE).returning(_COLUMNS.id)
_ANY_DUE = select(_COLUMNS.id).where(_DUE).limit(1)
_CANDIDATES = (
    select(_COLUMNS.id)
    .where(_DUE)
    .order_by(_COLUMNS.priority.desc(), _COLUMNS.run_at, _COLUMNS.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_TAKE = (
    update(_TABLE)
    .where(_COLUMNS.id.in_(bindparam("job_ids", expanding=True)))
    .values(
        state=JobState.RUNNING.value,
        lease_token=bindparam("token"),
        lease_expires_at=bindparam("expires"),
        attempts=_COLUMNS.attempts + 1,
        started_at=bindparam("now"),
    )
    .returning(
        _COLUMNS.id,
        _COLUMNS.task_name,
        _COLUMNS.payload,
        _COLUMNS.attempts,
        _COLUMNS.max_attempts,
        _COLUMNS.timeout_seconds,
    )
)
_HELD = and_(_COLUMNS.id == bindparam("job_id"), _COLUMNS.lease_token == bindparam("token"))
_RENEW = (
    update(_TABLE)
    .where(_COLUMNS.lease_token == bindparam("token"))
    .values(lease_expires_at=bindparam("expires"))
)
_RELEASE = (
    update(_TABLE)
    .where(_HELD)
    .values(
        state=JobState.WAITING.value,
        lease_token=None,
        lease_expires_at=None,
        attempts=_COLUMNS.attempts - 1,
    )
)
_FINISH = (
    update(_TABLE)
    .where(_HELD)
    .values(
        state=bindparam("state"),
        lease_token=None,
        lease_expires_at=None,
        run_at=func.coalesce(bindparam("retry_at", type_=_COLUMNS.run_at.type), _COLUMNS.run_at),
        finished_at=bindparam("finish_time", type_=_COLUMNS.finished_at.type),
    )
)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _record(row: Row[Any]) -> JobRecord:
    return JobRecord(
        job_id=JobId(row.id),
        task_name=row.task_name,
        state=JobState(row.state),
        payload=row.payload,
        priority=row.priority,
        run_at=_aware(row.run_at),
        attempts=row.attempts,
        queueing_lock=row.queueing_lock,
        created_at=_aware(row.created_at),
        last_error=row.last_error,
    )


def _finish_parameters(
    job: ClaimedJob, state: JobState, run_at: datetime | None, now: datetime
) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "token": job.lease_token,
        "state": state.value,
        "retry_at": run_at,
        "finish_time": now if state.is_final else None,
    }
