"""Worker processes started beside the API by ``lakevault serve``, and stopped with it.

Each worker is a separate process (``argv``, normally ``lakevault worker``) so that a task that
crashes or hangs its interpreter takes no API request with it, and so that per-task timeouts can
use signals in each worker's main thread. A worker that exits unexpectedly is started again.
Stopping sends SIGTERM — each worker finishes the attempt it is running — and after
``grace_seconds`` SIGKILLs what is left; jobs of a killed worker run again once their lease
expires, so nothing is lost.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Sequence

logger = logging.getLogger("lakevault.jobs")


class WorkerPool:
    """``count`` copies of the process ``argv``, restarted if they die, stopped on request."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        count: int,
        grace_seconds: float = 30.0,
        pass_fds: Sequence[int] = (),
        what: str = "job worker",
    ) -> None:
        self._argv = list(argv)
        self._count = count
        #: File descriptors the processes inherit (``serve --http-workers``: the listening
        #: socket); ``what`` names them in log lines.
        self._pass_fds = tuple(pass_fds)
        self._what = what
        self._grace_seconds = grace_seconds
        self._processes: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def start(self) -> None:
        """Start the workers and a thread that restarts any that exits."""
        self._processes = [self._spawn() for _ in range(self._count)]
        if self._count:
            self._watcher = threading.Thread(target=self._watch, daemon=True, name="workers")
            self._watcher.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self._argv, pass_fds=self._pass_fds)  # noqa: S603 - our argv.

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            for index, process in enumerate(self._processes):
                if process.poll() is not None and not self._stopping.is_set():
                    logger.warning(
                        f"a {self._what} exited; starting another",
                        extra={"pid": process.pid, "exitCode": process.returncode},
                    )
                    self._processes[index] = self._spawn()

    def stop(self) -> None:
        """SIGTERM every worker, wait up to ``grace_seconds``, then SIGKILL the rest."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + self._grace_seconds
        for process in self._processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning(
                    f"a {self._what} did not stop in time; killing it", extra={"pid": process.pid}
                )
                process.kill()
                process.wait()
