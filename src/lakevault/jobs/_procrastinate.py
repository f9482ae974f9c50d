"""The scale-out backend: Procrastinate on PostgreSQL, same tasks, same contract.

Procrastinate's tables and functions live in the PostgreSQL schema ``procrastinate`` of the
metadata database (installed by ``lakevault db upgrade``, migration 0002), so:

* ``enqueue`` calls ``procrastinate_defer_jobs_v1`` on the caller's SQLAlchemy connection —
  the job commits or rolls back with the caller's transaction;
* workers are Procrastinate workers (LISTEN/NOTIFY pickup, ``FOR UPDATE SKIP LOCKED`` fetch,
  heartbeats), on as many machines as needed; their connections put ``procrastinate`` on the
  ``search_path``.

lakevault adds around each Procrastinate task what the contract needs and Procrastinate does not
do by itself: payload validation, the per-attempt timeout (``asyncio.wait_for``; a handler that
overruns is abandoned in its thread, and its attempt fails), backoff with jitter through a retry
strategy, the last error and the dead-job audit event (``job_failures``), the re-run of jobs
whose worker stopped heartbeating (Procrastinate reports them but leaves them ``doing``), and the
periodic schedules (the same idempotency-key scheme as the embedded backend, so the injected
clock decides).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy.exc
from procrastinate import App, BaseRetryStrategy, JobContext, PsycopgConnector, RetryDecision
from procrastinate.jobs import Job as ProcrastinateJob
from sqlalchemy import Row, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from lakevault.core import Clock, RandomSource
from lakevault.core.errors import ConfigurationError
from lakevault.db import Database
from lakevault.jobs._base import NewJob, QueueBase, no_such_job, require_final
from lakevault.jobs._errors import InvalidJobState, TaskTimedOut
from lakevault.jobs._failures import describe_error, record_failure
from lakevault.jobs._queue import FINAL_STATES
from lakevault.jobs._registry import TaskRegistry
from lakevault.jobs._retry import unit_random
from lakevault.jobs._task import TaskContext, TaskDefinition
from lakevault.jobs._types import JobId, JobRecord, JobState, QueueStats

logger = logging.getLogger("lakevault.jobs")

#: The PostgreSQL schema of Procrastinate's objects (migration 0002).
SCHEMA = "procrastinate"
#: The one Procrastinate queue lakevault uses.
QUEUE_NAME = "lakevault"

_STATE_BY_STATUS = {
    "todo": JobState.WAITING,
    "doing": JobState.RUNNING,
    "succeeded": JobState.DONE,
    "failed": JobState.DEAD,
    "cancelled": JobState.CANCELLED,
    "aborting": JobState.RUNNING,
    "aborted": JobState.CANCELLED,
}
_STATUSES_BY_STATE: dict[JobState, tuple[str, ...]] = {
    state: tuple(status for status, mapped in _STATE_BY_STATUS.items() if mapped is state)
    for state in JobState
}

_DEFER = text(
    "SELECT procrastinate.procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, :lock, "
    ":lock, CAST(:args AS jsonb), :scheduled_at)]::procrastinate.procrastinate_job_to_defer_v1[])"
)
_RECORDS = """
SELECT j.id, j.task_name, j.status, j.args, j.priority, j.scheduled_at, j.attempts,
       j.queueing_lock,
       (SELECT min(e.at) FROM procrastinate.procrastinate_events e
         WHERE e.job_id = j.id AND e.type = 'deferred') AS created_at,
       f.last_error
  FROM procrastinate.procrastinate_jobs j
  LEFT JOIN job_failures f ON f.backend = 'procrastinate' AND f.job_id = j.id
"""
_GET = text(_RECORDS + " WHERE j.id = :id")
_LIST = text(
    "SELECT * FROM ("  # noqa: S608 - joins constant SQL; every value is a bound parameter.
    + _RECORDS
    + """
     WHERE (CAST(:statuses AS text[]) IS NULL OR j.status::text = ANY(:statuses))
       AND (CAST(:task AS text) IS NULL OR j.task_name = :task)
    ) r
    WHERE CAST(:cutoff AS timestamptz) IS NULL OR r.created_at < :cutoff
    ORDER BY r.id DESC LIMIT :limit
    """
)


class _AttemptFailed(Exception):
    """Carries lakevault's retry decision from the task wrapper to the retry strategy."""

    def __init__(self, error_text: str, retry_at: datetime | None) -> None:
        super().__init__(error_text)
        self.retry_at = retry_at


