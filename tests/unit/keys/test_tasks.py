"""The hourly jobs rotate due keys and shred keys whose waiting period is over."""

from __future__ import annotations

from pathlib import Path

from lakevault.core import load_settings
from lakevault.db import Database
from lakevault.jobs import JobId, TaskContext
from lakevault.keys import KeyState, key_tasks
from lakevault.runtime import Platform
from tests.unit.keys.conftest import ALICE, KMSWorld


def run(world: KMSWorld, name: str) -> None:
    tasks, _ = key_tasks(lambda: world.service)
    (task,) = [t for t in tasks if t.name == name]
    task.handler(
        TaskContext(
            job_id=JobId(1), task_name=name, attempt=1, effect_key="k", now=world.clock.now()
        ),
        task.payload_model(),
    )


def test_the_rotation_job_adds_a_version_when_due(world: KMSWorld) -> None:
    key_id = world.service.create_key(world.call(ALICE)).key_id
    world.service.enable_key_rotation(world.call(ALICE), key_id, period_days=90)
    run(world, "kms.rotate-due-keys")
    assert world.service.describe_key(world.call(ALICE), key_id).current_version == 1
    world.clock.advance(seconds=90 * 86400)
    run(world, "kms.rotate-due-keys")
    run(world, "kms.rotate-due-keys")
    assert world.service.describe_key(world.call(ALICE), key_id).current_version == 2


def test_the_deletion_job_destroys_due_keys_once(world: KMSWorld) -> None:
    kept = world.service.create_key(world.call(ALICE)).key_id
    doomed = world.service.create_key(world.call(ALICE)).key_id
    world.service.schedule_key_deletion(world.call(ALICE), doomed, days=7)
    world.clock.advance(seconds=7 * 86400)
    run(world, "kms.destroy-due-keys")
    run(world, "kms.destroy-due-keys")
    keys = world.service.list_keys(world.call(ALICE))
    assert [k.key_id for k in keys] == [kept] and keys[0].state is KeyState.ENABLED
    assert [e["eventName"] for e in world.events()].count("DeleteKey") == 1


def test_the_platform_wires_the_key_service_and_its_jobs(
    database: Database, tmp_path: Path
) -> None:
    settings = load_settings(
        {"LAKEVAULT_HOME": str(tmp_path), "LAKEVAULT_DATABASE_URL": database.url}
    )
    platform = Platform.build(settings)
    try:
        assert platform.keys.region == settings.region
        assert platform.keys.tombstones is not None
        assert platform.keys.tombstones.path == tmp_path / "keys" / "kms-tombstones"
        assert platform.keys.allow_restored_destroyed_keys is False
        names = {task.name for task in platform.jobs.registry.tasks}
        assert {"kms.rotate-due-keys", "kms.destroy-due-keys"} <= names
        schedules = {p.task_name for p in platform.jobs.registry.periodic}
        assert {"kms.rotate-due-keys", "kms.destroy-due-keys"} <= schedules
    finally:
        platform.close()


def test_the_recovery_override_and_cache_come_from_the_settings(
    database: Database, tmp_path: Path
) -> None:
    settings = load_settings(
        {
            "LAKEVAULT_HOME": str(tmp_path),
            "LAKEVAULT_DATABASE_URL": database.url,
            "LAKEVAULT_KMS_ALLOW_RESTORED_DESTROYED_KEYS": "true",
            "LAKEVAULT_KMS_MATERIAL_CACHE_SECONDS": "0",
        }
    )
    platform = Platform.build(settings)
    try:
        assert platform.keys.allow_restored_destroyed_keys is True
        assert platform.keys.materials._ttl == 0
    finally:
        platform.close()
