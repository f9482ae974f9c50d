"""A PUT's key use is in the audit log before its version exists (ADR 0169).

Storage waits for the ``GenerateDataKey`` event (and the blob-journal row written in its
transaction, ADR 0195) before it opens the blob, so the log orders the key use before the
change event and no blob exists that the journal does not name.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select

from lakevault import iam
from lakevault.audit import DatabaseAuditLog
from lakevault.core import SystemRandom
from lakevault.core.errors import ServiceUnavailable
from lakevault.db import Database, models
from lakevault.gate import Gate
from lakevault.storage import (
    BlobWriter,
    Conditions,
    LocalBackend,
    ObjectStorage,
    PreconditionFailed,
)
from tests.unit.held_decisions import HeldDecision, HeldDecisions
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


# -- the deferred decision of a PUT (ADR 0230) ---------------------------------------------------


def _held_world(database: Database, tmp_path: Path) -> tuple[StorageWorld, _WatchedBackend]:
    """Storage whose gate queues its deferred decisions for the test to commit or fail; the
    key service, the log and the database are the real ones."""
    backend = _WatchedBackend(tmp_path / "objects", database)
    base = build_storage_world(database, backend)
    backend.audit = base.audit
    base.storage.buckets.create_bucket(base.caller(), "data")
    held = HeldDecisions(base.audit)
    gate = Gate(
        engine=iam.Evaluator(),
        policies=base.gate._policies,
        audit=held,
        clock=base.clock,
        random=SystemRandom(),
        region="local",
    )
    base.keys.gate = gate
    storage = ObjectStorage(
        database=database,
        gate=gate,
        keys=base.keys,
        backend=backend,
        clock=base.clock,
        random=SystemRandom(),
        region="local",
    )
    world = StorageWorld(database, base.audit, gate, base.keys, storage, backend, base.clock)
    world.held = held  # type: ignore[attr-defined]
    return world, backend


def _queued(world: StorageWorld, count: int) -> list[HeldDecision]:
    """The held decisions once ``count`` are queued (the PUT runs in another thread)."""
    held: HeldDecisions = world.held  # type: ignore[attr-defined]
    for _ in range(1000):
        if len(held.queued) >= count:
            return held.queued
        threading.Event().wait(0.01)
    raise AssertionError(f"{count} decisions were never queued")


def _put_in_thread(world: StorageWorld, **options: Any) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(world.put("data", "k", b"x" * 4096, **options))
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_the_put_decision_is_durable_before_the_blob_is_opened(
    database: Database, tmp_path: Path
) -> None:
    # With the real gate the decision is only queued; the data key's wait covers it.
    backend = _WatchedBackend(tmp_path / "objects", database)
    world = build_storage_world(database, backend)
    backend.audit = world.audit
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.put("data", "first", b"x" * 4096)
    ((_path, _journal, names),) = backend.seen
    assert names[-2:] == ["PutObject", "GenerateDataKey"]  # the decision, then the key use


def test_a_put_whose_decision_is_late_opens_no_blob_until_it_is_durable(
    database: Database, tmp_path: Path
) -> None:
    world, backend = _held_world(database, tmp_path)
    thread, outcome = _put_in_thread(world)
    (decision,) = _queued(world, 1)
    thread.join(0.5)
    assert thread.is_alive() and outcome == []
    assert backend.seen == []  # the key use is durable, the decision is not: no blob yet
    decision.commit()
    thread.join(10)
    assert len(outcome) == 1 and not isinstance(outcome[0], Exception), outcome
    assert len(backend.seen) == 1


def test_a_put_whose_decision_is_lost_opens_no_blob_and_fails(
    database: Database, tmp_path: Path
) -> None:
    world, backend = _held_world(database, tmp_path)
    thread, outcome = _put_in_thread(world)
    (decision,) = _queued(world, 1)
    decision.fail()
    thread.join(10)
    assert isinstance(outcome[0], ServiceUnavailable)
    assert backend.seen == [] and world.blobs() == []
    assert world.rows("data") == []


def test_an_early_refusal_waits_for_the_decision_before_it_is_raised(
    database: Database, tmp_path: Path
) -> None:
    world, backend = _held_world(database, tmp_path)
    thread, outcome = _put_in_thread(world)
    _queued(world, 1)[0].commit()
    thread.join(10)
    # Now the key exists: If-None-Match: * is refused before any byte is read, and that
    # answer, too, waits until the allowed decision before it is durable.
    thread, outcome = _put_in_thread(world, conditions=Conditions(if_none_match="*"))
    second = _queued(world, 2)[1]
    thread.join(0.5)
    assert thread.is_alive() and outcome == []
    second.commit()
    thread.join(10)
    assert isinstance(outcome[0], PreconditionFailed)
    assert len(backend.seen) == 1
