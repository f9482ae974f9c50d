"""SIGTERM and SIGINT as a :class:`threading.Event`, without taking a lock in a signal handler.

A Python signal handler runs in the main thread, between two bytecodes of whatever that thread
was doing. ``lakevault worker``'s main thread spends its idle time in ``stop.wait(...)``, inside
the event's condition lock; a handler that called ``stop.set()`` there asked for the same
non-reentrant lock and waited for itself forever. The worker then ignored every further signal
and its parent-watch thread, stuck behind the same lock, never noticed the server was gone: a
SIGTERM at the wrong instant left an orphaned worker running (seen on this machine, 45 minutes
after its server died).

Here the Python-level handler does nothing. The interpreter's C handler writes the signal's
number to a pipe (``signal.set_wakeup_fd``, async-signal-safe), and a small thread reads the
pipe and sets the event from ordinary thread context, where taking the lock is safe.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

#: Signals that mean "finish the running attempt, then stop".
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _noted(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: nothing; the number already went down the wakeup pipe."""


class StopOnSignals:
    """Sets :attr:`event` when one of ``signals`` arrives; install from the main thread.

    Other signals with Python handlers (e.g. the job deadline's SIGALRM) also write their
    number to the pipe; the reader ignores them. :meth:`close` restores the previous handlers
    and wakeup descriptor and ends the reader.
    """

    def __init__(self, signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> None:
        self.event = threading.Event()
        self._numbers = frozenset(int(sig) for sig in signals)
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._previous_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        self._previous = {sig: signal.signal(sig, _noted) for sig in signals}
        self._reader = threading.Thread(target=self._read, daemon=True, name="stop-signals")
        self._reader.start()

    def _read(self) -> None:
        while data := os.read(self._read_fd, 64):
            if not self._numbers.isdisjoint(data):
                self.event.set()

    def close(self) -> None:
        """Put back what was there before; the reader ends when the pipe closes."""
        for sig, handler in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        signal.set_wakeup_fd(self._previous_fd)
        os.close(self._write_fd)
        self._reader.join()
        os.close(self._read_fd)
