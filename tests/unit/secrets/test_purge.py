"""The purge job schedules a purged secret's service key for deletion, as the service (ADR 0211)."""

from __future__ import annotations

import pytest

from lakevault.core.errors import InvalidParameterValue
from lakevault.secrets import InvalidRequestException, purge_due_secrets
from tests.unit.secrets.conftest import TENANT_A, SecretsWorld

WEEK = 7 * 86400


def _purge(world: SecretsWorld) -> int:
    return purge_due_secrets(
        world.database,
        keys=world.keys,
        clock=world.clock,
        random=world.keys.random,  # type: ignore[arg-type]
        region="local",
    )


def _service_key_states(world: SecretsWorld) -> dict[str, str]:
    return {
        key.key_id: world.keys.describe_key(world.key_call(), key.key_id).state.value
        for key in world.keys.list_keys(world.key_call())
        if key.is_service_key
    }


def test_the_purge_schedules_the_secrets_service_key_for_deletion_as_the_service(
    world: SecretsWorld,
) -> None:
    world.secrets.create_secret(world.call(), "gone", secret_string="x")
    world.secrets.create_secret(world.call(), "kept", secret_string="y")
    before = _service_key_states(world)
    assert sorted(before.values()) == ["Enabled", "Enabled"]
    world.secrets.delete_secret(world.call(), "gone", recovery_window_in_days=7)

    world.clock.advance(seconds=WEEK + 60)
    assert _purge(world) == 1

    after = _service_key_states(world)
    assert sorted(after.values()) == ["Enabled", "PendingDeletion"]  # the kept one stays
    scheduled = [e for e in world.events(TENANT_A) if e["eventName"] == "ScheduleKeyDeletion"]
    assert len(scheduled) == 1
    assert scheduled[0]["userIdentity"]["type"] == "AWSService"
    assert scheduled[0]["userAgent"] == "secretsmanager.amazonaws.com"
    assert scheduled[0]["requestParameters"]["pendingWindowInDays"] == 7

    # The key is destroyed after its own waiting period, by the KMS's job.
    world.clock.advance(seconds=WEEK + 60)
    assert world.keys.destroy_due_keys() == 1
    assert len(_service_key_states(world)) == 1


def test_a_tenant_kms_key_named_by_the_secret_is_not_touched(world: SecretsWorld) -> None:
    key = world.keys.create_key(world.key_call(), description="tenant key")
    world.secrets.create_secret(world.call(), "s", secret_string="x", kms_key_id=key.key_id)
    world.secrets.delete_secret(world.call(), "s", recovery_window_in_days=7)
    world.clock.advance(seconds=WEEK + 60)

    assert _purge(world) == 1
    assert world.keys.describe_key(world.key_call(), key.key_id).state.value == "Enabled"


def test_a_repeated_purge_after_a_crash_finds_the_key_pending_and_purges(
    world: SecretsWorld,
) -> None:
    created = world.secrets.create_secret(world.call(), "s", secret_string="x")
    world.secrets.delete_secret(world.call(), "s", recovery_window_in_days=7)
    world.clock.advance(seconds=WEEK + 60)
    # The crash: the key was scheduled, the rows were not yet deleted.
    assert len(world.keys.schedule_resource_key_deletion(resource_arn=created.arn, days=7)) == 1

    assert world.keys.schedule_resource_key_deletion(resource_arn=created.arn, days=7) == []
    assert _purge(world) == 1
    assert list(_service_key_states(world).values()) == ["PendingDeletion"]


def test_restore_after_the_window_ended_is_refused_and_recorded(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="x")
    world.secrets.delete_secret(world.call(), "s", recovery_window_in_days=7)
    world.clock.advance(seconds=WEEK + 1)

    with pytest.raises(InvalidRequestException, match="can no longer be restored"):
        world.secrets.restore_secret(world.call(), "s")
    refusal = world.last_event()
    assert (refusal["eventName"], refusal["errorCode"]) == (
        "RestoreSecret",
        "InvalidRequestException",
    )
    assert list(_service_key_states(world).values()) == ["Enabled"]


@pytest.mark.parametrize("days", [6, 31])
def test_the_platform_deletion_keeps_the_kms_waiting_period(world: SecretsWorld, days: int) -> None:
    created = world.secrets.create_secret(world.call(), "s", secret_string="x")
    with pytest.raises(InvalidParameterValue, match="7 to 30"):
        world.keys.schedule_resource_key_deletion(resource_arn=created.arn, days=days)
    with pytest.raises(InvalidParameterValue, match="not a resource ARN"):
        world.keys.schedule_resource_key_deletion(resource_arn="s", days=7)
    assert list(_service_key_states(world).values()) == ["Enabled"]
