"""Scheduled rotation (``AutomaticallyAfterDays``): the job rotates due secrets as the service."""

from __future__ import annotations

import json

import pytest

from lakevault import kms
from lakevault.core.errors import AccessDenied
from lakevault.secrets import (
    AWSCURRENT,
    AWSPENDING,
    AWSPREVIOUS,
    RANDOM_PASSWORD_HOOK,
    ROTATE_SECRETS_TASK,
    InvalidRequestException,
    rotation_tasks,
)
from tests.unit.secrets.conftest import SecretsWorld

DAY = 86400


def _labels(world: SecretsWorld, name: str) -> dict[str, str]:
    described = world.secrets.describe_secret(world.call(), name)
    return {
        stage: version
        for version, stages in described.version_ids_to_stages.items()
        for stage in stages
    }


def test_a_due_secret_is_rotated_through_its_hook_as_the_service(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="initial")
    world.secrets.rotate_secret(
        world.call(),
        "s",
        rotation_hook=RANDOM_PASSWORD_HOOK,
        automatically_after_days=30,
        rotate_immediately=False,
    )
    world.clock.advance(seconds=29 * DAY)
    assert world.secrets.rotate_due_secrets() == 0
    before = _labels(world, "s")

    world.clock.advance(seconds=DAY + 60)
    assert world.secrets.rotate_due_secrets() == 1

    after = _labels(world, "s")
    assert after[AWSCURRENT] != before[AWSCURRENT]
    assert after[AWSPREVIOUS] == before[AWSCURRENT]
    value = world.secrets.get_secret_value(world.call(), "s")
    assert value.secret_string is not None and len(value.secret_string) == 32
    assert value.secret_string not in world.audit_text()
    described = world.secrets.describe_secret(world.call(), "s")
    assert described.last_rotated_date == world.clock.now()
    by_service = [
        e
        for e in world.events()
        if e["eventName"] == "RotateSecret" and e["userIdentity"]["type"] == "AWSService"
    ]
    assert {(e["requestParameters"] or {}).get("step") for e in by_service} == {
        "createSecret",
        "finishSecret",
    }
    keys_by_service = [
        e
        for e in world.events()
        if e["eventSource"] == "kms.amazonaws.com"
        and e["eventName"] in ("GenerateDataKey", "Decrypt")
        and e["userAgent"] == "secretsmanager.amazonaws.com"
        and e["userIdentity"]["type"] == "AWSService"
    ]
    assert keys_by_service  # the key service recorded the job's key uses

    # Not due again until another 30 days have passed.
    assert world.secrets.rotate_due_secrets() == 0


def test_a_failing_hook_leaves_pending_and_the_next_run_resumes_it(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="initial")
    world.secrets.rotate_secret(
        world.call(), "s", rotation_hook="flaky", automatically_after_days=1,
        rotate_immediately=False,
    )  # fmt: skip
    world.clock.advance(seconds=DAY + 60)

    assert world.secrets.rotate_due_secrets() == 0
    pending = _labels(world, "s")[AWSPENDING]
    failures = [
        e for e in world.events() if e["eventName"] == "RotateSecret" and e.get("errorCode")
    ]
    assert failures and failures[-1]["userIdentity"]["type"] == "AWSService"
    assert "rotated-" not in world.audit_text()

    world.flaky.failing = False
    assert world.secrets.rotate_due_secrets() == 1
    labels = _labels(world, "s")
    assert labels[AWSCURRENT] == pending and AWSPENDING not in labels


def test_deleted_unscheduled_and_kms_key_secrets_are_not_rotated(world: SecretsWorld) -> None:
    for name in ("deleted", "manual"):
        world.secrets.create_secret(world.call(), name, secret_string="x")
    world.secrets.rotate_secret(
        world.call(), "deleted", rotation_hook=RANDOM_PASSWORD_HOOK, automatically_after_days=1,
        rotate_immediately=False,
    )  # fmt: skip
    world.secrets.delete_secret(world.call(), "deleted", recovery_window_in_days=7)
    world.secrets.rotate_secret(world.call(), "manual", rotation_hook=RANDOM_PASSWORD_HOOK)
    key = world.keys.create_key(world.key_call())
    world.secrets.create_secret(world.call(), "cmk", secret_string="x", kms_key_id=key.key_id)

    with pytest.raises(InvalidRequestException, match="service key"):
        world.secrets.rotate_secret(
            world.call(), "cmk", rotation_hook=RANDOM_PASSWORD_HOOK, automatically_after_days=1
        )
    world.clock.advance(seconds=400 * DAY)
    assert world.secrets.rotate_due_secrets() == 0


def test_a_disabled_service_key_stops_the_job_and_is_recorded(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="initial")
    world.secrets.rotate_secret(
        world.call(), "s", rotation_hook=RANDOM_PASSWORD_HOOK, automatically_after_days=1,
        rotate_immediately=False,
    )  # fmt: skip
    [service_key] = [k for k in world.keys.list_keys(world.key_call()) if k.is_service_key]
    world.keys.disable_key(world.key_call(), service_key.key_id)
    before = _labels(world, "s")
    world.clock.advance(seconds=DAY + 60)

    assert world.secrets.rotate_due_secrets() == 0
    assert _labels(world, "s")[AWSCURRENT] == before[AWSCURRENT]
    [refusal] = [e for e in world.events() if e.get("errorCode") == "DecryptionFailure"]
    assert (refusal["eventName"], refusal["errorCode"]) == ("RotateSecret", "DecryptionFailure")
    assert refusal["userIdentity"]["type"] == "AWSService"


def test_the_task_is_scheduled_hourly() -> None:
    definitions, schedules = rotation_tasks(lambda: None)  # type: ignore[arg-type,return-value]
    assert [d.name for d in definitions] == [ROTATE_SECRETS_TASK]
    assert [s.task_name for s in schedules] == [ROTATE_SECRETS_TASK]


def test_the_job_entries_refuse_other_resources_tenant_keys_and_a_key_policy_deny(
    world: SecretsWorld,
) -> None:
    first = world.secrets.create_secret(world.call(), "first", secret_string="x")
    second = world.secrets.create_secret(world.call(), "second", secret_string="y")
    tenant_key = world.keys.create_key(world.key_call())
    [key_of_first] = [
        k.key_id
        for k in world.keys.list_keys(world.key_call())
        if k.is_service_key and "first" in k.description
    ]
    context = kms.EncryptionContext.from_mapping({"SecretARN": first.arn})

    with pytest.raises(AccessDenied, match="bound to"):
        world.keys.generate_data_key_for_job(
            resource_arn=second.arn, key_id=key_of_first, context=context
        )
    with pytest.raises(AccessDenied, match="bound to"):
        world.keys.generate_data_key_for_job(
            resource_arn=first.arn, key_id=tenant_key.key_id, context=context
        )
    assert (
        world.keys.generate_data_key_for_job(
            resource_arn=first.arn, key_id=key_of_first, context=context
        ).key_version
        == 1
    )

    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "NoSecretsManager",
                "Effect": "Deny",
                "Principal": {"Service": "secretsmanager.amazonaws.com"},
                "Action": "kms:*",
                "Resource": "*",
            },
        ],
    }
    world.keys.put_key_policy(world.key_call(), key_of_first, json.dumps(deny))
    with pytest.raises(AccessDenied, match="does not allow secretsmanager"):
        world.keys.generate_data_key_for_job(
            resource_arn=first.arn, key_id=key_of_first, context=context
        )
