"""One thread that waits for finished sandboxes to exit and then frees their slots.

The supervisor answers a caller as soon as a sandbox's result is complete (or its deadline has
decided the outcome). The sandbox's exit — the kernel tearing down its namespaces — is waited
for here, off the caller's path: each entry is the sandbox's status pipe, on which the zygote
writes the wait status and which then closes. A sandbox that has not exited within the grace
period is killed. Only then is its slot given back, so a slot never holds two sandboxes.
"""

from __future__ import annotations

import os
import selectors
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_GRACE_SECONDS = 2.0


@dataclass(slots=True)
class _Entry:
    status_fd: int
    deadline: float
    on_status: Callable[[bytes], None]
    on_overdue: Callable[[], None]
    on_gone: Callable[[], None]
    killed: bool = False


class Reaper:
    """Watches status pipes; calls ``on_gone`` once each has closed (after ``on_overdue``
    when it took longer than the grace period)."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._added: list[_Entry] = []
        self._entries: dict[int, _Entry] = {}
        self._idle = threading.Condition(self._lock)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-reaper", daemon=True)
        self._thread.start()

    def watch(
        self,
        status_fd: int,
        *,
        on_status: Callable[[bytes], None],
        on_overdue: Callable[[], None],
        on_gone: Callable[[], None],
    ) -> None:
        entry = _Entry(
            status_fd=status_fd,
            deadline=time.monotonic() + _GRACE_SECONDS,
            on_status=on_status,
            on_overdue=on_overdue,
            on_gone=on_gone,
        )
        with self._lock:
            self._added.append(entry)
        os.write(self._wake_w, b"x")

    def wait_idle(self) -> None:
        """Block until every watched sandbox is gone."""
        with self._idle:
            self._idle.wait_for(lambda: not self._added and not self._entries)

    def close(self) -> None:
        self.wait_idle()
        with self._lock:
            self._stopping = True
        os.write(self._wake_w, b"x")
        self._thread.join()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                for entry in self._added:
                    self._entries[entry.status_fd] = entry
                    self._selector.register(entry.status_fd, selectors.EVENT_READ)
                self._added.clear()
            now = time.monotonic()
            timeout = min((e.deadline for e in self._entries.values()), default=now + 60) - now
            for key, _ in self._selector.select(max(0.0, timeout)):
                fd = int(key.fd)
                if fd == self._wake_r:
                    while True:
                        try:
                            if not os.read(fd, 4096):
                                break
                        except BlockingIOError:
                            break
                    continue
                data = os.read(fd, 65536)
                if data:
                    self._entries[fd].on_status(data)
                else:
                    self._finish(fd)
            now = time.monotonic()
            for entry in list(self._entries.values()):
                if now >= entry.deadline and not entry.killed:
                    entry.killed = True
                    entry.deadline = now + _GRACE_SECONDS
                    entry.on_overdue()
                elif now >= entry.deadline:
                    self._finish(entry.status_fd)  # killed and still silent: give up on it

    def _finish(self, fd: int) -> None:
        entry = self._entries.pop(fd)
        self._selector.unregister(fd)
        os.close(fd)
        try:
            entry.on_gone()
        finally:
            with self._idle:
                self._idle.notify_all()
