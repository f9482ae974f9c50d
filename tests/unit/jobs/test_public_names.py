"""``lakevault.jobs.__all__`` is the package's whole public surface; this pins it."""

from __future__ import annotations

import lakevault.jobs

EXPECTED = [
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


def test_public_names_are_pinned() -> None:
    assert lakevault.jobs.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(lakevault.jobs, name) is not None
