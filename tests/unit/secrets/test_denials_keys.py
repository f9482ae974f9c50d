"""Denials that come from the secret's KMS key: a key-policy Deny for the service or for the
caller, and a value moved to another secret or version (the wrong encryption context)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from lakevault.core.errors import AccessDenied
from lakevault.db import models
from lakevault.secrets import DecryptionFailure
from tests.unit.secrets.conftest import TENANT_A, SecretsWorld, table_counts

VALUE = "correct horse battery staple"


def _policy(*statements: dict[str, object]) -> str:
    root = {
        "Sid": "Root",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{TENANT_A}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [root, *statements]})


def _service_key(world: SecretsWorld) -> str:
    [key] = [k for k in world.keys.list_keys(world.key_call()) if k.is_service_key]
    return key.key_id


def test_a_key_policy_deny_for_the_service_cuts_the_secret_off(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string=VALUE)
    deny = {
        "Effect": "Deny",
        "Principal": {"Service": "secretsmanager.amazonaws.com"},
        "Action": "kms:*",
        "Resource": "*",
    }
    world.keys.put_key_policy(world.key_call(), _service_key(world), _policy(deny))
    before = table_counts(world.database)
    with pytest.raises(AccessDenied):
        world.secrets.get_secret_value(world.call(), "s")
    with pytest.raises(AccessDenied):
        world.secrets.put_secret_value(world.call(), "s", secret_string="new")
    assert table_counts(world.database) == before
    refusals = [e for e in world.events() if e.get("errorCode") == "AccessDenied"]
    assert any(e["eventSource"] == "kms.amazonaws.com" for e in refusals)
    assert VALUE not in world.audit_text()


def test_a_key_policy_deny_for_the_caller_on_its_kms_key_refuses_reads(
    world: SecretsWorld,
) -> None:
    key = world.keys.create_key(world.key_call()).key_id
    world.secrets.create_secret(world.call(), "s", secret_string=VALUE, kms_key_id=key)
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": f"arn:aws:iam::{TENANT_A}:user/alice"},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    world.keys.put_key_policy(world.key_call(), key, _policy(deny))
    with pytest.raises(AccessDenied):
        world.secrets.get_secret_value(world.call(), "s")


@pytest.mark.parametrize("under_kms_key", [False, True])
def test_a_value_moved_to_another_version_or_secret_does_not_open(
    world: SecretsWorld, under_kms_key: bool
) -> None:
    key = world.keys.create_key(world.key_call()).key_id if under_kms_key else None
    first = world.secrets.create_secret(world.call(), "a", secret_string=VALUE, kms_key_id=key)
    second = world.secrets.put_secret_value(world.call(), "a", secret_string="other value")
    assert first.version_id is not None and second.version_id is not None
    # An operator with the database swaps the ciphertexts: each is bound to its own secret
    # ARN and version id (the encryption context), so neither opens in the other's place.
    with world.database.session() as session:
        rows = {
            row.version_id: row
            for row in session.query(models.SecretVersion).filter_by(secret_arn=first.arn)
        }
        old, new = rows[first.version_id], rows[second.version_id]
        old_bytes, new_bytes = bytes(old.ciphertext), bytes(new.ciphertext)
        session.execute(
            update(models.SecretVersion)
            .where(models.SecretVersion.secret_arn == first.arn)
            .where(models.SecretVersion.version_id == second.version_id)
            .values(ciphertext=old_bytes, wrapped_data_key=old.wrapped_data_key)
        )
        session.execute(
            update(models.SecretVersion)
            .where(models.SecretVersion.secret_arn == first.arn)
            .where(models.SecretVersion.version_id == first.version_id)
            .values(ciphertext=new_bytes, wrapped_data_key=new.wrapped_data_key)
        )
    with pytest.raises(DecryptionFailure):
        world.secrets.get_secret_value(world.call(), "a")
    with pytest.raises(DecryptionFailure):
        world.secrets.get_secret_value(world.call(), "a", version_id=first.version_id)
    assert world.last_event()["errorCode"] == "DecryptionFailure"
