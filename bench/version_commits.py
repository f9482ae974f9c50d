"""The version committer's group commits on a kept connection vs. a pooled one (ADR 0251).

``python -m bench version_commits [--postgres URL] [--threads 8] [--seconds 3] [--rounds 4]``

Threads commit through one ``VersionCommitter`` in a loop, each commit shaped like a small
PUT's: the batch reads its bucket's versioning (``FOR UPDATE`` on PostgreSQL), each commit
inserts one row, and the batch ends with one ``DELETE`` of journal rows. Measured: commits/s and
process CPU per commit. Anchor in the same run: the same committer with each batch in
``Database.transaction()`` (a pool checkout, on PostgreSQL the pre-ping, and the
reset-on-return ``rollback()`` per batch — the committer before ADR 0251). Rounds alternate;
medians are printed with the load average, since the machines are shared.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert

from lakevault.db import Database, models, upgrade
from lakevault.storage._version_commits import VersionBatch, VersionCommitter

_JOURNAL = models.BlobJournal.__table__


class _PooledPerBatch:
    """The anchor: every batch in ``Database.transaction()``, as before ADR 0251."""

    reused = False

    def __init__(self, database: Database) -> None:
        self._database = database

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._database.transaction() as connection:
            yield connection

    def went_stale(self, exc: BaseException) -> bool:
        return False


def _commit_of(path: str) -> Callable[[VersionBatch], Callable[[], None]]:
    def check(batch: VersionBatch) -> Callable[[], None]:
        def write() -> None:
            batch.connection.execute(
                insert(_JOURNAL).values(
                    blob_path=path, bucket_name="bench", state="writing", created_at=_NOW
                )
            )
            batch.remove_journal_rows([path])

        return write

    return check


_NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _round(
    database: Database, *, pooled: bool, threads: int, seconds: float
) -> tuple[float, float, float]:
    committer = VersionCommitter(database)
    if pooled:
        committer._kept = _PooledPerBatch(database)  # type: ignore[assignment]
    names = itertools.count()

    def loop(until: float, counts: list[int]) -> None:
        done = 0
        while time.perf_counter() < until:
            committer.commit("bench", _commit_of(f"bench/{next(names)}"))
            done += 1
        counts.append(done)

    for phase_seconds in (0.3, seconds):
        until = time.perf_counter() + phase_seconds
        counts: list[int] = []
        workers = [threading.Thread(target=loop, args=(until, counts)) for _ in range(threads)]
        cpu, wall = time.process_time(), time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    total = sum(counts)
    return total / wall, 1e6 * cpu / total, committer.commits / max(committer.batches, 1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench version_commits")
    parser.add_argument("--postgres", help="a PostgreSQL URL (a migrated database is used)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        url = args.postgres or f"sqlite:///{Path(work) / 'metadata.db'}"
        database = Database(url)
        upgrade(database)
        results: dict[str, list[tuple[float, float, float]]] = {"kept": [], "pooled": []}
        try:
            for n in range(args.rounds):
                order = ("kept", "pooled") if n % 2 == 0 else ("pooled", "kept")
                for name in order:
                    results[name].append(
                        _round(
                            database,
                            pooled=name == "pooled",
                            threads=args.threads,
                            seconds=args.seconds,
                        )
                    )
        finally:
            database.dispose()
    print(
        f"version commits, {database.dialect}, {args.threads} threads, {args.rounds} rounds of "
        f"{args.seconds:g} s, load {os.getloadavg()[0]:.1f}"
    )
    anchor: Any = None
    for name in ("pooled", "kept"):
        rate = statistics.median(r[0] for r in results[name])
        cpu = statistics.median(r[1] for r in results[name])
        size = statistics.median(r[2] for r in results[name])
        anchor = anchor or cpu
        label = "pooled per batch (anchor)" if name == "pooled" else "kept connection"
        print(
            f"  {label:26} {rate:7.0f} commits/s  {cpu:6.1f} us CPU/commit  {cpu / anchor:.2f}x"
            f"  (mean batch {size:.1f})"
        )
    return 0
