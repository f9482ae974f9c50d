"""Checkpoints made from the database: chained, on demand and at an interval, verified on read."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from lakevault.audit import (
    EMPTY_ROOT,
    Checkpointer,
    DatabaseAuditLog,
    InvalidCheckpoint,
    append_in,
    encode_event,
    leaf_hash,
    root_hash,
)
from lakevault.db import Database, models
from tests.unit.audit.helpers import ACCOUNT, OTHER_ACCOUNT, make_checkpointer, make_event


def append(database: Database, numbers: range) -> None:
    with database.session() as session:
        for number in numbers:
            append_in(session, make_event(number))


def expected_root(numbers: range) -> bytes:
    return root_hash([leaf_hash(encode_event(make_event(n))) for n in numbers])


def test_the_first_checkpoint_of_an_empty_log_has_the_empty_root(database: Database) -> None:
    signed = make_checkpointer(database).checkpoint(ACCOUNT)
    assert signed.checkpoint.tree_size == 0
    assert signed.checkpoint.root_hash == EMPTY_ROOT
    assert signed.checkpoint.previous is None


def test_checkpoints_sign_the_committed_tree_and_chain(database: Database) -> None:
    checkpointer = make_checkpointer(database)
    append(database, range(5))
    first = checkpointer.checkpoint(ACCOUNT)
    append(database, range(5, 12))
    second = checkpointer.checkpoint(ACCOUNT)
    assert first.checkpoint.root_hash == expected_root(range(5))
    assert second.checkpoint.root_hash == expected_root(range(12))
    assert second.checkpoint.previous == first.link()
    assert [c.checkpoint.tree_size for c in checkpointer.history(ACCOUNT)] == [5, 12]


def test_an_unchanged_log_gets_no_new_checkpoint(database: Database) -> None:
    checkpointer = make_checkpointer(database)
    append(database, range(3))
    assert checkpointer.checkpoint(ACCOUNT) == checkpointer.checkpoint(ACCOUNT)
    assert len(checkpointer.history(ACCOUNT)) == 1


def test_a_checkpoint_changed_in_the_database_is_refused(database: Database) -> None:
    checkpointer = make_checkpointer(database)
    append(database, range(3))
    note = checkpointer.checkpoint(ACCOUNT).note.decode()
    with database.session() as session:
        session.execute(update(models.AuditCheckpoint).values(note=note.replace("\n3\n", "\n2\n")))
    with pytest.raises(InvalidCheckpoint, match="does not verify"):
        checkpointer.latest(ACCOUNT)


def test_a_checkpoint_by_another_key_is_refused(database: Database) -> None:
    append(database, range(2))
    make_checkpointer(database).checkpoint(ACCOUNT)
    with pytest.raises(InvalidCheckpoint, match="no signature by the trusted key"):
        make_checkpointer(database).latest(ACCOUNT)


def test_the_writer_checkpoints_grown_logs_at_its_interval(database: Database) -> None:
    checkpointer = make_checkpointer(database)
    log = DatabaseAuditLog(database, checkpointer=checkpointer, checkpoint_interval_seconds=0.05)
    for number in range(4):
        log.append(make_event(number))
    deadline = time.monotonic() + 10
    while checkpointer.latest(ACCOUNT) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    log.close()
    latest = checkpointer.latest(ACCOUNT)
    assert latest is not None and latest.checkpoint.tree_size == 4


def test_writer_takes_both_or_neither_checkpoint_setting(database: Database) -> None:
    with pytest.raises(ValueError, match="or neither"):
        DatabaseAuditLog(database, checkpointer=make_checkpointer(database))
    assert isinstance(make_checkpointer(database), Checkpointer)


def test_grown_accounts_are_those_with_events_no_checkpoint_covers(database: Database) -> None:
    checkpointer = make_checkpointer(database)
    assert checkpointer.grown_accounts() == []
    append(database, range(3))
    with database.session() as session:
        append_in(session, make_event(50, account=OTHER_ACCOUNT))
    assert checkpointer.grown_accounts() == [ACCOUNT, OTHER_ACCOUNT]
    checkpointer.checkpoint(ACCOUNT)
    assert checkpointer.grown_accounts() == [OTHER_ACCOUNT]
    checkpointer.checkpoint(OTHER_ACCOUNT)
    append(database, range(3, 4))
    assert checkpointer.grown_accounts() == [ACCOUNT]


def test_interval_checkpoints_also_cover_events_appended_in_transactions(
    database: Database,
) -> None:
    checkpointer = make_checkpointer(database)
    with database.session() as session:
        append_in(session, make_event(60, account=OTHER_ACCOUNT))
    log = DatabaseAuditLog(database, checkpointer=checkpointer, checkpoint_interval_seconds=0.05)
    log.append(make_event(1))
    deadline = time.monotonic() + 10
    while checkpointer.grown_accounts() and time.monotonic() < deadline:
        time.sleep(0.02)
    log.close()
    latest = checkpointer.latest(OTHER_ACCOUNT)
    assert latest is not None and latest.checkpoint.tree_size == 1
