"""The alarm jobs: the scan every minute, and webhook deliveries (docs/audit.md, "Alarms")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from lakevault.core import Clock, RandomSource
from lakevault.db import Database
from lakevault.jobs import PeriodicTask, RetryPolicy, TaskContext, TaskDefinition
from lakevault.kms import PlatformRootKey
from lakevault.trail._alarms import AlarmScanner
from lakevault.trail._delivery import Enqueue, delivery_tasks
from lakevault.trail._detectors import Thresholds

SCAN_ALARMS_TASK = "audit.alarms.scan"


class ScanAlarms(BaseModel):
    """Payload of :data:`SCAN_ALARMS_TASK` (none: every log that grew is scanned)."""


def alarm_tasks(
    *,
    database: Database,
    thresholds: Thresholds,
    clock: Clock,
    random: RandomSource,
    region: str,
    enqueue: Enqueue,
    root_key: Callable[[], PlatformRootKey],
) -> tuple[list[TaskDefinition[Any]], list[PeriodicTask]]:
    """The scan task with its schedule (every minute) and the delivery task."""

    def scan(context: TaskContext, payload: ScanAlarms) -> None:
        AlarmScanner(
            database=database,
            thresholds=thresholds,
            clock=clock,
            random=random,
            region=region,
            enqueue=enqueue,
        ).scan()

    tasks: list[TaskDefinition[Any]] = [
        TaskDefinition(
            name=SCAN_ALARMS_TASK,
            payload_model=ScanAlarms,
            handler=scan,
            timeout_seconds=300.0,
            retry=RetryPolicy(max_attempts=3, base_delay_seconds=10.0),
        ),
        *delivery_tasks(database=database, root_key=root_key),
    ]
    schedules = [
        PeriodicTask(
            name="audit-alarms",
            task_name=SCAN_ALARMS_TASK,
            cron="* * * * *",
            payload=ScanAlarms(),
            catch_up_seconds=60.0,
        )
    ]
    return tasks, schedules
