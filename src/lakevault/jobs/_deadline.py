"""Per-attempt time limits for handlers that run in a worker process's main thread.

``SIGALRM`` interrupts the handler wherever it is — in Python code or in a blocking system
call — and raises :class:`TaskTimedOut` there, so the attempt fails like any other error and the
worker goes on. Outside the main thread (Python delivers signals only there) a limit cannot be
imposed this way; the Procrastinate backend, whose handlers run in threads, uses
``asyncio.wait_for`` instead (docs/jobs.md, "Timeouts").
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from lakevault.jobs._errors import TaskTimedOut


def can_interrupt() -> bool:
    """Whether :func:`deadline` can enforce a limit in the calling thread."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def deadline(seconds: float, *, task_name: str) -> Iterator[None]:
    """Raise ``TaskTimedOut`` inside the block once ``seconds`` have passed.

    Does nothing where :func:`can_interrupt` is false.
    """
    if not can_interrupt():
        yield
        return

    def _expired(_signal: int, _frame: FrameType | None) -> None:
        raise TaskTimedOut(
            f"task {task_name} ran longer than its timeout of {seconds:g} s and was stopped; "
            "make it faster or raise timeout_seconds in its TaskDefinition"
        )

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
