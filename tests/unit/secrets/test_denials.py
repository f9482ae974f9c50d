"""Every denial of the secrets manager: the code, nothing changed, the audit event, no value.

STYLE.md §6: a security test asserts the denial and its code, that nothing changed, that an
audit event records it (naming the deciding statement where the gate decided), and that no
secret bytes appear in any response or event.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lakevault.core.errors import AccessDenied
from lakevault.secrets import (
    DecryptionFailure,
    EncryptionFailure,
    InvalidRequestException,
    ResourceNotFoundException,
)
from tests.unit.secrets.conftest import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    TENANT_A,
    TENANT_B,
    SecretsWorld,
    table_counts,
)

VALUE = "s3cr3t-value-that-must-never-leak"
OPEN_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}
        ],
    }
)


def _denied(
    world: SecretsWorld, error: BaseException, *, code: str, account: str = TENANT_A
) -> dict[str, Any]:
    """The last event of ``account`` is a refusal with ``code``; neither names the value."""
    assert getattr(error, "code", None) == code
    assert VALUE not in str(error)
    event = world.last_event(account)
    assert event["errorCode"] == code
    assert VALUE not in world.audit_text(account)
    return event


def test_a_caller_without_an_allowing_policy_is_denied(world: SecretsWorld) -> None:
    created = world.secrets.create_secret(world.call(), "s", secret_string=VALUE)
    before = table_counts(world.database)
    for attempt in (
        lambda: world.secrets.get_secret_value(world.call(BOB), "s"),
        lambda: world.secrets.put_secret_value(world.call(BOB), "s", secret_string="x"),
        lambda: world.secrets.delete_secret(world.call(BOB), "s"),
        lambda: world.secrets.describe_secret(world.call(BOB), "s"),
    ):
        with pytest.raises(AccessDenied) as caught:
            attempt()
        event = _denied(world, caught.value, code="AccessDenied")
        assert event["resources"][0]["ARN"] == created.arn
        assert event["decision"]["effect"] == "ImplicitlyDenied"
    assert table_counts(world.database) == before


def test_an_explicit_deny_in_an_identity_policy_wins(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string=VALUE)
    # DAVE may describe, but his policy denies reads.
    assert world.secrets.describe_secret(world.call(DAVE), "s").name == "s"
    with pytest.raises(AccessDenied) as caught:
        world.secrets.get_secret_value(world.call(DAVE), "s")
    event = _denied(world, caught.value, code="AccessDenied")
    assert event["eventName"] == "GetSecretValue"
    assert event["decision"]["effect"] == "ExplicitlyDenied"
    assert [s["sid"] for s in event["decision"]["statements"]] == ["NoReads"]


def test_a_resource_policy_deny_refuses_even_an_allowed_caller(world: SecretsWorld) -> None:
    created = world.secrets.create_secret(world.call(), "s", secret_string=VALUE)
    world.secrets.put_resource_policy(
        world.call(),
        "s",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "NoReadsByAlice",
                        "Effect": "Deny",
                        "Principal": {"AWS": ALICE.arn},
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    with pytest.raises(AccessDenied) as caught:
        world.secrets.get_secret_value(world.call(ALICE), "s")
    event = _denied(world, caught.value, code="AccessDenied")
    assert event["decision"]["effect"] == "ExplicitlyDenied"
    statement = event["decision"]["statements"][0]
    assert statement["sid"] == "NoReadsByAlice"
    assert statement["policy"] == f"{created.arn}#resource-policy"


def test_a_resource_policy_condition_on_tags_decides(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string=VALUE, tags={"stage": "prod"})
    world.secrets.put_resource_policy(
        world.call(),
        "s",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ProdIsReadOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "secretsmanager:PutSecretValue",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:ResourceTag/stage": "prod"}},
                    }
                ],
            }
        ),
    )
    before = table_counts(world.database)
    with pytest.raises(AccessDenied) as caught:
        world.secrets.put_secret_value(world.call(), "s", secret_string="new")
    _denied(world, caught.value, code="AccessDenied")
    assert table_counts(world.database) == before


def test_a_disabled_service_key_refuses_reads_and_writes(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string=VALUE)
    (key,) = [k for k in world.keys.list_keys(world.key_call()) if k.is_service_key]
    world.keys.disable_key(world.key_call(), key.key_id)
    before = table_counts(world.database)

    with pytest.raises(DecryptionFailure) as caught:
        world.secrets.get_secret_value(world.call(), "s")
    event = _denied(world, caught.value, code="DecryptionFailure")
    assert event["eventName"] == "GetSecretValue"
    assert "disabled" in event["errorMessage"].lower() or "Disabled" in event["errorMessage"]
    kms_refusals = [e for e in world.events() if e.get("errorCode") == "DisabledException"]
    assert kms_refusals, "the key service records the refused use too"
    with pytest.raises(EncryptionFailure):
        world.secrets.put_secret_value(world.call(), "s", secret_string="new")
    assert table_counts(world.database) == before

    world.keys.enable_key(world.key_call(), key.key_id)
    assert world.secrets.get_secret_value(world.call(), "s").secret_string == VALUE


def test_a_disabled_customer_key_refuses_reads(world: SecretsWorld) -> None:
    key = world.keys.create_key(world.key_call(), description="team key")
    created = world.secrets.create_secret(
        world.call(), "s", secret_string=VALUE, kms_key_id=key.key_id
    )
    assert world.secrets.describe_secret(world.call(), "s").kms_key_id == key.key_id
    assert [k for k in world.keys.list_keys(world.key_call()) if k.is_service_key] == []
    assert world.secrets.get_secret_value(world.call(), created.arn).secret_string == VALUE

    world.keys.disable_key(world.key_call(), key.key_id)
    with pytest.raises(DecryptionFailure) as caught:
        world.secrets.get_secret_value(world.call(), "s")
    _denied(world, caught.value, code="DecryptionFailure")


def test_a_customer_key_needs_the_callers_own_kms_permission(world: SecretsWorld) -> None:
    key = world.keys.create_key(world.key_call(), description="team key")
    world.secrets.create_secret(world.call(), "s", secret_string=VALUE, kms_key_id=key.key_id)
    # DAVE holds secretsmanager:* minus reads, and no kms: permission at all.
    before = table_counts(world.database)
    with pytest.raises(AccessDenied) as caught:
        world.secrets.put_secret_value(world.call(DAVE), "s", secret_string="other")
    assert caught.value.code == "AccessDenied"
    # The key service records the key's denial, and the secrets manager the refused call.
    kms_denial, refusal = world.events()[-2:]
    assert kms_denial["eventSource"] == "kms.amazonaws.com"
    assert kms_denial["errorCode"] == "AccessDenied"
    assert refusal["eventSource"] == "secretsmanager.amazonaws.com"
    assert (refusal["eventName"], refusal["errorCode"]) == ("PutSecretValue", "AccessDenied")
    assert table_counts(world.database) == before


def test_another_tenant_cannot_read_write_or_find_a_secret(world: SecretsWorld) -> None:
    created = world.secrets.create_secret(world.call(), "s", secret_string=VALUE)
    before = table_counts(world.database)
    for attempt in (
        lambda: world.secrets.get_secret_value(world.call(CAROL), created.arn),
        lambda: world.secrets.put_secret_value(world.call(CAROL), created.arn, secret_string="x"),
        lambda: world.secrets.delete_secret(world.call(CAROL), created.arn),
        lambda: world.secrets.put_resource_policy(world.call(CAROL), created.arn, OPEN_POLICY),
    ):
        with pytest.raises(AccessDenied) as caught:
            attempt()
        assert VALUE not in str(caught.value)
    assert table_counts(world.database) == before
    # Both tenants' logs hold the cross-account denial; neither holds the value.
    assert world.last_event(TENANT_A)["errorCode"] == "AccessDenied"
    assert VALUE not in world.audit_text(TENANT_A) + world.audit_text(TENANT_B)
    # By name, CAROL finds only her own tenant's secrets.
    with pytest.raises(ResourceNotFoundException):
        world.secrets.get_secret_value(world.call(CAROL), "s")
    assert world.secrets.list_secrets(world.call(CAROL)) == []


def test_a_resource_policy_cannot_share_a_value_under_the_service_key(
    world: SecretsWorld,
) -> None:
    created = world.secrets.create_secret(world.call(), "s", secret_string=VALUE)
    world.secrets.put_resource_policy(
        world.call(),
        "s",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{TENANT_B}:root"},
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    with pytest.raises(AccessDenied, match="service key") as caught:
        world.secrets.get_secret_value(world.call(CAROL), created.arn)
    _denied(world, caught.value, code="AccessDenied")


def test_a_deleted_secret_refuses_every_change(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string=VALUE)
    world.secrets.delete_secret(world.call(), "s", recovery_window_in_days=7)
    before = table_counts(world.database)
    for attempt in (
        lambda: world.secrets.get_secret_value(world.call(), "s"),
        lambda: world.secrets.put_secret_value(world.call(), "s", secret_string="x"),
        lambda: world.secrets.rotate_secret(
            world.call(), "s", rotation_hook="lakevault-random-password"
        ),
        lambda: world.secrets.delete_secret(world.call(), "s"),
    ):
        with pytest.raises(InvalidRequestException) as caught:
            attempt()
        _denied(world, caught.value, code="InvalidRequestException")
    assert table_counts(world.database) == before


@pytest.mark.parametrize(
    ("version_id", "version_stage"),
    [("f" * 32, None), (None, "NOSUCHSTAGE"), ("VERSION", "AWSPREVIOUS")],
)
def test_a_wrong_version_or_stage_is_not_found_and_recorded(
    world: SecretsWorld, version_id: str | None, version_stage: str | None
) -> None:
    created = world.secrets.create_secret(world.call(), "s", secret_string=VALUE)
    if version_id == "VERSION":
        version_id = created.version_id  # exists, but is not AWSPREVIOUS
    with pytest.raises(ResourceNotFoundException) as caught:
        world.secrets.get_secret_value(
            world.call(), "s", version_id=version_id, version_stage=version_stage
        )
    event = _denied(world, caught.value, code="ResourceNotFoundException")
    assert event["eventName"] == "GetSecretValue"
    assert event["resources"][0]["ARN"] == created.arn
