"""Destroyed keys stay destroyed when the database comes back from an old backup."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select

from lakevault.core.errors import ConfigurationError
from lakevault.db import Database, models
from lakevault.keys import KMSInvalidStateException, TombstoneJournal
from tests.unit.keys.conftest import ALICE, build_world, context

SECRET = b"to be forgotten"
CONTEXT = context(app="x")


def snapshot(database: Database) -> tuple[dict[str, object], list[dict[str, object]]]:
    with database.read_session() as session:
        key = session.execute(select(models.KMSKey)).scalar_one()
        versions = session.execute(select(models.KMSKeyVersion)).scalars().all()
        return (
            {c.name: getattr(key, c.name) for c in models.KMSKey.__table__.columns},
            [
                {c.name: getattr(v, c.name) for c in models.KMSKeyVersion.__table__.columns}
                for v in versions
            ],
        )


def test_a_whole_database_restore_does_not_resurrect_a_destroyed_key(
    database: Database, tmp_path: Path
) -> None:
    journal = TombstoneJournal(tmp_path / "keys" / "kms-tombstones")
    world = build_world(database, tombstones=journal)
    key_id = world.service.create_key(world.call(ALICE)).key_id
    blob = world.service.encrypt(world.call(ALICE), key_id, SECRET, context=CONTEXT).blob
    backup = snapshot(database)
    world.service.schedule_key_deletion(world.call(ALICE), key_id, days=7)
    world.clock.advance(seconds=8 * 86400)
    assert world.service.destroy_due_keys() == 1
    assert journal.destroyed_keys() == {key_id}
    assert (tmp_path / "keys" / "kms-tombstones").stat().st_mode & 0o777 == 0o600
    # The database is restored from the backup: the key is back, its tombstone row is not.
    with database.session() as session:
        session.execute(delete(models.KMSKeyTombstone))
        session.add(models.KMSKey(**backup[0]))
        session.flush()
        for version in backup[1]:
            session.add(models.KMSKeyVersion(**version))
    world.service.materials.clear()
    with pytest.raises(KMSInvalidStateException, match="tombstone journal"):
        world.service.decrypt(world.call(ALICE), blob, context=CONTEXT)


def test_a_torn_last_line_is_ignored_and_a_damaged_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "kms-tombstones"
    path.write_text('{"keyId": "a"}\n{"keyId": "b')
    assert TombstoneJournal(path).destroyed_keys() == {"a"}
    path.write_text('{"keyId": "a"}\nnot json\n')
    with pytest.raises(ConfigurationError, match="damaged"):
        TombstoneJournal(path).destroyed_keys()
    assert TombstoneJournal(tmp_path / "absent").destroyed_keys() == frozenset()
