"""``lakevault kms rewrap`` over secrets: the database copy of each data key moves to the newest
key version; the ciphertext (and its header's copy) is untouched and every version still reads."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lakevault.core.errors import AccessDenied
from lakevault.db import models
from lakevault.secrets import AWSPREVIOUS, SecretDataKeys
from tests.unit.secrets.conftest import BOB, SecretsWorld


def _rows(world: SecretsWorld) -> dict[str, tuple[bytes, int | None, bytes | None]]:
    with world.database.read_session() as session:
        return {
            row.version_id: (row.ciphertext, row.key_version, row.wrapped_data_key)
            for row in session.scalars(select(models.SecretVersion))
        }


def _service_key_id(world: SecretsWorld) -> str:
    [key] = [k for k in world.keys.list_keys(world.key_call()) if k.is_service_key]
    return key.key_id


def _three_versions(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="one")
    world.secrets.put_secret_value(world.call(), "s", secret_string="two")
    world.secrets.put_secret_value(world.call(), "s", secret_string="three")


def test_rewrap_moves_every_version_to_the_newest_key_version(world: SecretsWorld) -> None:
    _three_versions(world)
    key_id = _service_key_id(world)
    before = _rows(world)
    assert {version for _, version, _ in before.values()} == {1}
    world.keys.rotate_key_on_demand(world.key_call(), key_id)

    progress = world.keys.rewrap_data_keys(world.key_call(), key_id, SecretDataKeys(world.database))

    assert (progress.rewrapped, progress.failed, progress.is_done) == (3, 0, True)
    after = _rows(world)
    for version_id, (ciphertext, key_version, wrapped) in after.items():
        assert ciphertext == before[version_id][0]  # the object bytes are untouched
        assert key_version == 2
        assert wrapped != before[version_id][2]
    assert world.secrets.get_secret_value(world.call(), "s").secret_string == "three"
    previous = world.secrets.get_secret_value(world.call(), "s", version_stage=AWSPREVIOUS)
    assert previous.secret_string == "two"
    # Nothing is left below the newest version: a second run moves nothing.
    again = world.keys.rewrap_data_keys(world.key_call(), key_id, SecretDataKeys(world.database))
    assert again.rewrapped == 0


def test_a_bounded_rewrap_resumes_where_it_stopped(world: SecretsWorld) -> None:
    _three_versions(world)
    key_id = _service_key_id(world)
    world.keys.rotate_key_on_demand(world.key_call(), key_id)
    registry = SecretDataKeys(world.database)

    first = world.keys.rewrap_data_keys(
        world.key_call(), key_id, registry, batch_size=1, max_batches=1
    )
    assert (first.rewrapped, first.is_done) == (1, False)
    assert sorted(version for _, version, _ in _rows(world).values()) == [1, 1, 2]

    rest = world.keys.rewrap_data_keys(world.key_call(), key_id, registry, batch_size=1)
    assert (rest.rewrapped, rest.is_done) == (3, True)
    assert {version for _, version, _ in _rows(world).values()} == {2}
    assert world.secrets.get_secret_value(world.call(), "s").secret_string == "three"


def test_a_replace_of_a_changed_row_does_nothing(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="one")
    key_id = _service_key_id(world)
    world.keys.rotate_key_on_demand(world.key_call(), key_id)
    registry = SecretDataKeys(world.database)
    [stored] = registry.stored_data_keys(key_id, below_version=2, after="", limit=10)

    assert registry.replace_data_key(stored, key_version=2, wrapped=b"x" * 60) is True
    assert registry.replace_data_key(stored, key_version=2, wrapped=b"y" * 60) is False
    assert registry.stored_data_keys(key_id, below_version=2, after="", limit=10) == []


def test_a_caller_without_reencrypt_cannot_rewrap(world: SecretsWorld) -> None:
    _three_versions(world)
    key_id = _service_key_id(world)
    world.keys.rotate_key_on_demand(world.key_call(), key_id)
    before = _rows(world)

    with pytest.raises(AccessDenied):
        world.keys.rewrap_data_keys(world.key_call(BOB), key_id, SecretDataKeys(world.database))
    assert _rows(world) == before


def test_values_under_a_kms_key_id_are_not_listed(world: SecretsWorld) -> None:
    key = world.keys.create_key(world.key_call())
    world.secrets.create_secret(world.call(), "s", secret_string="x", kms_key_id=key.key_id)
    world.keys.rotate_key_on_demand(world.key_call(), key.key_id)

    registry = SecretDataKeys(world.database)
    assert registry.stored_data_keys(key.key_id, below_version=2, after="", limit=10) == []
    assert world.secrets.get_secret_value(world.call(), "s").secret_string == "x"
