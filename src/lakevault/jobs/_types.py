"""The values the queue hands out: job ids, states, job records and queue statistics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NewType

JobId = NewType("JobId", int)


class JobState(StrEnum):
    """Where a job is in its life. ``DONE``, ``DEAD`` and ``CANCELLED`` are final.

    A job that failed and will be retried is ``WAITING`` again, with a later ``run_at``.
    """

    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobState.DONE, JobState.DEAD, JobState.CANCELLED)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRecord:
    """One job as the operations commands show it.

    ``attempts`` counts attempts started; ``last_error`` is the error of the latest failed
    attempt (kept after a later success, for the record).
    """

    job_id: JobId
    task_name: str
    state: JobState
    payload: Mapping[str, Any]
    priority: int
    run_at: datetime | None
    attempts: int
    queueing_lock: str | None
    created_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStats:
    """What the metrics endpoint and ``lakevault jobs stats`` report.

    ``failures_by_task`` counts failed attempts per task name (retried or not), and
    ``dead_by_task`` the jobs that ended dead.
    """

    counts_by_state: Mapping[JobState, int]
    oldest_waiting_age_seconds: float | None
    failures_by_task: Mapping[str, int]
    dead_by_task: Mapping[str, int]
