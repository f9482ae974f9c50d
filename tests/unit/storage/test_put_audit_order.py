"""A PUT's key use is in the audit log before its version exists (ADR 0169).

Storage waits for the ``GenerateDataKey`` event (and the blob-journal row written in its
transaction, ADR 0195) before it opens the blob, so the log orders the key use before the
change event and no blob exists that the journal does not name.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from lakevault.audit import DatabaseAuditLog
from lakevault.db import Database, models
from lakevault.storage import BlobWriter, LocalBackend
from tests.unit.storage.conftest import StorageWorld, build_storage_world
from tests.unit.tenant_world import TENANT_A


def test_the_data_key_event_precedes_the_put_change_event(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.put("data", "first", b"x" * 4096)
    world.put("data", "first", b"y" * 4096)  # an overwrite: the replaced blob goes too
    events = world.events()
    names = [(event.get("eventName"), event.get("additionalEventData", {})) for event in events]
    key_uses = [i for i, (name, _) in enumerate(names) if name == "GenerateDataKey"]
    changes = [
        i
        for i, (name, extra) in enumerate(names)
        if name == "PutObject" and extra.get("stateChange")
    ]
    assert len(changes) == 2, names
    assert len(key_uses) >= 2, names
    for key_use, change in zip(key_uses[-2:], changes, strict=True):
        assert key_use < change
    assert world.blobs() and len(world.blobs()) == 1  # the replaced blob was deleted


class _WatchedBackend(LocalBackend):
    """A local backend that notes, as each blob is opened, what the database holds."""

    def __init__(self, root: Path, database: Database) -> None:
        super().__init__(root)
        self.database = database
        self.audit: DatabaseAuditLog | None = None
        self.seen: list[tuple[str, list[str], list[str]]] = []

    def open_write(self, path: str) -> BlobWriter:
        assert self.audit is not None
        with self.database.read_session() as session:
            journal = list(session.scalars(select(models.BlobJournal.blob_path)))
        names = [str(event.get("eventName")) for event in self.audit.read(TENANT_A)]
        self.seen.append((path, journal, names))
        return super().open_write(path)


def test_the_journal_row_and_the_key_use_are_durable_before_the_blob_exists(
    database: Database, tmp_path: Path
) -> None:
    # ADR 0195: the journal row rides in the GenerateDataKey event's transaction, and the PUT
    # waits for both before it opens the blob, so a crash leaves no blob the sweep misses.
    backend = _WatchedBackend(tmp_path / "objects", database)
    world = build_storage_world(database, backend)
    backend.audit = world.audit
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.put("data", "first", b"x" * 4096)
    ((path, journal, names),) = backend.seen
    assert path in journal
    assert names[-1] == "GenerateDataKey"
    with database.read_session() as session:  # the version's commit removed the row
        assert list(session.scalars(select(models.BlobJournal.blob_path))) == []
