"""The bucket export jobs: every five minutes an export run, daily an expiry (ADR 0205)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from lakevault.jobs import PeriodicTask, RetryPolicy, TaskContext, TaskDefinition
from lakevault.trail._bucket_export import BucketExporter

EXPORT_BUCKET_TASK = "audit.bucket-export"
EXPIRE_BUCKET_TASK = "audit.bucket-expire"


class ExportToBuckets(BaseModel):
    """Payload of :data:`EXPORT_BUCKET_TASK` (none: every configured account)."""


class ExpireBuckets(BaseModel):
    """Payload of :data:`EXPIRE_BUCKET_TASK` (none: every configured account)."""


def bucket_export_tasks(
    exporter: Callable[[], BucketExporter],
) -> tuple[list[TaskDefinition[Any]], list[PeriodicTask]]:
    """The export and expiry tasks with their schedules. ``exporter`` is called per run (it
    reads the signing key then, so a worker without it fails clearly and is retried)."""

    def export(context: TaskContext, payload: ExportToBuckets) -> None:
        exporter().export_all()

    def expire(context: TaskContext, payload: ExpireBuckets) -> None:
        exporter().expire_all()

    tasks: list[TaskDefinition[Any]] = [
        TaskDefinition(
            name=EXPORT_BUCKET_TASK,
            payload_model=ExportToBuckets,
            handler=export,
            timeout_seconds=1800.0,
            retry=RetryPolicy(max_attempts=3, base_delay_seconds=30.0),
        ),
        TaskDefinition(
            name=EXPIRE_BUCKET_TASK,
            payload_model=ExpireBuckets,
            handler=expire,
            timeout_seconds=3600.0,
            retry=RetryPolicy(max_attempts=3, base_delay_seconds=300.0),
        ),
    ]
    schedules = [
        PeriodicTask(
            name="audit-bucket-export",
            task_name=EXPORT_BUCKET_TASK,
            cron="*/5 * * * *",
            payload=ExportToBuckets(),
            catch_up_seconds=300.0,
        ),
        PeriodicTask(
            name="audit-bucket-expire",
            task_name=EXPIRE_BUCKET_TASK,
            cron="41 3 * * *",
            payload=ExpireBuckets(),
            catch_up_seconds=86400.0,
        ),
    ]
    return tasks, schedules
