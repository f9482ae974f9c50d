"""``lakevault jobs ...`` (operate the queue) and ``lakevault worker`` (run jobs).

Both use the configured backend (``job_backend``), so the same commands operate the embedded
queue and Procrastinate. ``lakevault worker`` is how workers run on other machines: point it at
the same PostgreSQL database (``LAKEVAULT_DATABASE_URL``) with ``job_backend = "procrastinate"``
— or the embedded backend on PostgreSQL — and start as many as needed.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import orjson
import typer
from rich.table import Table

from lakevault.cli._common import command, console, error_console, read_settings
from lakevault.cli._stop_signals import StopOnSignals
from lakevault.core import configure_logging
from lakevault.core.errors import InvalidParameterValue
from lakevault.jobs import JobId, JobRecord, JobState
from lakevault.runtime import Platform

app = typer.Typer(help="The background job queue: list, inspect, retry, cancel, purge.")

_AGE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd])")
_SECONDS_PER_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_States = Annotated[
    list[JobState] | None,
    typer.Option("--state", help="Only jobs in this state (repeatable)."),
]
_Task = Annotated[str | None, typer.Option("--task", help="Only jobs of this task.")]
_AsJSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def parse_age(text: str) -> float:
    """Seconds in ``30s``, ``15m``, ``2h`` or ``7d``; raise ``InvalidParameterValue``."""
    match = _AGE.fullmatch(text.strip())
    if match is None:
        raise InvalidParameterValue(
            f"--older-than must be a number and a unit s, m, h or d, for example 2h or 7d; "
            f"got {text!r}"
        )
    return float(match.group(1)) * _SECONDS_PER_UNIT[match.group(2)]


def worker_argv() -> list[str]:
    """How ``lakevault serve`` starts a worker process: this interpreter, ``lakevault worker``.

    The worker is told the server's pid and stops when its parent is no longer that process, so
    that a server killed outright (SIGKILL, OOM) leaves no worker running on behind it.
    """
    return [sys.executable, "-m", "lakevault", "worker", "--parent-pid", str(os.getpid())]


def _stop_when_orphaned(parent_pid: int, stop: threading.Event) -> None:
    """Set ``stop`` once this process's parent is no longer ``parent_pid`` (it died)."""

    def watch() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent_pid:
                stop.set()

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


@contextmanager
def _platform() -> Iterator[Platform]:
    platform = Platform.build(read_settings())
    try:
        platform.check_ready()
        yield platform
    finally:
        platform.close()


def _as_json(job: JobRecord) -> dict[str, object]:
    return {
        "jobId": job.job_id,
        "taskName": job.task_name,
        "state": job.state.value,
        "payload": dict(job.payload),
        "priority": job.priority,
        "runAt": job.run_at.isoformat() if job.run_at else None,
        "attempts": job.attempts,
        "queueingLock": job.queueing_lock,
        "createdAt": job.created_at.isoformat() if job.created_at else None,
        "lastError": job.last_error,
    }


def _print_json(value: object) -> None:
    console.print_json(orjson.dumps(value).decode("utf-8"))


@app.command("list")
@command
def list_command(
    states: _States = None,
    task: _Task = None,
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="Only jobs enqueued before: 30m, 2h, 7d.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many.")] = 100,
    as_json: _AsJSON = False,
) -> None:
    """List jobs, newest first."""
    age = parse_age(older_than) if older_than is not None else None
    with _platform() as platform:
        jobs = platform.jobs.list_jobs(
            states=states or (), task_name=task, older_than_seconds=age, limit=limit
        )
    if as_json:
        _print_json([_as_json(job) for job in jobs])
        return
    table = Table("id", "task", "state", "attempts", "run at", "last error")
    for job in jobs:
        table.add_row(
            str(job.job_id),
            job.task_name,
            job.state.value,
            str(job.attempts),
            job.run_at.isoformat(timespec="seconds") if job.run_at else "",
            (job.last_error or "")[:80],
        )
    console.print(table)


