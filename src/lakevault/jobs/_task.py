"""Task definitions: a name, a payload schema, a handler, and how to run and retry it.

Tasks are values, listed explicitly where the platform is composed and passed to the queue and
the workers; nothing registers itself into a global on import (STYLE §8). A payload is a
pydantic model, so its JSON schema is the model's (:meth:`TaskDefinition.payload_schema`) and a
payload travels as JSON, never pickled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from lakevault.core.errors import InvalidParameterValue
from lakevault.db import models
from lakevault.jobs._cron import CronSchedule
from lakevault.jobs._retry import RetryPolicy
from lakevault.jobs._sql import insert_for
from lakevault.jobs._types import JobId

PayloadT = TypeVar("PayloadT", bound=BaseModel)

_TASK_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,127}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskContext:
    """What a handler learns about the attempt it runs in.

    ``effect_key`` names the task's effect: its idempotency key when it was enqueued with one,
    else ``job:<id>``. Use :meth:`apply_once` in the transaction that applies the effect.
    """

    job_id: JobId
    task_name: str
    attempt: int
    effect_key: str
    now: datetime

    def apply_once(self, session: Session) -> bool:
        """Claim this job's effect inside ``session``'s transaction; False if already applied.

        Delivery is at least once: a task whose worker died after committing its effect runs
        again. Call this in the same transaction as the effect and skip the effect when it
        returns False; the claim commits, or rolls back, with the effect.
        """
        # On PostgreSQL a concurrent claim of the same key waits for the other transaction and
        # then inserts (it rolled back) or does nothing (it committed). RETURNING tells which:
        # psycopg reports no row count for INSERT ... ON CONFLICT.
        inserted = session.execute(
            insert_for(session, models.JobEffect)
            .values(key=self.effect_key, applied_at=self.now)
            .on_conflict_do_nothing()
            .returning(models.JobEffect.key)
        ).first()
        return inserted is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskDefinition(Generic[PayloadT]):
    """One kind of background work.

    ``handler(context, payload)`` does the work; it raises to fail the attempt. It must be
    idempotent or use :meth:`TaskContext.apply_once`, since delivery is at least once.
    ``timeout_seconds`` bounds one attempt; ``priority`` is the default priority (higher runs
    first).
    """

    name: str
    payload_model: type[PayloadT]
    handler: Callable[[TaskContext, PayloadT], None]
    timeout_seconds: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    priority: int = 0

    def __post_init__(self) -> None:
        if not _TASK_NAME.fullmatch(self.name):
            raise InvalidParameterValue(
                f"task name {self.name!r} must be 1-128 characters of a-z, 0-9, '.', '_' and "
                "'-', starting with a letter, for example 'kms.delete-key'"
            )
        if self.timeout_seconds <= 0:
            raise InvalidParameterValue(
                f"task {self.name}: timeout_seconds must be positive, got {self.timeout_seconds}"
            )

    def payload_schema(self) -> dict[str, Any]:
        """The payload's JSON schema (for documentation and external producers)."""
        return self.payload_model.model_json_schema()


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicTask:
    """Enqueue ``task_name`` with ``payload`` at every time ``cron`` fires, once per period.

    Every worker checks the schedules; the period's idempotency key
    (``periodic:<name>:<time>``) makes exactly one enqueue of each period succeed. A period
    missed by more than ``catch_up_seconds`` (all workers were down) is skipped, not replayed.
    """

    name: str
    task_name: str
    cron: str
    payload: BaseModel | None = None
    catch_up_seconds: float = 3600.0
    schedule: CronSchedule = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedule", CronSchedule.parse(self.cron))
        if not _TASK_NAME.fullmatch(self.name):
            raise InvalidParameterValue(
                f"periodic task name {self.name!r} must be 1-128 characters of a-z, 0-9, '.', "
                "'_' and '-', starting with a letter"
            )
