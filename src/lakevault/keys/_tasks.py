"""The key service's background work: automatic rotation and crypto-shredding, as jobs.

Both are hourly periodic tasks (docs/jobs.md). Each is idempotent: rotation moves a key's next
rotation date forward in the same transaction that adds the version, and destruction re-checks
the key's state under a row lock, so a task delivered twice (at-least-once) does its work once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from lakevault.jobs import PeriodicTask, RetryPolicy, TaskContext, TaskDefinition
from lakevault.keys._service import KeyService

ROTATE_TASK = "kms.rotate-due-keys"
DESTROY_TASK = "kms.destroy-due-keys"


class DueKeys(BaseModel):
    """Payload of both tasks (none: every due key is handled)."""


def key_tasks(
    service: Callable[[], KeyService],
) -> tuple[list[TaskDefinition[Any]], list[PeriodicTask]]:
    """The rotation and destruction tasks and their hourly schedules."""

    def rotate(context: TaskContext, payload: DueKeys) -> None:
        service().rotate_due_keys(now=context.now)

    def destroy(context: TaskContext, payload: DueKeys) -> None:
        service().destroy_due_keys(now=context.now)

    retry = RetryPolicy(max_attempts=5, base_delay_seconds=60.0)
    tasks: list[TaskDefinition[Any]] = [
        TaskDefinition(
            name=ROTATE_TASK,
            payload_model=DueKeys,
            handler=rotate,
            timeout_seconds=600.0,
            retry=retry,
        ),
        TaskDefinition(
            name=DESTROY_TASK,
            payload_model=DueKeys,
            handler=destroy,
            timeout_seconds=600.0,
            retry=retry,
        ),
    ]
    periodic = [
        PeriodicTask(
            name="kms-rotation",
            task_name=ROTATE_TASK,
            cron="17 * * * *",
            payload=DueKeys(),
            catch_up_seconds=3600.0,
        ),
        PeriodicTask(
            name="kms-deletion",
            task_name=DESTROY_TASK,
            cron="23 * * * *",
            payload=DueKeys(),
            catch_up_seconds=3600.0,
        ),
    ]
    return tasks, periodic
