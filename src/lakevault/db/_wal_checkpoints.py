"""SQLite's log checkpoints, run by a background thread instead of inside a commit (ADR 0273).

In WAL mode SQLite appends every commit to the write-ahead log and copies the log back into
the database file in a *checkpoint*. By default the connection whose commit takes the log past
1,000 pages runs that checkpoint itself, inside its commit, and so inside the platform's write
lock (ADR 0250): every writer of every process waits for it. Under 4 KiB PUTs, which since ADR
0272 carry their ciphertext into the database, that was a checkpoint every second or so, each
taking 27-48 ms at the 99th percentile while the write lock was held about 95 % of the time.

A :class:`WalCheckpointer` runs ``PRAGMA wal_checkpoint(PASSIVE)`` on a connection of its own
every :data:`WAL_CHECKPOINT_SECONDS`, without the write lock. SQLite allows that: a passive
checkpoint copies the frames that no reader still needs and never waits for a writer, and
writers keep appending meanwhile (a second checkpointer, another process's, finds the
checkpoint lock taken and skips a round). The commits' own checkpoint stays as a backstop, at
:data:`WAL_AUTOCHECKPOINT_PAGES`, for processes that run none (the CLI, job workers) and for a
checkpointer that falls behind.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

#: How often the background thread checkpoints. A round with nothing to copy costs a few
#: microseconds of SQLite's shared-memory reads.
WAL_CHECKPOINT_SECONDS = 0.25
#: Log size (4 KiB pages) at which a commit checkpoints by itself: 40 MiB, about 10 s of small
#: PUTs, never reached while a checkpointer runs.
WAL_AUTOCHECKPOINT_PAGES = 10_000


class WalCheckpointer:
    """A daemon thread that checkpoints one SQLite file's log until :meth:`stop`."""

    def __init__(self, path: Path, *, interval: float = WAL_CHECKPOINT_SECONDS) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="lakevault-wal-checkpoints", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the thread and close its connection (returns once it has)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _connect(self) -> sqlite3.Connection:
        # ``mode=rw``: never create the file. Busy at once: a round the lock keeps from running
        # is skipped, not waited for.
        return sqlite3.connect(
            f"file:{quote(str(self._path))}?mode=rw",
            uri=True,
            timeout=0,
            isolation_level=None,
            check_same_thread=False,
        )

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self._interval):
                try:
                    if connection is None:
                        connection = self._connect()
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    # A file not there yet, or a transient failure: the next round opens a new
                    # connection; the commits' own checkpoint covers a lasting failure.
                    if connection is not None:
                        connection.close()
                        connection = None
        finally:
            if connection is not None:
                connection.close()
