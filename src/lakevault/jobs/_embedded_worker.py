"""The embedded backend's worker loop: claim, run under a deadline and a heartbeat, finish.

One worker runs one attempt at a time, in the calling thread (a worker process's main thread,
so that :func:`deadline` can interrupt a handler that overruns). A heartbeat thread renews the
lease every third of its length while the handler runs; if the process dies, renewals stop, the
lease expires, and another worker runs the job again.

When no job is due the worker polls with a cheap read (no write lock) every
``poll_interval_seconds``: pickup latency when idle is about half that interval plus a claim.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from lakevault.core import Clock, RandomSource
from lakevault.jobs._deadline import deadline
from lakevault.jobs._embedded import ClaimedJob, EmbeddedQueue
from lakevault.jobs._errors import UnknownTask
from lakevault.jobs._failures import describe_error
from lakevault.jobs._retry import unit_random
from lakevault.jobs._task import TaskContext

logger = logging.getLogger("lakevault.jobs")

#: How often a worker checks the periodic schedules.
PERIODIC_CHECK_SECONDS = 1.0


class EmbeddedWorker:
    """Runs jobs of an :class:`EmbeddedQueue` until stopped."""

    def __init__(
        self, *, queue: EmbeddedQueue, name: str, clock: Clock, random: RandomSource
    ) -> None:
        self._queue = queue
        self._name = name
        self._clock = clock
        self._random = random

    def run(self, *, stop: threading.Event | None = None, until_idle: bool = False) -> int:
        """Run attempts until ``stop`` is set, or until none is due with ``until_idle``."""
        stop = stop if stop is not None else threading.Event()
        attempts = 0
        next_periodic_check = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_periodic_check:
                self._queue.enqueue_due_periods()
                next_periodic_check = time.monotonic() + PERIODIC_CHECK_SECONDS
            job = self._queue.claim()
            if job is None:
                if until_idle:
                    break
                while not stop.is_set() and not self._queue.has_due_job():
                    if stop.wait(self._queue.poll_interval_seconds):
                        break
                    if time.monotonic() >= next_periodic_check:
                        break
                continue
            self.run_attempt(job)
            attempts += 1
        return attempts

    def run_attempt(self, job: ClaimedJob) -> None:
        """Run one claimed attempt and record its outcome (never raises for a task's error)."""
        if job.attempt > job.max_attempts:
            # The previous attempt's worker died holding the lease, and it was the last.
            self._queue.fail(
                job,
                error_text="WorkerLost: the worker running the last attempt stopped before it "
                "finished (its lease expired)",
                retry_at=None,
            )
            return
        try:
            definition = self._queue.registry.get(job.task_name)
        except UnknownTask as exc:
            self._queue.fail(job, error_text=describe_error(exc), retry_at=None)
            return
        context = TaskContext(
            job_id=job.job_id,
            task_name=job.task_name,
            attempt=job.attempt,
            effect_key=f"job:{self._queue.backend_name}:{job.job_id}",
            now=self._clock.now(),
        )
        heartbeat_stop = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(job, heartbeat_stop), daemon=True, name="lease"
        )
        heartbeat.start()
        try:
            payload = definition.payload_model.model_validate(job.payload)
            with deadline(definition.timeout_seconds, task_name=job.task_name):
                definition.handler(context, payload)
        except Exception as exc:  # noqa: BLE001 - a task's failure of any kind is recorded.
            heartbeat_stop.set()
            heartbeat.join()
            self._record_failure(job, exc)
            return
        heartbeat_stop.set()
        heartbeat.join()
        if not self._queue.complete(job):
            logger.warning(
                "job finished after its lease was lost; another worker may run it again",
                extra={"jobId": job.job_id, "taskName": job.task_name, "worker": self._name},
            )

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
        self._queue.fail(job, error_text=describe_error(error), retry_at=retry_at)

    def _heartbeat(self, job: ClaimedJob, stop: threading.Event) -> None:
        interval = self._queue.lease_seconds / 3.0
        while not stop.wait(interval):
            if not self._queue.renew_lease(job):
                return
