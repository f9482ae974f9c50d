"""Enqueueing periodic tasks: every worker checks, one enqueue per period wins.

Each worker calls :func:`enqueue_due_periods` every second or so. For each schedule it finds
the latest time the cron expression fired and enqueues the task with the idempotency key
``periodic:<name>:<time>``; the key's uniqueness lets exactly one worker's enqueue create the
job, however many workers and machines run. A period older than the schedule's
``catch_up_seconds`` is skipped: after an outage the task runs once, not once per missed period.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from lakevault.db import Database, models
from lakevault.jobs._errors import QueueingLockHeld
from lakevault.jobs._registry import TaskRegistry

#: ``JobQueue.enqueue``.
Enqueue = Callable[..., Any]


def period_key(schedule_name: str, fired_at: datetime) -> str:
    """The idempotency key of one period of one schedule."""
    return f"periodic:{schedule_name}:{fired_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def enqueue_due_periods(
    enqueue: Enqueue, database: Database, registry: TaskRegistry, now: datetime
) -> int:
    """Enqueue the current period of every schedule that has no job yet; return how many."""
    due: list[tuple[str, str]] = []
    for schedule in registry.periodic:
        fired_at = schedule.schedule.latest_at_or_before(now)
        if fired_at is None or (now - fired_at).total_seconds() > schedule.catch_up_seconds:
            continue
        due.append((schedule.name, period_key(schedule.name, fired_at)))
    if not due:
        return 0
    # Look first without the write lock: on most checks every period is already enqueued.
    with database.read_session() as session:
        taken = set(
            session.scalars(
                select(models.JobIdempotencyKey.key).where(
                    models.JobIdempotencyKey.key.in_([key for _, key in due])
                )
            )
        )
    schedules = {schedule.name: schedule for schedule in registry.periodic}
    created = 0
    for name, key in due:
        if key in taken:
            continue
        schedule = schedules[name]
        try:
            with database.session() as session:
                enqueue(session, schedule.task_name, schedule.payload, idempotency_key=key)
            created += 1
        except QueueingLockHeld:
            continue  # The previous period's job still holds the lock: skip this period.
    return created
