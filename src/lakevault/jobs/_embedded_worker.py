"""The embedded backend's worker loop: claim, run under a deadline and a heartbeat, finish.

One worker runs one attempt at a time, in the calling thread (a worker process's main thread,
so that :func:`deadline` can interrupt a handler that overruns). A heartbeat thread renews the
lease every third of its length while the handler runs; if the process dies, renewals stop, the
lease expires, and another worker runs the job again.

On a deep queue of short tasks a worker claims jobs in batches (doubling up to ``MAX_BATCH``)
and marks the finished ones done in the transaction of its next claim: SQLite allows one writer
at a time, so writes per job decide throughput. Jobs of a batch that would wait more than
``BATCH_HOLD_SECONDS`` behind a slow one are released for other workers.

When no job is due the worker polls with a cheap read (no write lock) every
``poll_interval_seconds``: pickup latency when idle is about half that interval plus a claim.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from lakevault.core import Clock, RandomSource
from lakevault.core.errors import ServiceUnavailable
from lakevault.jobs._deadline import deadline
from lakevault.jobs._embedded import ClaimedJob, EmbeddedQueue
from lakevault.jobs._errors import UnknownTask
from lakevault.jobs._failures import describe_error
from lakevault.jobs._retry import unit_random
from lakevault.jobs._task import TaskContext

logger = logging.getLogger("lakevault.jobs")

#: How often a worker checks the periodic schedules.
PERIODIC_CHECK_SECONDS = 1.0
#: How long a worker waits before trying an unavailable database again.
UNAVAILABLE_RETRY_SECONDS = 1.0
#: The most jobs one claim takes, when the queue is deep and its tasks are short.
MAX_BATCH = 32
#: How long claimed jobs may wait behind the ones before them in their batch; after that the
#: rest are released for other workers, so a slow task never holds others back for long.
BATCH_HOLD_SECONDS = 0.05


class EmbeddedWorker:
    """Runs jobs of an :class:`EmbeddedQueue` until stopped."""

    def __init__(
        self, *, queue: EmbeddedQueue, name: str, clock: Clock, random: RandomSource
    ) -> None:
        self._queue = queue
        self._name = name
        self._clock = clock
        self._random = random
        self._lease_token: str | None = None
        self._lock = threading.Lock()

    def run(self, *, stop: threading.Event | None = None, until_idle: bool = False) -> int:
        """Run attempts until ``stop`` is set, or until none is due with ``until_idle``."""
        stop = stop if stop is not None else threading.Event()
        heartbeat_stop = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(heartbeat_stop,), daemon=True, name="lease"
        )
        heartbeat.start()
        try:
            return self._loop(stop, until_idle)
        finally:
            heartbeat_stop.set()
            heartbeat.join()

    def _loop(self, stop: threading.Event, until_idle: bool) -> int:
        attempts = 0
        succeeded: list[ClaimedJob] = []
        unstarted: list[ClaimedJob] = []
        limit = 1
        next_periodic_check = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_periodic_check:
                    next_periodic_check = time.monotonic() + PERIODIC_CHECK_SECONDS
                    self._queue.enqueue_due_periods()
                batch = self._queue.claim(limit=limit, finished=succeeded, released=unstarted)
            except ServiceUnavailable as exc:
                # The database is down or locked for long: keep what is to be recorded, wait,
                # and try again; the worker outlives the outage.
                logger.warning(
                    "the job database is unavailable; retrying",
                    extra={"worker": self._name, "error": exc.message},
                )
                stop.wait(UNAVAILABLE_RETRY_SECONDS)
                continue
            succeeded, unstarted = [], []
            if not batch:
                limit = 1
                if until_idle:
                    break
                self._idle(stop, next_periodic_check)
                continue
            with self._lock:
                self._lease_token = batch[0].lease_token
            claimed_at = time.monotonic()
            for position, job in enumerate(batch):
                held_too_long = time.monotonic() - claimed_at > BATCH_HOLD_SECONDS
                if position and (held_too_long or stop.is_set()):
                    unstarted = batch[position:]
                    break
                attempts += 1
                if self.run_attempt(job):
                    succeeded.append(job)
            with self._lock:
                self._lease_token = None
            # A full batch that ran quickly means a deep queue of short tasks: claim more at a
            # time. Anything else (a slow task, a short queue) goes back to one at a time.
            is_quick = time.monotonic() - claimed_at <= BATCH_HOLD_SECONDS
            limit = min(MAX_BATCH, limit * 2) if len(batch) == limit and is_quick else 1
        if succeeded or unstarted:
            self._queue.claim(limit=0, finished=succeeded, released=unstarted)
        return attempts

    def _idle(self, stop: threading.Event, next_periodic_check: float) -> None:
        """Wait for a due job with cheap reads, waking for the periodic check and for stop."""
        while not stop.wait(self._queue.poll_interval_seconds):
            if time.monotonic() >= next_periodic_check:
                return
            try:
                if self._queue.has_due_job():
                    return
            except ServiceUnavailable:
                return  # The claim reports it, and waits.

    def run_attempt(self, job: ClaimedJob) -> bool:
        """Run one claimed attempt; record a failure, and return whether it succeeded.

        A success is not recorded here: the caller marks the job done, together with its next
        claim. Never raises for a task's error.
        """
        if job.attempt > job.max_attempts:
            # The previous attempt's worker died holding the lease, and it was the last.
            self._queue.fail(
                job,
                error_text="WorkerLost: the worker running the last attempt stopped before it "
                "finished (its lease expired)",
                retry_at=None,
            )
            return False
        try:
            definition = self._queue.registry.get(job.task_name)
        except UnknownTask as exc:
            self._queue.fail(job, error_text=describe_error(exc), retry_at=None)
            return False
        context = TaskContext(
            job_id=job.job_id,
            task_name=job.task_name,
            attempt=job.attempt,
            effect_key=f"job:{self._queue.backend_name}:{job.job_id}",
            now=self._clock.now(),
        )
        try:
            payload = definition.payload_model.model_validate(job.payload)
            with deadline(definition.timeout_seconds, task_name=job.task_name):
                definition.handler(context, payload)
        except Exception as exc:  # noqa: BLE001 - a task's failure of any kind is recorded.
            self._record_failure(job, exc)
            return False
        return True

    def _record_failure(self, job: ClaimedJob, error: Exception) -> None:
        policy = self._queue.registry.get(job.task_name).retry
        is_final = job.attempt >= job.max_attempts
        retry_at = None
        if not is_final:
            delay = policy.delay_seconds(job.attempt, unit_random(self._random))
            retry_at = self._clock.now() + timedelta(seconds=delay)
        logger.warning(
            "job attempt failed",
            extra={
                "jobId": job.job_id,
                "taskName": job.task_name,
                "attempt": job.attempt,
                "isDead": is_final,
                "error": describe_error(error),
            },
        )
        try:
            self._queue.fail(job, error_text=describe_error(error), retry_at=retry_at)
        except ServiceUnavailable as exc:
            # Unrecorded, the attempt's lease expires and the job runs again: nothing is lost.
            logger.warning(
                "could not record a failed attempt; the job will run again after its lease",
                extra={"jobId": job.job_id, "error": exc.message},
            )

    def _heartbeat(self, stop: threading.Event) -> None:
        """Renew the lease of the held jobs every third of the lease's length."""
        while not stop.wait(self._queue.lease_seconds / 3.0):
            with self._lock:
                token = self._lease_token
            if token is not None and self._queue.renew_lease(token) == 0:
                logger.warning(
                    "lost the lease of the jobs being run; another worker may run them again",
                    extra={"worker": self._name},
                )
