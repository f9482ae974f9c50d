"""A PUT's key use is in the audit log before its version exists (ADR 0169).

Storage overlaps the wait for the ``GenerateDataKey`` event with the blob write, but waits for
it before committing the version, so the log orders the key use before the change event.
"""

from __future__ import annotations

from tests.unit.storage.conftest import StorageWorld


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
