"""One contract suite, three backends: embedded on SQLite, embedded on PostgreSQL, Procrastinate.

``backend`` gives a fresh, migrated database with the ``test_runs`` table, and builds queues and
worker processes on it. PostgreSQL cases use the shared server fixtures: they skip outside CI
when no server is configured and fail in CI.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from lakevault.core import Clock, SystemClock, SystemRandom
from lakevault.db import Database, upgrade
from lakevault.jobs import JobQueue, open_queue
from tests.conftest import REPO_ROOT, create_postgres_database, drop_postgres_database
from tests.unit.jobs.tasks import TEST_RUNS_POSTGRESQL, TEST_RUNS_SQLITE, build_registry

BACKENDS = ["embedded-sqlite", "embedded-postgresql", "procrastinate-postgresql"]


@dataclass
class Backend:
    """A database with the job schema, and ways to build queues and workers on it."""

    name: str
    url: str
    database: Database
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def queue_backend(self) -> str:
        return self.name.split("-")[0]

    def queue(
        self, *, clock: Clock | None = None, lease_seconds: float = 30.0, periodic: bool = False
    ) -> JobQueue:
        return open_queue(
            self.queue_backend,
            database=self.database,
            registry=build_registry(self.database, periodic=periodic),
            clock=clock or SystemClock(),
            random=SystemRandom(),
            region="local",
            lease_seconds=lease_seconds,
        )

    def start_worker(
        self, *, lease_seconds: float = 30.0, periodic: bool = False
    ) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.unit.jobs.worker_main",
                self.queue_backend,
                self.url,
                str(lease_seconds),
                "periodic" if periodic else "-",
            ],
            cwd=REPO_ROOT,
        )
        self.processes.append(process)
        return process

    def runs(self, kind: str, key: str | None = None) -> list[tuple[str, int, int]]:
        """(key, job id, pid) of the ``test_runs`` rows of ``kind``, in the order written."""
        query = "SELECT key, job_id, pid FROM test_runs WHERE kind = :kind"
        if key is not None:
            query += " AND key = :key"
        with self.database.read_session() as session:
            rows = session.execute(text(query + " ORDER BY seq"), {"kind": kind, "key": key})
            return [(row[0], int(row[1]), int(row[2])) for row in rows]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name: str = request.param
    server = None
    if name.endswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'metadata.db'}"
        database = Database(url)
        upgrade(database)
        create_table = TEST_RUNS_SQLITE
    else:
        server = request.getfixturevalue("postgres_server_url")
        template = request.getfixturevalue("postgres_template")
        url = create_postgres_database(server, template=template)
        database = Database(url)
        create_table = TEST_RUNS_POSTGRESQL
    with database.session() as session:
        session.execute(text(create_table))
    harness = Backend(name=name, url=url, database=database)
    yield harness
    for process in harness.processes:
        if process.poll() is None:
            process.kill()
            process.wait()
    database.dispose()
    if server is not None:
        drop_postgres_database(server, url)


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")
