"""Choosing the backend from configuration alone."""

from __future__ import annotations

from lakevault.core import Clock, RandomSource
from lakevault.core.errors import ConfigurationError
from lakevault.db import Database
from lakevault.jobs._embedded import EmbeddedQueue
from lakevault.jobs._procrastinate import ProcrastinateQueue
from lakevault.jobs._queue import JobQueue
from lakevault.jobs._registry import TaskRegistry

BACKENDS = ("embedded", "procrastinate")


def open_queue(
    backend: str,
    *,
    database: Database,
    registry: TaskRegistry,
    clock: Clock,
    random: RandomSource,
    region: str,
    lease_seconds: float = 30.0,
) -> JobQueue:
    """The queue of ``backend`` (the ``job_backend`` setting) on ``database``.

    Raises ``ConfigurationError`` for an unknown backend or Procrastinate on SQLite.
    """
    if backend == "embedded":
        return EmbeddedQueue(
            database=database,
            registry=registry,
            clock=clock,
            random=random,
            region=region,
            lease_seconds=lease_seconds,
        )
    if backend == "procrastinate":
        return ProcrastinateQueue(
            database=database,
            registry=registry,
            clock=clock,
            random=random,
            region=region,
            lease_seconds=lease_seconds,
        )
    raise ConfigurationError(
        f"job_backend {backend!r} is not known; choose one of: {', '.join(BACKENDS)}"
    )
