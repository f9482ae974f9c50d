"""The hand-off of a small upload from the event loop to a worker thread, and back.

``anyio.to_thread.run_sync`` costs the event loop 55-63 µs per call (in-process on uvloop, 8
concurrent callers; ``loop.run_in_executor`` 25-27 µs): a capacity limiter acquired on behalf
of the task, run-variable look-ups, a ``queue.Queue`` whose ``put`` takes a lock and notifies a
condition, a cancel scope. The object PUT is the hot path of small uploads and makes exactly
one hop each way (ADR 0220), so it uses this smaller pool (docs/decisions/0248):

* an idle worker sleeps on a lock of its own; handing it a call is one ``release`` (one futex
  wake), the most recently idle (warm) worker first;
* the result goes back with ``loop.call_soon_threadsafe`` (one wake of the loop if it sleeps);
* the call runs in a copy of the caller's context (``contextvars``: the request id of logs and
  errors), like anyio's;
* the caller waits for the call even when its task is cancelled (as anyio's default,
  ``abandon_on_cancel=False``): a cancelled request never leaves an upload running unobserved;
* at most ``max_threads`` threads (anyio's default limiter is 40); further calls queue in
  arrival order and the next free worker takes them; a worker idle for ``idle_seconds`` ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import anyio

T = TypeVar("T")

#: Threads one pool starts at most (anyio's default thread limiter has 40 tokens too).
MAX_THREADS = 40
#: A worker with nothing to do for this long ends (anyio's idle workers end after 10 s too).
IDLE_SECONDS = 10.0

_Job = tuple[
    Callable[[], Any], contextvars.Context, "asyncio.Future[Any]", asyncio.AbstractEventLoop
]


class _Worker:
    __slots__ = ("job", "wake")

    def __init__(self, job: _Job) -> None:
        self.job: _Job | None = job
        self.wake = threading.Lock()
        self.wake.acquire()  # held while idle; released once to hand over a job


class WorkerPool:
    """Runs blocking calls for the event loop; see the module docstring."""

    def __init__(self, *, max_threads: int = MAX_THREADS, idle_seconds: float = IDLE_SECONDS):
        if max_threads < 1:
            raise ValueError(f"max_threads must be at least 1, got {max_threads}")
        self._max_threads = max_threads
        self._idle_seconds = idle_seconds
        self._mutex = threading.Lock()
        self._idle: list[_Worker] = []
        self._backlog: deque[_Job] = deque()
        self._threads = 0
        os.register_at_fork(after_in_child=self._forget_threads)

    @property
    def threads(self) -> int:
        """Worker threads alive now (for tests)."""
        with self._mutex:
            return self._threads

    def _forget_threads(self) -> None:
        # A forked child has none of its parent's threads: start afresh.
        self._mutex = threading.Lock()
        self._idle = []
        self._backlog = deque()
        self._threads = 0

    async def run(self, func: Callable[[], T]) -> T:
        """Run ``func()`` in a worker thread; return its result or raise its exception."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        job: _Job = (func, contextvars.copy_context(), future, loop)
        start = False
        with self._mutex:
            if self._idle:
                worker = self._idle.pop()
                worker.job = job
                worker.wake.release()
            elif self._threads < self._max_threads:
                self._threads += 1
                start = True
            else:
                self._backlog.append(job)
        if start:
            threading.Thread(
                target=self._serve, args=(_Worker(job),), name="lakevault-upload", daemon=True
            ).start()
        with anyio.CancelScope(shield=True):  # wait for the call, as anyio's run_sync does
            result = await future
        return result

    def _serve(self, worker: _Worker) -> None:
        job = worker.job
        while job is not None:
            func, context, future, loop = job
            try:
                outcome: tuple[Callable[..., None], Any] = (_succeed, context.run(func))
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's task
                outcome = (_fail, exc)
            # Idle (or holding the next queued call) BEFORE the caller learns the outcome: a
            # caller that hands over its next call at once finds this warm worker, and no
            # second thread is started for a sequential client.
            with self._mutex:
                job = self._backlog.popleft() if self._backlog else None
                if job is None:
                    worker.job = None
                    self._idle.append(worker)
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(outcome[0], future, outcome[1])
            del func, context, future, loop, outcome  # nothing of a call outlives it
            if job is None:
                job = self._wait(worker)

    def _wait(self, worker: _Worker) -> _Job | None:
        """The call handed to this idle worker, or ``None`` once idle too long (it ends)."""
        if not worker.wake.acquire(timeout=self._idle_seconds):
            with self._mutex:
                if worker in self._idle:
                    self._idle.remove(worker)
                    self._threads -= 1
                    return None
            worker.wake.acquire()  # handed a call just as the wait ended: released already
        return worker.job


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


#: The process's pool for object uploads (one per process, shared by every app and event loop
#: in it: a call carries its own loop).
UPLOADS = WorkerPool()
