"""Rotation: AWS's four steps with a registered hook, and where a failed step leaves things."""

from __future__ import annotations

import pytest

from lakevault.secrets import (
    AWSCURRENT,
    AWSPENDING,
    AWSPREVIOUS,
    RANDOM_PASSWORD_HOOK,
    InvalidParameterException,
    InvalidRequestException,
)
from tests.unit.secrets.conftest import SecretsWorld

TOKEN_1 = "1" * 32
TOKEN_2 = "2" * 32


def test_the_random_password_hook_rotates_current_and_keeps_previous(world: SecretsWorld) -> None:
    first = world.secrets.create_secret(world.call(), "s", secret_string="initial-password")

    rotated = world.secrets.rotate_secret(
        world.call(), "s", rotation_hook=RANDOM_PASSWORD_HOOK, automatically_after_days=30
    )

    current = world.secrets.get_secret_value(world.call(), "s")
    assert current.version_id == rotated.version_id
    assert current.secret_string is not None and len(current.secret_string) == 32
    assert current.secret_string != "initial-password"
    previous = world.secrets.get_secret_value(world.call(), "s", version_stage=AWSPREVIOUS)
    assert previous.version_id == first.version_id
    described = world.secrets.describe_secret(world.call(), "s")
    assert described.rotation_enabled and described.rotation_hook == RANDOM_PASSWORD_HOOK
    assert described.rotation_days == 30
    assert described.last_rotated_date == world.clock.now()
    assert AWSPENDING not in {
        s for stages in described.version_ids_to_stages.values() for s in stages
    }
    assert current.secret_string not in world.audit_text()
    steps = [
        (e.get("requestParameters") or {}).get("step")
        for e in world.events()
        if e["eventName"] == "RotateSecret"
    ]
    assert "finishSecret" in steps


def test_a_failed_step_leaves_the_new_version_pending_and_current_unchanged(
    world: SecretsWorld,
) -> None:
    first = world.secrets.create_secret(world.call(), "s", secret_string="initial")

    with pytest.raises(InvalidRequestException, match="testSecret") as caught:
        world.secrets.rotate_secret(
            world.call(), "s", rotation_hook="flaky", client_request_token=TOKEN_1
        )

    assert f"rotated-{TOKEN_1}" not in str(caught.value)  # the hook's message is never echoed
    assert world.last_event()["errorCode"] == "InvalidRequestException"
    assert f"rotated-{TOKEN_1}" not in world.audit_text()
    assert world.flaky.steps == ["createSecret", "setSecret", "testSecret"]
    assert world.secrets.get_secret_value(world.call(), "s").version_id == first.version_id
    pending = world.secrets.get_secret_value(world.call(), "s", version_stage=AWSPENDING)
    assert pending.version_id == TOKEN_1

    # Another rotation cannot start over an unfinished one...
    with pytest.raises(InvalidRequestException, match="not complete"):
        world.secrets.rotate_secret(world.call(), "s", client_request_token=TOKEN_2)

    # ...but the same token resumes it, without creating the value again.
    world.flaky.failing = False
    world.secrets.rotate_secret(world.call(), "s", client_request_token=TOKEN_1)
    assert world.flaky.steps[3:] == ["setSecret", "testSecret", "finishSecret"]
    current = world.secrets.get_secret_value(world.call(), "s")
    assert (current.version_id, current.secret_string) == (TOKEN_1, f"rotated-{TOKEN_1}")
    assert current.version_stages == (AWSCURRENT,)


def test_rotation_needs_a_registered_hook(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="x")
    with pytest.raises(InvalidRequestException, match="no rotation hook"):
        world.secrets.rotate_secret(world.call(), "s")
    with pytest.raises(InvalidParameterException, match="registered hooks"):
        world.secrets.rotate_secret(world.call(), "s", rotation_hook="nope")
    assert not world.secrets.describe_secret(world.call(), "s").rotation_enabled


def test_rotation_can_be_configured_without_running(world: SecretsWorld) -> None:
    first = world.secrets.create_secret(world.call(), "s", secret_string="x")
    world.secrets.rotate_secret(
        world.call(), "s", rotation_hook=RANDOM_PASSWORD_HOOK, rotate_immediately=False
    )
    assert world.secrets.get_secret_value(world.call(), "s").version_id == first.version_id
    assert world.secrets.describe_secret(world.call(), "s").rotation_enabled