class _RetryStrategy(BaseRetryStrategy):
    """Retry when the wrapper decided to, at the time it chose (backoff with jitter)."""

    def get_retry_decision(
        self, *, exception: BaseException, job: ProcrastinateJob
    ) -> RetryDecision | None:
        if isinstance(exception, _AttemptFailed) and exception.retry_at is not None:
            return RetryDecision(retry_at=exception.retry_at)
        return None


class ProcrastinateQueue(QueueBase):
    """The :class:`JobQueue` on Procrastinate. Needs a PostgreSQL metadata database."""

    backend_name = "procrastinate"

    def __init__(
        self,
        *,
        database: Database,
        registry: TaskRegistry,
        clock: Clock,
        random: RandomSource,
        region: str,
        lease_seconds: float = 30.0,
        concurrency: int = 1,
    ) -> None:
        if database.is_sqlite:
            raise ConfigurationError(
                "the procrastinate job backend needs a PostgreSQL database_url; set job_backend "
                '= "embedded" to keep jobs in SQLite'
            )
        super().__init__(
            database=database, registry=registry, clock=clock, random=random, region=region
        )
        self.lease_seconds = lease_seconds
        self.concurrency = concurrency
        self._attempts_run = 0

    # --- enqueue -------------------------------------------------------------------------

    def _insert(self, session: Session, job: NewJob) -> JobId:
        lock = job.queueing_lock
        name = job.definition.name
        if lock is not None and session.scalar(
            text(
                "SELECT 1 FROM procrastinate.procrastinate_jobs WHERE queueing_lock = :lock "
                "AND status IN ('todo', 'doing') LIMIT 1"
            ),
            {"lock": lock},
        ):
            raise self._lock_held(name, lock)
        try:
            with session.begin_nested():
                ids: list[int] = session.execute(
                    _DEFER,
                    {
                        "queue": QUEUE_NAME,
                        "task": name,
                        "priority": job.priority,
                        "lock": lock,
                        "args": orjson.dumps(job.payload).decode("utf-8"),
                        "scheduled_at": job.run_at,
                    },
                ).scalar_one()
        except sqlalchemy.exc.IntegrityError as exc:
            raise self._lock_held(name, lock or "") from exc
        return JobId(int(ids[0]))

    # --- operations ------------------------------------------------------------------------

    def get(self, job_id: JobId) -> JobRecord:
        with self._database.read_session() as session:
            row = session.execute(_GET, {"id": job_id}).first()
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
        parameters = {
            "statuses": [s for state in states for s in _STATUSES_BY_STATE[state]] or None,
            "task": task_name,
            "cutoff": None if older_than_seconds is None else self._cutoff(older_than_seconds),
            "limit": limit,
        }
        with self._database.read_session() as session:
            rows = session.execute(_LIST, parameters).all()
        return [_record(row) for row in rows]

    def cancel(self, job_id: JobId) -> JobRecord:
        with self._database.session() as session:
            cancelled = session.scalar(
                text("SELECT procrastinate.procrastinate_cancel_job_v1(:id, false, false)"),
                {"id": job_id},
            )
            if cancelled is None:
                self._refuse(session, job_id, "cancel", "only a waiting job can be cancelled")
        return self.get(job_id)

    def retry(self, job_id: JobId) -> JobRecord:
        with self._database.session() as session:
            # A waiting job becomes due now. A dead one gets exactly one more attempt:
            # Procrastinate counted the failed last attempt, so the counter steps back by one
            # and the wrapper sees the last attempt again.
            changed = session.execute(
                text(
                    "UPDATE procrastinate.procrastinate_jobs "
                    "SET status = 'todo', scheduled_at = now(), "
                    "attempts = attempts - CASE WHEN status = 'failed' THEN 1 ELSE 0 END "
                    "WHERE id = :id AND status IN ('todo', 'failed') RETURNING id"
                ),
                {"id": job_id},
            ).first()
            if changed is None:
                self._refuse(session, job_id, "retry", "only a waiting or dead job can be retried")
            session.execute(
                text(
                    "UPDATE job_failures SET is_dead = false "
                    "WHERE backend = 'procrastinate' AND job_id = :id"
                ),
                {"id": job_id},
            )
        return self.get(job_id)

    def _refuse(self, session: Session, job_id: JobId, verb: str, rule: str) -> None:
        status = session.scalar(
            text("SELECT status::text FROM procrastinate.procrastinate_jobs WHERE id = :id"),
            {"id": job_id},
        )
        if status is None:
            raise no_such_job(job_id)
        raise InvalidJobState(
            f"cannot {verb} job {job_id}: it is {_STATE_BY_STATUS[status].value}; {rule}"
        )

    def purge(
        self,
        *,
        states: Collection[JobState] = FINAL_STATES,
        task_name: str | None = None,
        older_than_seconds: float = 7 * 86400.0,
    ) -> int:
        require_final(states)
        cutoff = self._cutoff(older_than_seconds)
        statuses = [s for state in states for s in _STATUSES_BY_STATE[state]]
        with self._database.session() as session:
            removed = session.execute(
                text(
                    """
                    WITH old AS (
                        SELECT j.id FROM procrastinate.procrastinate_jobs j
                         WHERE j.status::text = ANY(:statuses)
                           AND (CAST(:task AS text) IS NULL OR j.task_name = :task)
                           AND (SELECT max(e.at) FROM procrastinate.procrastinate_events e
                                 WHERE e.job_id = j.id) < :cutoff
                    ), failures AS (
                        DELETE FROM job_failures
                         WHERE backend = 'procrastinate' AND job_id IN (SELECT id FROM old)
                    )
                    DELETE FROM procrastinate.procrastinate_jobs WHERE id IN (SELECT id FROM old)
                    RETURNING id
                    """
                ),
                {"statuses": statuses, "task": task_name, "cutoff": cutoff},
            ).all()
            self._purge_keys(session, cutoff)
        return len(removed)

    def stats(self) -> QueueStats:
        with self._database.read_session() as session:
            counts = {state: 0 for state in JobState}
            for status, count in session.execute(
                text(
                    "SELECT status::text, count(*) FROM procrastinate.procrastinate_jobs "
                    "GROUP BY status"
                )
            ):
                counts[_STATE_BY_STATUS[str(status)]] += int(str(count))
            oldest_age = session.scalar(
                text(
                    """
                    SELECT extract(epoch FROM now() - min(coalesce(j.scheduled_at, e.at)))
                      FROM procrastinate.procrastinate_jobs j
                      JOIN procrastinate.procrastinate_events e
                        ON e.job_id = j.id AND e.type = 'deferred'
                     WHERE j.status = 'todo' AND coalesce(j.scheduled_at, e.at) <= now()
                    """
                )
            )
            failures, dead = self._failure_counts(session)
        return QueueStats(
            counts_by_state=counts,
            oldest_waiting_age_seconds=None if oldest_age is None else max(0.0, float(oldest_age)),
            failures_by_task=failures,
            dead_by_task=dead,
        )

    # --- workers ---------------------------------------------------------------------------

    def build_app(self) -> App:
        """A Procrastinate ``App`` with every registered task wrapped for the contract."""
        url = make_url(self._database.url).set(drivername="postgresql")
        connector = PsycopgConnector(
            conninfo=url.render_as_string(hide_password=False),
            kwargs={"options": "-c search_path=procrastinate"},
            min_size=1,
            max_size=max(4, self.concurrency + 3),
        )
        app = App(connector=connector)
        for definition in self._registry.tasks:
            app.task(
                name=definition.name,
                queue=QUEUE_NAME,
                pass_context=True,
                retry=_RetryStrategy(),
            )(self._wrap(definition))
        return app

    def run_worker(
        self, *, name: str, stop: threading.Event | None = None, until_idle: bool = False
    ) -> int:
        return asyncio.run(self._run_worker(name=name, stop=stop, until_idle=until_idle))

    async def _run_worker(
        self, *, name: str, stop: threading.Event | None, until_idle: bool
    ) -> int:
        app = self.build_app()
        self._attempts_run = 0
        async with app.open_async():
            await asyncio.to_thread(self.enqueue_due_periods)
            await self._rerun_stalled(app)
            options: dict[str, Any] = {
                "name": name,
                "queues": [QUEUE_NAME],
                "concurrency": self.concurrency,
                "wait": not until_idle,
                "install_signal_handlers": False,
                "update_heartbeat_interval": self.lease_seconds / 3.0,
                "stalled_worker_timeout": self.lease_seconds,
                "fetch_job_polling_interval": 1.0,
                "shutdown_graceful_timeout": 60.0,
            }
            worker = asyncio.create_task(app.run_worker_async(**options))
            upkeep = asyncio.create_task(self._upkeep(app))
            try:
                while not worker.done():
                    if stop is not None and stop.is_set():
                        worker.cancel()
                        break
                    await asyncio.wait({worker}, timeout=0.1)
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            finally:
                upkeep.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await upkeep
        return self._attempts_run

    async def _upkeep(self, app: App) -> None:
        """Every second: enqueue due periods; every third of a lease: re-run stalled jobs."""
        next_stalled_check = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.to_thread(self.enqueue_due_periods)
            if loop.time() >= next_stalled_check:
                await self._rerun_stalled(app)
                next_stalled_check = loop.time() + self.lease_seconds / 3.0
            await asyncio.sleep(1.0)

    async def _rerun_stalled(self, app: App) -> None:
        """Put back to waiting the running jobs of workers whose heartbeat stopped."""
        stalled = await app.job_manager.get_stalled_jobs(
            queue=QUEUE_NAME, seconds_since_heartbeat=self.lease_seconds
        )
        for job in stalled:
            try:
                await app.job_manager.retry_job(job)
            except Exception as exc:  # noqa: BLE001 - another worker re-ran it first.
                logger.debug("stalled job already handled", extra={"jobId": job.id, "e": str(exc)})
            else:
                logger.warning(
                    "re-running a job whose worker stopped heartbeating",
                    extra={"jobId": job.id, "taskName": job.task_name},
                )

    def _wrap(self, definition: TaskDefinition[Any]) -> Any:
        queue = self

        async def run_attempt(context: JobContext, **payload: Any) -> None:
            job = context.job
            job_id = JobId(int(job.id or 0))
            attempt = job.attempts + 1
            queue._attempts_run += 1
            policy = definition.retry
            if attempt > policy.max_attempts:
                error_text = (
                    "WorkerLost: the worker running the last attempt stopped before it finished "
                    "(its heartbeat stopped)"
                )
                await asyncio.to_thread(
                    queue._record, definition, job_id, error_text, attempt, True
                )
                raise _AttemptFailed(error_text, None)
            task_context = TaskContext(
                job_id=job_id,
                task_name=definition.name,
                attempt=attempt,
                effect_key=f"job:{queue.backend_name}:{job_id}",
                now=queue._clock.now(),
            )
            try:
                model = definition.payload_model.model_validate(payload)
                try:
                    await asyncio.wait_for(
                        asyncio.to_thread(definition.handler, task_context, model),
                        definition.timeout_seconds,
                    )
                except TimeoutError:
                    raise TaskTimedOut(
                        f"task {definition.name} ran longer than its timeout of "
                        f"{definition.timeout_seconds:g} s and was abandoned; make it faster or "
                        "raise timeout_seconds in its TaskDefinition"
                    ) from None
            except Exception as exc:  # A task's failure of any kind is recorded.
                is_final = policy.is_final(attempt)
                retry_at = None
                if not is_final:
                    delay = policy.delay_seconds(attempt, unit_random(queue._random))
                    retry_at = queue._clock.now() + timedelta(seconds=delay)
                error_text = describe_error(exc)
                await asyncio.to_thread(
                    queue._record, definition, job_id, error_text, attempt, is_final
                )
                raise _AttemptFailed(error_text, retry_at) from exc

        run_attempt.__name__ = definition.name.replace(".", "_").replace("-", "_")
        return run_attempt

    def _record(
        self,
        definition: TaskDefinition[Any],
        job_id: JobId,
        error_text: str,
        attempt: int,
        is_dead: bool,
    ) -> None:
        with self._database.session() as session:
            record_failure(
                session,
                backend=self.backend_name,
                job_id=job_id,
                task_name=definition.name,
                error_text=error_text,
                is_dead=is_dead,
                attempt=attempt,
                now=self._clock.now(),
                region=self._region,
                random=self._random,
            )


def _record(row: Row[Any]) -> JobRecord:
    state = _STATE_BY_STATUS[str(row.status)]
    # Procrastinate counts finished attempts; lakevault counts attempts started.
    started = 1 if state is JobState.RUNNING else 0
    return JobRecord(
        job_id=JobId(row.id),
        task_name=row.task_name,
        state=state,
        payload=row.args,
        priority=row.priority,
        run_at=row.scheduled_at or row.created_at,
        attempts=row.attempts + started,
        queueing_lock=row.queueing_lock,
        created_at=row.created_at.astimezone(UTC) if row.created_at else None,
        last_error=row.last_error,
    )
