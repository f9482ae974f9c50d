"""``rewrap``: old data keys move to the newest version, data untouched, resumable after a crash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from lakevault import kms
from lakevault.core.errors import AccessDenied
from lakevault.keys import DataKey, DataKeyRegistry, StoredDataKey
from tests.unit.keys.conftest import ALICE, BOB, TENANT_A, KMSWorld

BUCKET = "arn:aws:s3:::red-data"


class Crash(Exception):
    """The process dies here."""


@dataclass
class TableRegistry:
    """A registry over an in-memory table: the shape storage's object-version table has."""

    rows: dict[str, StoredDataKey] = field(default_factory=dict)
    crash_after: int | None = None
    replaced: int = 0

    @property
    def name(self) -> str:
        return "test-table"

    def stored_data_keys(
        self, key_id: str, *, below_version: int, after: str, limit: int
    ) -> Sequence[StoredDataKey]:
        found = [
            row
            for reference, row in sorted(self.rows.items())
            if reference > after and row.key_id == key_id and row.key_version < below_version
        ]
        return found[:limit]

    def replace_data_key(self, stored: StoredDataKey, *, key_version: int, wrapped: bytes) -> bool:
        if self.crash_after is not None and self.replaced >= self.crash_after:
            raise Crash
        current = self.rows[stored.reference]
        if current.wrapped != stored.wrapped or current.key_version != stored.key_version:
            return False
        self.rows[stored.reference] = StoredDataKey(
            reference=stored.reference,
            key_id=stored.key_id,
            key_version=key_version,
            wrapped=wrapped,
            context=stored.context,
        )
        self.replaced += 1
        return True


def fill(world: KMSWorld, count: int) -> tuple[str, TableRegistry, dict[str, DataKey]]:
    proof = world.proof("s3:CreateBucket", BUCKET)
    key_id = world.service.create_service_key(proof, tenant_id=TENANT_A, description="b")
    registry = TableRegistry()
    originals: dict[str, DataKey] = {}
    for number in range(count):
        reference = f"obj-{number:04d}"
        context = kms.EncryptionContext.from_mapping({"key": reference})
        data_key = world.service.generate_data_key(
            world.proof("s3:PutObject", f"{BUCKET}/{reference}"), key_id=key_id, context=context
        )
        originals[reference] = data_key
        registry.rows[reference] = StoredDataKey(
            reference=reference,
            key_id=key_id,
            key_version=data_key.key_version,
            wrapped=data_key.wrapped,
            context=context,
        )
    return key_id, registry, originals


def opens(world: KMSWorld, stored: StoredDataKey) -> bool:
    world.service.decrypt_data_key(
        world.proof("s3:GetObject", f"{BUCKET}/{stored.reference}"),
        key_id=stored.key_id,
        key_version=stored.key_version,
        wrapped=stored.wrapped,
        context=stored.context,
    )
    return True


def test_the_registry_fits_the_protocol() -> None:
    registry: DataKeyRegistry = TableRegistry()
    assert registry.name == "test-table"


def test_rewrap_moves_every_old_data_key_to_the_newest_version(world: KMSWorld) -> None:
    key_id, registry, _ = fill(world, 5)
    world.service.rotate_key_on_demand(world.call(), key_id)
    progress = world.service.rewrap_data_keys(world.call(), key_id, registry, batch_size=2)
    assert progress.is_done and progress.rewrapped == 5 and progress.target_version == 2
    assert {row.key_version for row in registry.rows.values()} == {2}
    assert all(opens(world, row) for row in registry.rows.values())
    again = world.service.rewrap_data_keys(world.call(), key_id, registry)
    assert again.is_done and again.rewrapped == 0
    summary = [e for e in world.events() if e["eventName"] == "ReEncrypt"]
    assert summary[0]["responseElements"] == {"rewrapped": 5, "failed": 0}


def test_rewrap_resumes_after_a_crash_without_losing_or_repeating_work(world: KMSWorld) -> None:
    key_id, registry, _ = fill(world, 7)
    world.service.rotate_key_on_demand(world.call(), key_id)
    registry.crash_after = 3
    with pytest.raises(Crash):
        world.service.rewrap_data_keys(world.call(), key_id, registry, batch_size=2)
    moved = sum(row.key_version == 2 for row in registry.rows.values())
    assert moved == 3
    registry.crash_after = None
    progress = world.service.rewrap_data_keys(world.call(), key_id, registry, batch_size=2)
    assert progress.is_done and registry.replaced == 7
    assert {row.key_version for row in registry.rows.values()} == {2}
    assert all(opens(world, row) for row in registry.rows.values())


def test_a_bounded_run_reports_where_it_stopped_and_the_next_continues(world: KMSWorld) -> None:
    key_id, registry, _ = fill(world, 4)
    world.service.rotate_key_on_demand(world.call(), key_id)
    first = world.service.rewrap_data_keys(
        world.call(), key_id, registry, batch_size=1, max_batches=2
    )
    assert not first.is_done and first.rewrapped == 2 and first.cursor == "obj-0001"
    second = world.service.rewrap_data_keys(world.call(), key_id, registry, batch_size=1)
    assert second.is_done and second.rewrapped == 4


def test_a_corrupt_stored_data_key_is_skipped_and_recorded(world: KMSWorld) -> None:
    key_id, registry, _ = fill(world, 2)
    world.service.rotate_key_on_demand(world.call(), key_id)
    bad = registry.rows["obj-0000"]
    registry.rows["obj-0000"] = StoredDataKey(
        reference=bad.reference,
        key_id=bad.key_id,
        key_version=bad.key_version,
        wrapped=bytes(len(bad.wrapped)),
        context=bad.context,
    )
    progress = world.service.rewrap_data_keys(world.call(), key_id, registry)
    assert progress.is_done and (progress.rewrapped, progress.failed) == (1, 1)
    refused = [e for e in world.events() if e.get("errorCode") == "InvalidCiphertextException"]
    assert refused and refused[-1]["requestParameters"]["reference"] == "obj-0000"


def test_rewrap_needs_re_encrypt_permission(world: KMSWorld) -> None:
    key_id, registry, _ = fill(world, 1)
    world.service.rotate_key_on_demand(world.call(ALICE), key_id)
    with pytest.raises(AccessDenied):
        world.service.rewrap_data_keys(world.call(BOB), key_id, registry)
    assert {row.key_version for row in registry.rows.values()} == {1}
