"""Sign-in throttling counted in the metadata database (ADR 0268), on SQLite and PostgreSQL.

The claim: with ``rate_limit_storage_url`` at its default (``database://``) a limit holds for
every process and server sharing the database, so more HTTP processes never mean more
attempts. The cross-process test runs real processes, each with its own connections, against
one key at once; the others check the window, the counters, the housekeeping and the errors.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from limits.storage import MemoryStorage
from sqlalchemy import func, insert, select, text

from lakevault.core import Settings
from lakevault.core.errors import ConfigurationError, LakevaultError, Throttling
from lakevault.db import Database, models
from lakevault.identity import AttemptLimiter, DatabaseWindows, limits_storage
from lakevault.identity._rate_limit_store import key_digest


def _entries(database: Database) -> int:
    with database.read_session() as session:
        return session.execute(select(func.count()).select_from(models.RateLimitEntry)).scalar_one()


def test_the_window_admits_the_limit_then_refuses(database: Database) -> None:
    limiter = AttemptLimiter("3/minute", storage=DatabaseWindows(database))
    for _ in range(3):
        limiter.hit(("user", "pool", "alice"))
    with pytest.raises(Throttling) as refused:
        limiter.hit(("user", "pool", "alice"))
    assert refused.value.code == "TooManyRequestsException"
    assert "3/minute" in str(refused.value)
    limiter.hit(("user", "pool", "bob"))  # another key has its own window


def test_a_refused_attempt_is_not_counted(database: Database) -> None:
    windows = DatabaseWindows(database)
    assert windows.acquire_entry("k", 2, 60)
    assert windows.acquire_entry("k", 2, 60)
    for _ in range(3):
        assert not windows.acquire_entry("k", 2, 60)
    assert windows.get_moving_window("k", 2, 60)[1] == 2
    assert not windows.acquire_entry("k", 2, 60, amount=3)  # more than the limit at once


def test_the_window_moves_and_ended_entries_are_deleted(database: Database) -> None:
    windows = DatabaseWindows(database)
    started = time.time()
    assert windows.acquire_entry("old", 1, 1)
    assert not windows.acquire_entry("old", 1, 1)
    oldest, count = windows.get_moving_window("old", 1, 1)
    assert count == 1
    assert started <= oldest <= time.time()
    time.sleep(1.1)
    assert windows.get_moving_window("old", 1, 1)[1] == 0
    assert windows.acquire_entry("other", 5, 60)  # any write deletes what has ended
    assert _entries(database) == 1
    assert windows.acquire_entry("old", 1, 1)


def test_a_window_is_shared_by_every_instance_on_the_database(database: Database) -> None:
    first = AttemptLimiter("4/minute", storage=DatabaseWindows(database))
    second = AttemptLimiter("4/minute", storage=DatabaseWindows(database))
    for limiter in (first, second, first, second):
        limiter.hit(("ip", "192.0.2.7"))
    for limiter in (first, second):
        with pytest.raises(Throttling):
            limiter.hit(("ip", "192.0.2.7"))


def _hammer(url: str, attempts: int, start: float) -> int:
    """In a separate process: wait for the common start, then try ``attempts`` times."""
    database = Database(url)
    windows = DatabaseWindows(database)
    time.sleep(max(0.0, start - time.time()))
    granted = sum(windows.acquire_entry("user/pool/alice", 20, 3600) for _ in range(attempts))
    database.dispose()
    return granted


def test_processes_together_get_no_more_than_the_limit(database: Database) -> None:
    """Four real processes race for one key: exactly the limit is granted in total, never
    more (each process counting alone would grant 4 x 20)."""
    context = multiprocessing.get_context("spawn")
    start = time.time() + 4.0  # after every process has imported lakevault
    with context.Pool(4) as pool:
        granted = pool.starmap(_hammer, [(database.url, 15, start)] * 4)
    assert sum(granted) == 20
    assert _entries(database) == 20


def test_an_attempt_waits_for_the_key_held_by_another_transaction(database: Database) -> None:
    """The race the key lock closes: while one transaction holds the 20th entry uncommitted,
    another that counted on its own would see 19 and add a 21st. It must wait, then refuse.
    (On PostgreSQL this fails without the advisory lock; SQLite's write lock does the same.)"""
    windows = DatabaseWindows(database)
    for _ in range(19):
        assert windows.acquire_entry("user/pool/alice", 20, 3600)
    outcome: list[bool] = []
    digest = key_digest("user/pool/alice")
    with windows._write(digest) as connection:  # a racing acquire_entry, paused before commit
        now = time.time()
        connection.execute(
            insert(models.RateLimitEntry),
            [{"key": digest, "at": now, "expires_at": now + 3600}],
        )
        racer = threading.Thread(
            target=lambda: outcome.append(windows.acquire_entry("user/pool/alice", 20, 3600))
        )
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive(), "the second attempt did not wait for the first to commit"
    racer.join(timeout=30)
    assert outcome == [False]
    assert _entries(database) == 20


def test_cleanup_never_waits_for_another_keys_transaction(database: Database) -> None:
    """PostgreSQL: while one key's transaction holds the ended rows it deleted, another key's
    attempt skips them instead of waiting for that transaction (SQLite runs one writer at a
    time anyway)."""
    if database.is_sqlite:
        pytest.skip("SQLite runs one write transaction at a time")
    windows = DatabaseWindows(database)
    assert windows.acquire_entry("ended", 5, 1)
    time.sleep(1.1)
    outcome: list[bool] = []
    with windows._write(key_digest("a")):  # has deleted (and locked) the ended entry
        other = threading.Thread(target=lambda: outcome.append(windows.acquire_entry("b", 5, 60)))
        other.start()
        other.join(timeout=10)
        assert outcome == [True], "an attempt waited for another key's cleanup"
    assert _entries(database) == 1


def test_the_table_holds_digests_not_names(database: Database) -> None:
    AttemptLimiter("5/minute", storage=DatabaseWindows(database)).hit(
        ("user", "pool", "alice@example.org")
    )
    with database.read_session() as session:
        keys = session.execute(text("SELECT key FROM rate_limit_entries")).scalars().all()
    assert len(keys) == 1
    assert "alice" not in keys[0]
    assert len(keys[0]) == 64


def test_fixed_window_counters(database: Database) -> None:
    windows = DatabaseWindows(database)
    assert windows.get("c") == 0
    before = time.time()
    assert windows.get_expiry("c") >= before  # no counter: now
    assert windows.incr("c", 1) == 1
    assert windows.incr("c", 1, amount=2) == 3
    assert windows.get("c") == 3
    assert before + 1 <= windows.get_expiry("c") <= time.time() + 1
    time.sleep(1.1)
    assert windows.get("c") == 0  # the window ended
    assert windows.incr("c", 60) == 1  # a new window starts


def test_clear_reset_and_check(database: Database) -> None:
    windows = DatabaseWindows(database)
    for key in ("a", "b"):
        assert windows.acquire_entry(key, 1, 60)
        windows.incr(key, 60)
    windows.clear("a")
    assert windows.acquire_entry("a", 1, 60)
    assert windows.get("a") == 0
    assert not windows.acquire_entry("b", 1, 60)
    assert windows.reset() == 3  # b's entry and counter, and a's new entry
    assert _entries(database) == 0
    assert windows.check()


def test_check_is_false_when_the_database_cannot_answer() -> None:
    database = Database("sqlite:////nonexistent-directory/metadata.db")
    try:
        assert not DatabaseWindows(database).check()
    finally:
        database.dispose()


def test_an_unreachable_database_refuses_the_attempt() -> None:
    """Fail closed: when the window cannot be counted, the attempt is not made (the API
    answers 503), never waved through uncounted."""
    database = Database("sqlite:////nonexistent-directory/metadata.db")
    try:
        limiter = AttemptLimiter("20/minute", storage=DatabaseWindows(database))
        with pytest.raises(LakevaultError) as refused:
            limiter.hit(("ip", "192.0.2.7"))
        assert not isinstance(refused.value, Throttling)
    finally:
        database.dispose()


def test_the_default_is_the_database(database: Database) -> None:
    url = Settings().rate_limit_storage_url.get_secret_value()
    assert url == "database://"
    assert isinstance(limits_storage(url, database), DatabaseWindows)
    assert isinstance(limits_storage("memory://", database), MemoryStorage)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nosuchstore://", "cannot be used"),
        ("redis://:s3cret-password@127.0.0.1:6399", "cannot be used"),
        ("async+memory://", "asynchronous"),
    ],
)
def test_an_unusable_storage_url_is_refused_without_its_secret(
    database: Database, url: str, says: str
) -> None:
    """(The redis client is not a dependency, so a redis URL is refused as unusable.)"""
    with pytest.raises(ConfigurationError) as refused:
        limits_storage(url, database)
    assert says in str(refused.value)
    assert "s3cret" not in str(refused.value)
