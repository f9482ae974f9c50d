"""A worker process for the contract tests: ``python -m tests.unit.jobs.worker_main``.

Arguments: backend name, database URL, lease seconds, and whether the periodic schedule is on.
It stops gracefully on SIGTERM, like ``lakevault worker``.
"""

from __future__ import annotations

import signal
import sys
import threading

from lakevault.core import SystemClock, SystemRandom
from lakevault.db import Database
from lakevault.jobs import open_queue
from tests.unit.jobs.tasks import build_registry


def main(argv: list[str]) -> int:
    backend, url, lease, periodic = argv[0], argv[1], float(argv[2]), argv[3] == "periodic"
    database = Database(url)
    registry = build_registry(database, periodic=periodic)
    queue = open_queue(
        backend,
        database=database,
        registry=registry,
        clock=SystemClock(),
        random=SystemRandom(),
        region="local",
        lease_seconds=lease,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    queue.run_worker(name="test-worker", stop=stop)
    database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
