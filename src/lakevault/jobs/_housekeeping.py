"""The job system's own background work: purging finished jobs, as a periodic task.

It is a task like any other (so it runs once per period however many workers run), built by a
function rather than registered on import. The handler opens a registry-less view of the same
backend: purging needs the database, not the task list.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from lakevault.core import Clock, RandomSource
from lakevault.db import Database
from lakevault.jobs._registry import TaskRegistry
from lakevault.jobs._select import open_queue
from lakevault.jobs._task import PeriodicTask, TaskContext, TaskDefinition

PURGE_TASK = "lakevault.jobs.purge"


class PurgeFinishedJobs(BaseModel):
    """Payload of :data:`PURGE_TASK`: how old a finished job must be to be deleted."""

    older_than_days: float = Field(default=7.0, gt=0)


def housekeeping_tasks(
    *,
    backend: str,
    database: Database,
    clock: Clock,
    random: RandomSource,
    region: str,
    purge_cron: str = "17 3 * * *",
) -> tuple[list[TaskDefinition[PurgeFinishedJobs]], list[PeriodicTask]]:
    """The purge task and its daily schedule (03:17 UTC by default)."""
    janitor = open_queue(
        backend,
        database=database,
        registry=TaskRegistry([]),
        clock=clock,
        random=random,
        region=region,
    )

    def purge(context: TaskContext, payload: PurgeFinishedJobs) -> None:
        janitor.purge(older_than_seconds=payload.older_than_days * 86400.0)

    definition = TaskDefinition(
        name=PURGE_TASK, payload_model=PurgeFinishedJobs, handler=purge, timeout_seconds=600.0
    )
    schedule = PeriodicTask(
        name="purge-finished-jobs",
        task_name=PURGE_TASK,
        cron=purge_cron,
        payload=PurgeFinishedJobs(),
    )
    return [definition], [schedule]
