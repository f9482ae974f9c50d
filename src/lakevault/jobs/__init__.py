"""Background jobs: one queue contract, an embedded backend and Procrastinate on PostgreSQL.

Define tasks as :class:`TaskDefinition` values, pass the list to a :class:`TaskRegistry`, open
the configured backend with :func:`open_queue`, and enqueue in the transaction of the change that
causes the work. See docs/jobs.md for the guarantees (at-least-once delivery, effects applied
once with :meth:`TaskContext.apply_once`).
"""

from lakevault.jobs._cron import CronSchedule
from lakevault.jobs._embedded import EmbeddedQueue
from lakevault.jobs._errors import (
    InvalidJobPayload,
    InvalidJobState,
    NoSuchJob,
    QueueingLockHeld,
    TaskTimedOut,
    UnknownTask,
)
from lakevault.jobs._housekeeping import PURGE_TASK, PurgeFinishedJobs, housekeeping_tasks
from lakevault.jobs._pool import WorkerPool
from lakevault.jobs._procrastinate import ProcrastinateQueue
from lakevault.jobs._queue import FINAL_STATES, JobQueue
from lakevault.jobs._registry import TaskRegistry
from lakevault.jobs._retry import RetryPolicy
from lakevault.jobs._select import BACKENDS, open_queue
from lakevault.jobs._task import PeriodicTask, TaskContext, TaskDefinition
from lakevault.jobs._types import JobId, JobRecord, JobState, QueueStats

__all__ = [
    "BACKENDS",
    "FINAL_STATES",
    "PURGE_TASK",
    "CronSchedule",
    "EmbeddedQueue",
    "InvalidJobPayload",
    "InvalidJobState",
    "JobId",
    "JobQueue",
    "JobRecord",
    "JobState",
    "NoSuchJob",
    "PeriodicTask",
    "ProcrastinateQueue",
    "PurgeFinishedJobs",
    "QueueStats",
    "QueueingLockHeld",
    "RetryPolicy",
    "TaskContext",
    "TaskDefinition",
    "TaskRegistry",
    "TaskTimedOut",
    "UnknownTask",
    "WorkerPool",
    "housekeeping_tasks",
    "open_queue",
]
