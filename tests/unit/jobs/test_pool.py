"""Worker processes beside the API (lakevault/jobs/_pool.py): restart, graceful stop, kill."""

from __future__ import annotations

import os
import signal
import sys
import time

from lakevault.jobs import WorkerPool

#: A stand-in worker: exits 0 on SIGTERM, like 'lakevault worker'.
POLITE = [
    sys.executable,
    "-c",
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "time.sleep(60)",
]
#: A worker that ignores SIGTERM (a task stuck in a system call).
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)",
]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_worker_that_dies_is_replaced_and_stop_ends_them_all() -> None:
    pool = WorkerPool(POLITE, count=2, grace_seconds=10)
    pool.start()
    try:
        first = pool.pids
        assert len(first) == 2
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pool.pids[0] == first[0] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pool.pids[0] != first[0]
        assert pool.pids[1] == first[1]
    finally:
        started = time.monotonic()
        pool.stop()
    assert time.monotonic() - started < 5
    assert not any(alive(pid) for pid in pool.pids)


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period() -> None:
    pool = WorkerPool(STUBBORN, count=1, grace_seconds=1.0)
    pool.start()
    time.sleep(0.5)  # let it install its handler
    started = time.monotonic()
    pool.stop()
    assert 0.9 <= time.monotonic() - started < 5
    assert not alive(pool.pids[0])


def test_no_workers_when_the_count_is_zero() -> None:
    pool = WorkerPool(POLITE, count=0)
    pool.start()
    assert pool.pids == []
    pool.stop()
