"""The SQLite write lock: one queue for every writer of a database file, in every process.

SQLite admits one write transaction at a time; a writer that finds the lock taken sleeps in
SQLite's busy handler, whose sleeps grow to 100 ms, so a waiter slept long after the lock was
free (ADR 0169). Writers therefore queue here, right before ``BEGIN IMMEDIATE``, and hold this
lock until their commit or rollback:

* within a process on a re-entrant ``threading.RLock`` (a thread that nests write transactions
  behaves as without the lock; the others wake at once when it is released);
* across processes on an exclusive ``flock`` of a file beside the database
  (``<database>-writelock``), taken by the thread that holds the process's lock, at its
  outermost acquisition only. The kernel wakes the next process's waiter when it is released,
  and drops it when its holder dies, even by ``kill -9`` (docs/decisions/0250).

One :class:`WriteLock` serves every :class:`~lakevault.db.Database` of the same file in a
process (:func:`write_lock_for`): a ``flock`` taken through two descriptors of one process
would exclude each other, and a thread nesting transactions of two such objects would wait for
itself. The file is opened at the first acquisition, and closed by ``Database.dispose()``
while nobody holds the lock and when no ``Database`` of that file remains.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from pathlib import Path

#: Suffix of the lock file beside the database (``metadata.db`` → ``metadata.db-writelock``),
#: the way SQLite names its ``-wal`` and ``-shm`` files.
LOCK_FILE_SUFFIX = "-writelock"


class WriteLock:
    """A re-entrant lock held by one thread of one process at a time for one database file.

    ``acquire(timeout=...)``/``release()`` as ``threading.RLock``. The timeout bounds the wait
    for the other threads of this process; the one thread at the head of the process's queue
    then waits in the kernel for the writer of another process, whose hold is one write
    transaction. ``path`` is ``None`` for a database no other process can open (in memory).
    """

    __slots__ = ("__weakref__", "_depth", "_fd", "_local", "_path")

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._local = threading.RLock()
        self._depth = 0  # outstanding acquisitions by the holding thread
        # The lock file's descriptor once opened, in a list the finaliser closes (it must not
        # reference this object, or the object would never be collected).
        self._fd: list[int] = []
        weakref.finalize(self, _close, self._fd)

    @property
    def path(self) -> str | None:
        """The lock file, or ``None`` when only this process's threads are serialised."""
        return self._path

    def acquire(self, *, timeout: float) -> bool:
        """Take the lock; ``False`` when another thread of this process kept it for
        ``timeout`` seconds. ``OSError`` when the lock file cannot be opened or locked."""
        if not self._local.acquire(timeout=timeout):
            return False
        if self._depth == 0 and self._path is not None:
            try:
                if not self._fd:
                    self._fd.append(_open_lock_file(self._path))
                fcntl.flock(self._fd[0], fcntl.LOCK_EX)
            except BaseException:
                self._local.release()
                raise
        self._depth += 1
        return True

    def release(self) -> None:
        """Release one acquisition; the last one of the holding thread unlocks the file."""
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd:
                fcntl.flock(self._fd[0], fcntl.LOCK_UN)
        finally:
            self._local.release()

    def close_file(self) -> None:
        """Close the lock file unless a thread holds the lock (it is reopened at the next
        acquisition), so a disposed ``Database`` leaves no descriptor open."""
        if not self._local.acquire(blocking=False):
            return
        try:
            if self._depth == 0:
                _close(self._fd)
        finally:
            self._local.release()


_LOCKS: weakref.WeakValueDictionary[str, WriteLock] = weakref.WeakValueDictionary()
_LOCKS_GUARD = threading.Lock()


def write_lock_for(database_path: Path | None) -> WriteLock:
    """The process's write lock of this SQLite file (a new one for an in-memory database).

    The caller keeps the returned object for as long as it may write: the lock file is closed
    once nobody references it.
    """
    if database_path is None or str(database_path) in ("", ":memory:"):
        return WriteLock(None)
    lock_path = os.path.abspath(os.fspath(database_path)) + LOCK_FILE_SUFFIX
    with _LOCKS_GUARD:
        lock = _LOCKS.get(lock_path)
        if lock is None:
            lock = WriteLock(lock_path)
            _LOCKS[lock_path] = lock
        return lock


def _close(fd: list[int]) -> None:
    while fd:
        os.close(fd.pop())


def _open_lock_file(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