@app.command("show")
@command
def show_command(job_id: int, as_json: _AsJSON = False) -> None:
    """Show one job, with its payload and last error."""
    with _platform() as platform:
        job = platform.jobs.get(JobId(job_id))
    if as_json:
        _print_json(_as_json(job))
        return
    for name, value in _as_json(job).items():
        console.print(f"{name:>13}  {value}")


@app.command("retry")
@command
def retry_command(job_id: int) -> None:
    """Run a waiting job now, or give a dead job one more attempt."""
    with _platform() as platform:
        job = platform.jobs.retry(JobId(job_id))
    console.print(f"job {job.job_id} ({job.task_name}) is {job.state.value} and due now")


@app.command("cancel")
@command
def cancel_command(job_id: int) -> None:
    """Cancel a waiting job."""
    with _platform() as platform:
        job = platform.jobs.cancel(JobId(job_id))
    console.print(f"job {job.job_id} ({job.task_name}) is {job.state.value}")


@app.command("purge")
@command
def purge_command(
    states: _States = None,
    task: _Task = None,
    older_than: Annotated[
        str, typer.Option("--older-than", help="Only jobs finished before: 30m, 2h, 7d.")
    ] = "7d",
) -> None:
    """Delete finished jobs (done, dead, cancelled) that finished before --older-than."""
    age = parse_age(older_than)
    with _platform() as platform:
        removed = platform.jobs.purge(
            states=states or (JobState.DONE, JobState.DEAD, JobState.CANCELLED),
            task_name=task,
            older_than_seconds=age,
        )
    console.print(f"purged {removed} job{'s' if removed != 1 else ''}")


@app.command("stats")
@command
def stats_command(as_json: _AsJSON = False) -> None:
    """Counts per state, the oldest due job's wait, failures and dead jobs per task."""
    with _platform() as platform:
        stats = platform.jobs.stats()
    document = {
        "countsByState": {state.value: count for state, count in stats.counts_by_state.items()},
        "oldestWaitingAgeSeconds": stats.oldest_waiting_age_seconds,
        "failuresByTask": dict(stats.failures_by_task),
        "deadByTask": dict(stats.dead_by_task),
    }
    if as_json:
        _print_json(document)
        return
    table = Table("state", "jobs", title="jobs by state")
    for state, count in stats.counts_by_state.items():
        table.add_row(state.value, str(count))
    console.print(table)
    age = stats.oldest_waiting_age_seconds
    console.print(f"oldest due job has waited: {'-' if age is None else f'{age:.1f} s'}")
    failures = Table("task", "failed attempts", "dead jobs", title="failures by task")
    for name, count in sorted(stats.failures_by_task.items()):
        failures.add_row(name, str(count), str(stats.dead_by_task.get(name, 0)))
    console.print(failures)


@command
def worker(
    name: Annotated[
        str | None, typer.Option(help="Worker name in logs [default: host name and pid].")
    ] = None,
    parent_pid: Annotated[
        int | None,
        typer.Option(hidden=True, help="Stop when the parent process is no longer this one."),
    ] = None,
) -> None:
    """Run background jobs until stopped (SIGTERM or Ctrl-C finish the current attempt first)."""
    settings = read_settings()
    configure_logging(level=settings.log_level.value, log_format=settings.log_format)
    # SIGTERM / Ctrl-C finish the running attempt first; never an Event.set() in a signal
    # handler, which could wait forever on a lock the interrupted main thread holds.
    stop = StopOnSignals()
    if parent_pid is not None:
        _stop_when_orphaned(parent_pid, stop.event)
    worker_name = name or f"{socket.gethostname()}-{os.getpid()}"
    with _platform() as platform:
        error_console.print(
            f"lakevault worker {worker_name} running {settings.job_backend.value} jobs from "
            f"{platform.database.display_url}"
        )
        attempts = platform.jobs.run_worker(name=worker_name, stop=stop.event)
    error_console.print(f"lakevault worker {worker_name} stopped after {attempts} attempts")
