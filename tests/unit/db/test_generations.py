"""The request's generation snapshot (ADR 0241): outside a block each generation is read when
asked; inside one both are read once — on the block's first read, or piggybacked on a
``fetch_one(..., with_generations=True)`` — so a change made before the block is always seen,
a change made during it is seen by the next block, and the piggybacked row comes back as
asked."""

from __future__ import annotations

from sqlalchemy import text

from lakevault.db import Database, generation_snapshot

_TOKEN_ROW = "SELECT user_id, name FROM users WHERE user_id = ?"


def _advance(database: Database, name: str) -> None:
    with database.session() as session:
        session.execute(text(f"UPDATE {name} SET value = value + 1 WHERE id = 1"))


def _other(database: Database) -> Database:
    """Another process's view of the same store: its own engine and connections."""
    return Database(database.url)


def test_outside_a_block_every_read_sees_the_latest_value(database: Database) -> None:
    other = _other(database)
    try:
        policy = database.generation("policy_generation")
        storage = database.generation("storage_generation")
        assert policy is not None and storage is not None
        _advance(other, "policy_generation")
        _advance(other, "storage_generation")
        assert database.generation("policy_generation") == policy + 1
        assert database.generation("storage_generation") == storage + 1
    finally:
        other.dispose()


def test_a_block_reads_both_once_and_the_next_block_sees_what_changed_during_it(
    database: Database,
) -> None:
    other = _other(database)
    try:
        _advance(other, "policy_generation")  # before the block: seen
        before = (database.generation("policy_generation"),)
        with generation_snapshot():
            storage = database.generation("storage_generation")
            _advance(other, "policy_generation")
            _advance(other, "storage_generation")
            # Both were read by the first read: a change during the block is not mixed in.
            assert database.generation("policy_generation") == before[0]
            assert database.generation("storage_generation") == storage
        with generation_snapshot():
            assert database.generation("policy_generation") == (before[0] or 0) + 1
            assert database.generation("storage_generation") == (storage or 0) + 1
    finally:
        other.dispose()


def test_a_piggybacked_read_returns_its_row_and_fills_the_snapshot(database: Database) -> None:
    with database.session() as session:
        session.execute(
            text(
                "INSERT INTO tenants (account_id, name, is_platform, created_at) "
                "VALUES ('111122223333', 't', false, CURRENT_TIMESTAMP)"
            )
        )
        session.execute(
            text(
                "INSERT INTO users (user_id, account_id, name, path, arn, tags, created_at) "
                "VALUES ('LVUSR1', '111122223333', 'ada', '/', "
                "'arn:aws:iam::111122223333:user/ada', '{}', CURRENT_TIMESTAMP)"
            )
        )
    other = _other(database)
    try:
        policy = database.generation("policy_generation")
        storage = database.generation("storage_generation")
        plain = database.fetch_one(_TOKEN_ROW, ("LVUSR1",), with_generations=True)
        assert plain == ("LVUSR1", "ada")  # outside a block: the row alone, nothing kept
        with generation_snapshot():
            row = database.fetch_one(_TOKEN_ROW, ("LVUSR1",), with_generations=True)
            assert row == ("LVUSR1", "ada")
            _advance(other, "policy_generation")
            _advance(other, "storage_generation")
            assert database.generation("policy_generation") == policy
            assert database.generation("storage_generation") == storage
            # Filled once: a later piggybacking read neither re-reads nor changes its row.
            again = database.fetch_one(_TOKEN_ROW, ("LVUSR1",), with_generations=True)
            assert again == ("LVUSR1", "ada")
            assert database.generation("policy_generation") == policy
        with generation_snapshot():
            assert database.fetch_one(_TOKEN_ROW, ("nobody",), with_generations=True) is None
            # No row, no counters: the first generation read fetches them, fresh.
            assert database.generation("policy_generation") == (policy or 0) + 1
    finally:
        other.dispose()


def test_two_databases_in_one_block_keep_their_own_counters(database: Database) -> None:
    other = _other(database)
    try:
        with generation_snapshot():
            mine = database.generation("storage_generation")
            _advance(database, "storage_generation")
            # The other Database has not read yet in this block: it reads now, and sees it.
            assert other.generation("storage_generation") == (mine or 0) + 1
            assert database.generation("storage_generation") == mine
    finally:
        other.dispose()
