"""``UpdateSecret`` (description, the key of new versions, a new value) and
``ListSecretVersionIds``, with their denials."""

from __future__ import annotations

import io

import pytest

from lakevault import kms
from lakevault.core.errors import AccessDenied
from lakevault.db import models
from lakevault.secrets import (
    AWSCURRENT,
    AWSPREVIOUS,
    DecryptionFailure,
    InvalidParameterException,
    InvalidRequestException,
)
from tests.unit.secrets.conftest import BOB, CAROL, SecretsWorld, table_counts


def _key_of(world: SecretsWorld, arn: str, version_id: str) -> str:
    with world.database.read_session() as session:
        row = session.get(models.SecretVersion, (arn, version_id))
        assert row is not None
        return kms.read_object_header(io.BytesIO(row.ciphertext)).key_id


def test_update_changes_the_description_and_is_recorded(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="v1", description="old")
    answer = world.secrets.update_secret(world.call(), "s", description="new")
    assert answer.version_id is None
    change = world.last_event()
    assert world.secrets.describe_secret(world.call(), "s").description == "new"
    assert change["eventName"] == "UpdateSecret"
    assert change["additionalEventData"]["stateChange"] is True
    with pytest.raises(InvalidParameterException):
        world.secrets.update_secret(world.call(), "s")


def test_a_new_key_seals_new_versions_and_old_ones_still_open(world: SecretsWorld) -> None:
    first = world.secrets.create_secret(world.call(), "s", secret_string="v1")
    assert first.version_id is not None
    service_key = _key_of(world, first.arn, first.version_id)
    tenant_key = world.keys.create_key(world.key_call()).key_id

    second = world.secrets.update_secret(
        world.call(), "s", kms_key_id=tenant_key, secret_string="v2"
    )
    assert second.version_id is not None
    assert _key_of(world, first.arn, second.version_id) == tenant_key
    assert world.secrets.describe_secret(world.call(), "s").kms_key_id == tenant_key
    assert world.secrets.get_secret_value(world.call(), "s").secret_string == "v2"
    previous = world.secrets.get_secret_value(world.call(), "s", version_stage=AWSPREVIOUS)
    assert previous.secret_string == "v1"  # still under the service key

    # A value written later goes under the new key too; disabling it stops only those.
    third = world.secrets.put_secret_value(world.call(), "s", secret_string="v3")
    assert third.version_id is not None
    assert _key_of(world, first.arn, third.version_id) == tenant_key
    world.keys.disable_key(world.key_call(), tenant_key)
    with pytest.raises(DecryptionFailure):
        world.secrets.get_secret_value(world.call(), "s")
    assert (
        world.secrets.get_secret_value(world.call(), "s", version_id=first.version_id).secret_string
        == "v1"
    )
    world.keys.enable_key(world.key_call(), tenant_key)

    # Back to the secret's own service key for new versions.
    fourth = world.secrets.update_secret(
        world.call(), "s", kms_key_id="alias/aws/secretsmanager", secret_string="v4"
    )
    assert fourth.version_id is not None
    assert _key_of(world, first.arn, fourth.version_id) == service_key
    assert world.secrets.get_secret_value(world.call(), "s").secret_string == "v4"


def test_a_secret_under_a_kms_key_cannot_go_back_to_a_service_key(world: SecretsWorld) -> None:
    key = world.keys.create_key(world.key_call()).key_id
    world.secrets.create_secret(world.call(), "s", secret_string="v1", kms_key_id=key)
    with pytest.raises(InvalidRequestException, match="no service key"):
        world.secrets.update_secret(world.call(), "s", kms_key_id="alias/aws/secretsmanager")
    assert world.last_event()["errorCode"] == "InvalidRequestException"


def test_a_key_the_caller_cannot_use_changes_nothing(world: SecretsWorld) -> None:
    world.secrets.create_secret(world.call(), "s", secret_string="v1")
    key = world.keys.create_key(world.key_call()).key_id
    world.keys.disable_key(world.key_call(), key)
    before = table_counts(world.database)
    with pytest.raises(Exception) as raised:
        world.secrets.update_secret(world.call(), "s", kms_key_id=key, secret_string="v2")
    assert raised.value.__class__.__name__ in ("EncryptionFailure", "AccessDenied")
    assert table_counts(world.database) == before
    assert world.secrets.describe_secret(world.call(), "s").kms_key_id is None
    assert world.secrets.get_secret_value(world.call(), "s").secret_string == "v1"


def test_update_is_denied_without_permission_and_across_tenants(world: SecretsWorld) -> None:
    created = world.secrets.create_secret(world.call(), "s", secret_string="v1")
    before = table_counts(world.database)
    with pytest.raises(AccessDenied):
        world.secrets.update_secret(world.call(BOB), "s", description="x")
    with pytest.raises(AccessDenied):
        world.secrets.update_secret(world.call(CAROL), created.arn, secret_string="x")
    assert table_counts(world.database) == before
    assert world.secrets.describe_secret(world.call(), "s").description == ""


def test_list_secret_version_ids_hides_deprecated_versions_unless_asked(
    world: SecretsWorld,
) -> None:
    first = world.secrets.create_secret(world.call(), "s", secret_string="v1")
    world.clock.advance(seconds=1)
    second = world.secrets.put_secret_value(world.call(), "s", secret_string="v2")
    world.clock.advance(seconds=1)
    third = world.secrets.put_secret_value(world.call(), "s", secret_string="v3")
    listed = world.secrets.list_secret_version_ids(world.call(), "s")
    assert [(v.version_id, v.version_stages) for v in listed] == [
        (second.version_id, (AWSPREVIOUS,)),
        (third.version_id, (AWSCURRENT,)),
    ]
    every = world.secrets.list_secret_version_ids(world.call(), "s", include_deprecated=True)
    assert [v.version_id for v in every] == [first.version_id, second.version_id, third.version_id]
    assert "v1" not in world.audit_text() and "v3" not in world.audit_text()
    with pytest.raises(AccessDenied):
        world.secrets.list_secret_version_ids(world.call(BOB), "s")
    with pytest.raises(AccessDenied):
        world.secrets.list_secret_version_ids(world.call(CAROL), first.arn)
