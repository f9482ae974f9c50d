"""Benchmark of the job queue: ``python -m bench jobs [--jobs N] [--samples N] [--postgres-url U]``.

Measured, each with 2 worker processes already running and idle:

* throughput, end to end: N no-op jobs enqueued (100 per transaction, in the caller's session
  as the platform does) until the last one is done, on the embedded backend on SQLite, and on
  Procrastinate through lakevault (the contract's wrapper around each task);
* pickup latency when idle: one job enqueued at a time, the time from its commit to the moment
  its handler starts (p50 and p90), on each backend;
* the anchor: plain Procrastinate alone on the same PostgreSQL server, in the same run (its own
  database, a no-op task, ``batch_defer`` of 100, 2 workers) — what lakevault's scale-out
  backend is compared with.

PostgreSQL comes from ``--postgres-url`` or ``LAKEVAULT_TEST_POSTGRES_URL``; without either the
benchmark starts a throwaway server with ``scripts/postgres.sh`` and stops it at the end.
Targets (issue 10): >= 500 jobs/s on SQLite, >= 250 jobs/s on Procrastinate, p50 pickup <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel
from sqlalchemy import create_engine, text

from lakevault.core import SystemClock, SystemRandom
from lakevault.db import Database, upgrade
from lakevault.jobs import JobQueue, JobState, TaskContext, TaskDefinition, TaskRegistry, open_queue

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
TARGETS = {"embedded-sqlite": 500.0, "procrastinate": 250.0}
PICKUP_TARGET_MS = 50.0
BATCH = 100


class Empty(BaseModel):
    pass


class Stamp(BaseModel):
    enqueued_at: float


def build_registry(database: Database) -> TaskRegistry:
    """A no-op task, and one that records when it started (for pickup latency)."""

    def noop(context: TaskContext, payload: Empty) -> None:
        return None

    def stamp(context: TaskContext, payload: Stamp) -> None:
        started = time.time()
        with database.session() as session:
            session.execute(
                text("INSERT INTO bench_pickups (enqueued_at, started_at) VALUES (:e, :s)"),
                {"e": payload.enqueued_at, "s": started},
            )

    return TaskRegistry(
        [
            TaskDefinition(name="bench.noop", payload_model=Empty, handler=noop),
            TaskDefinition(name="bench.stamp", payload_model=Stamp, handler=stamp),
        ]
    )


def open_bench_queue(backend: str, database: Database) -> JobQueue:
    return open_queue(
        backend,
        database=database,
        registry=build_registry(database),
        clock=SystemClock(),
        random=SystemRandom(),
        region="local",
    )


# --- worker processes -----------------------------------------------------------------------


def run_lakevault_worker(backend: str, url: str) -> int:
    database = Database(url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    open_bench_queue(backend, database).run_worker(name=f"bench-{os.getpid()}", stop=stop)
    return 0


def plain_procrastinate_app(url: str) -> object:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(url)))

    @app.task(name="noop")
    def noop() -> None:
        return None

    return app


def run_plain_worker(url: str) -> int:
    app = plain_procrastinate_app(url)
    app.run_worker(concurrency=1, install_signal_handlers=True)  # type: ignore[attr-defined]
    return 0


#: The worker processes of the measurement in progress; a wait fails fast if one dies.
_RUNNING: list[subprocess.Popen[bytes]] = []


@contextmanager
def workers(argv_tail: list[str]) -> Iterator[None]:
    processes = [
        subprocess.Popen([sys.executable, "-m", "bench", "jobs", *argv_tail], cwd=REPO_ROOT)
        for _ in range(WORKERS)
    ]
    _RUNNING[:] = processes
    try:
        time.sleep(2.0)  # let them connect and go idle
        yield
    finally:
        _RUNNING.clear()
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- measurements -------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not finish in time")
        if any(process.poll() is not None for process in _RUNNING):
            raise RuntimeError("a worker process exited; see its error above")
        time.sleep(0.01)


def measure_throughput(queue: JobQueue, database: Database, jobs: int) -> float:
    started = time.perf_counter()
    for _ in range(jobs // BATCH):
        with database.session() as session:
            for _ in range(BATCH):
                queue.enqueue(session, "bench.noop", Empty())
    wait_until(lambda: queue.stats().counts_by_state[JobState.DONE] >= jobs, timeout=600)
    return jobs / (time.perf_counter() - started)


def measure_pickup(queue: JobQueue, database: Database, samples: int) -> list[float]:
    for sample in range(samples):
        with database.session() as session:
            queue.enqueue(session, "bench.stamp", Stamp(enqueued_at=time.time()))
        wait_until(lambda n=sample + 1: count_pickups(database) >= n, timeout=30)
        time.sleep(0.2)  # idle again
    with database.read_session() as session:
        rows = session.execute(text("SELECT enqueued_at, started_at FROM bench_pickups")).all()
    return sorted((started - enqueued) * 1000.0 for enqueued, started in rows)


def count_pickups(database: Database) -> int:
    with database.read_session() as session:
        return int(session.execute(text("SELECT count(*) FROM bench_pickups")).scalar_one())


def measure_plain_procrastinate(url: str, jobs: int) -> float:
    app = plain_procrastinate_app(url)
    with app.open():  # type: ignore[attr-defined]
        app.schema_manager.apply_schema()  # type: ignore[attr-defined]
        task = app.tasks["noop"]  # type: ignore[attr-defined]
        engine = create_engine(url)
        with workers(["--plain-worker", url]):
            started = time.perf_counter()
            for _ in range(jobs // BATCH):
                task.batch_defer(*({} for _ in range(BATCH)))

            def done() -> bool:
                with engine.connect() as connection:
                    return bool(
                        connection.execute(
                            text("SELECT count(*) FROM procrastinate_jobs WHERE status='succeeded'")
                        ).scalar_one()
                        >= jobs
                    )

            wait_until(done, timeout=600)
            rate = jobs / (time.perf_counter() - started)
        engine.dispose()
    return rate


def run_backend(name: str, backend: str, url: str, jobs: int, samples: int) -> dict[str, float]:
    database = Database(url)
    upgrade(database)
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT" if database.is_sqlite else "BIGSERIAL PRIMARY KEY"
    with database.session() as session:
        session.execute(
            text(
                f"CREATE TABLE bench_pickups (id {serial}, enqueued_at DOUBLE PRECISION, "
                "started_at DOUBLE PRECISION)"
            )
        )
    queue = open_bench_queue(backend, database)
    with workers(["--worker", backend, url]):
        pickups = measure_pickup(queue, database, samples)
        rate = measure_throughput(queue, database, jobs)
    database.dispose()
    return {
        "rate": rate,
        "p50": statistics.median(pickups),
        "p90": pickups[int(len(pickups) * 0.9)],
    }


# --- PostgreSQL -----------------------------------------------------------------------------


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def new_database(server_url: str) -> str:
    name = "bench_" + secrets.token_hex(4)
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextmanager
def postgres_server(explicit: str | None) -> Iterator[str]:
    url = explicit or os.environ.get("LAKEVAULT_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    directory = tempfile.mkdtemp(prefix="lakevault-bench-")
    os.chmod(directory, 0o755)
    script = str(REPO_ROOT / "scripts" / "postgres.sh")
    subprocess.run(["bash", script, "start", f"{directory}/pg"], check=True)
    try:
        yield (Path(directory) / "pg" / "url").read_text(encoding="utf-8").strip()
    finally:
        subprocess.run(["bash", script, "stop", f"{directory}/pg"], check=False)


# --- report -------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench jobs", description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000, help="no-op jobs per throughput run")
    parser.add_argument("--samples", type=int, default=40, help="pickup latency samples")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--worker", nargs=2, metavar=("BACKEND", "URL"), help=argparse.SUPPRESS)
    parser.add_argument("--plain-worker", metavar="URL", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        return run_lakevault_worker(*options.worker)
    if options.plain_worker:
        return run_plain_worker(options.plain_worker)

    print(
        f"jobs benchmark: {options.jobs} no-op jobs, {WORKERS} worker processes, "
        f"{os.cpu_count()} cores"
    )
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        results["embedded-sqlite"] = run_backend(
            "embedded-sqlite",
            "embedded",
            f"sqlite:///{directory}/metadata.db",
            options.jobs,
            options.samples,
        )
    with postgres_server(options.postgres_url) as server:
        results["embedded-postgresql"] = run_backend(
            "embedded-postgresql", "embedded", new_database(server), options.jobs, options.samples
        )
        results["procrastinate"] = run_backend(
            "procrastinate", "procrastinate", new_database(server), options.jobs, options.samples
        )
        anchor = measure_plain_procrastinate(new_database(server), options.jobs)

    print(f"anchor: plain Procrastinate alone, same server: {anchor:8.0f} jobs/s")
    failed = False
    for name, figures in results.items():
        target = TARGETS.get(name)
        rate_ok = target is None or figures["rate"] >= target
        pickup_ok = figures["p50"] <= PICKUP_TARGET_MS
        failed |= not (rate_ok and pickup_ok)
        target_text = f">= {target:.0f}" if target is not None else "(no target)"
        print(
            f"{name:<20} {figures['rate']:8.0f} jobs/s {target_text:<12} "
            f"{'pass' if rate_ok else 'FAIL'}   pickup p50 {figures['p50']:6.1f} ms "
            f"p90 {figures['p90']:6.1f} ms (<= {PICKUP_TARGET_MS:.0f}) "
            f"{'pass' if pickup_ok else 'FAIL'}"
        )
    print(
        f"procrastinate through lakevault / plain procrastinate: "
        f"{results['procrastinate']['rate'] / anchor:.2f}x"
    )
    return 1 if failed else 0
