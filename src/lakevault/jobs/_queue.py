"""The contract every job backend keeps (docs/jobs.md).

* ``enqueue`` runs in the caller's session, so the job exists if and only if the caller's
  transaction commits; it validates the payload first and refuses a bad one.
* Delivery is at least once: an attempt whose worker dies is run again after its lease expires.
  Effects are made once with :meth:`TaskContext.apply_once` in the effect's transaction.
* A failing attempt is retried with exponential backoff and jitter; after the last one the job
  is ``DEAD`` with its last error, and an audit event records it.
* At most one job per queueing lock is waiting or running; an idempotency key enqueues at most
  one job.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy.orm import Session

from lakevault.jobs._registry import TaskRegistry
from lakevault.jobs._types import JobId, JobRecord, JobState, QueueStats

#: The states ``purge`` removes unless told otherwise.
FINAL_STATES = (JobState.DONE, JobState.DEAD, JobState.CANCELLED)


class JobQueue(Protocol):
    """A job backend: enqueue, operate, observe, and run workers."""

    @property
    def backend_name(self) -> str: ...

    @property
    def registry(self) -> TaskRegistry: ...

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
        """Add a job in ``session``'s transaction and return its id.

        Raises ``UnknownTask``, ``InvalidJobPayload`` (naming the field) or
        ``QueueingLockHeld``; a refused enqueue leaves the caller's transaction usable. With an
        ``idempotency_key`` already used, returns the job it enqueued instead.
        """
        ...

    def get(self, job_id: JobId) -> JobRecord:
        """The job; raise ``NoSuchJob``."""
        ...

    def list_jobs(
        self,
        *,
        states: Collection[JobState] = (),
        task_name: str | None = None,
        older_than_seconds: float | None = None,
        limit: int = 100,
    ) -> list[JobRecord]:
        """Jobs, newest first, filtered by state, task and age (since enqueue)."""
        ...

    def cancel(self, job_id: JobId) -> JobRecord:
        """Cancel a waiting job; raise ``InvalidJobState`` for any other state."""
        ...

    def retry(self, job_id: JobId) -> JobRecord:
        """Run a waiting job now, or give a dead one one more attempt now."""
        ...

    def purge(
        self,
        *,
        states: Collection[JobState] = FINAL_STATES,
        task_name: str | None = None,
        older_than_seconds: float = 7 * 86400.0,
    ) -> int:
        """Delete final jobs older than the limit (and old idempotency keys and effects)."""
        ...

    def stats(self) -> QueueStats:
        """Counts per state, the oldest due job's wait, failures and dead jobs per task."""
        ...

    def run_worker(
        self, *, name: str, stop: threading.Event | None = None, until_idle: bool = False
    ) -> int:
        """Run jobs until ``stop`` is set (or, with ``until_idle``, until none is due).

        Also enqueues the periodic tasks that are due. Returns the number of attempts run.
        """
        ...
