"""Tasks the contract tests run, in the test process and in worker processes alike.

Their handlers write to the table ``test_runs`` (created by the fixtures) so that a test can
count what ran where: ``start`` when an attempt begins, ``effect`` for an effect guarded by
``apply_once``, ``run`` for an unguarded execution.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from lakevault.db import Database
from lakevault.jobs import PeriodicTask, RetryPolicy, TaskContext, TaskDefinition, TaskRegistry

TEST_RUNS_SQLITE = (
    "CREATE TABLE test_runs (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "
    "key TEXT NOT NULL, job_id BIGINT NOT NULL, pid INTEGER NOT NULL, at TEXT NOT NULL)"
)
TEST_RUNS_POSTGRESQL = (
    "CREATE TABLE test_runs (seq BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, "
    "job_id BIGINT NOT NULL, pid INTEGER NOT NULL, at TEXT NOT NULL)"
)


class Record(BaseModel):
    key: str = Field(min_length=1)
    sleep_seconds: float = 0.0
    once: bool = False


class Fail(BaseModel):
    message: str


class Slow(BaseModel):
    sleep_seconds: float


class Tick(BaseModel):
    pass


def _write(database: Database, kind: str, key: str, context: TaskContext) -> None:
    with database.session() as session:
        _insert(session, kind, key, context)


def _insert(session: Session, kind: str, key: str, context: TaskContext) -> None:
    session.execute(
        text(
            "INSERT INTO test_runs (kind, key, job_id, pid, at) "
            "VALUES (:kind, :key, :job, :pid, :at)"
        ),
        {
            "kind": kind,
            "key": key,
            "job": context.job_id,
            "pid": os.getpid(),
            "at": datetime.now(UTC).isoformat(),
        },
    )


def build_registry(database: Database, *, periodic: bool = False) -> TaskRegistry:
    """The test tasks, closing over ``database`` (explicit, like the platform's own list)."""

    def record(context: TaskContext, payload: Record) -> None:
        _write(database, "start", payload.key, context)
        if payload.once:
            with database.session() as session:
                if context.apply_once(session):
                    _insert(session, "effect", payload.key, context)
        else:
            _write(database, "run", payload.key, context)
        time.sleep(payload.sleep_seconds)

    def fail(context: TaskContext, payload: Fail) -> None:
        _write(database, "start", "fail", context)
        raise RuntimeError(payload.message)

    def slow(context: TaskContext, payload: Slow) -> None:
        time.sleep(payload.sleep_seconds)
        _write(database, "run", "slow", context)

    def tick(context: TaskContext, payload: Tick) -> None:
        _write(database, "run", "tick", context)

    return TaskRegistry(
        [
            TaskDefinition(name="test.record", payload_model=Record, handler=record),
            TaskDefinition(
                name="test.fail",
                payload_model=Fail,
                handler=fail,
                retry=RetryPolicy(max_attempts=3, base_delay_seconds=10.0, jitter_ratio=0.0),
            ),
            TaskDefinition(
                name="test.slow",
                payload_model=Slow,
                handler=slow,
                timeout_seconds=0.5,
                retry=RetryPolicy(max_attempts=1),
            ),
            TaskDefinition(name="test.tick", payload_model=Tick, handler=tick),
        ],
        periodic=[
            PeriodicTask(name="tick", task_name="test.tick", cron="* * * * * *", payload=Tick())
        ]
        if periodic
        else [],
    )
