"""Each denial of issue 5 held against every secrets call it can meet.

* **Another tenant**: every operation on a secret, naming it by ARN, is ``AccessDenied`` for a
  principal of another tenant that holds ``secretsmanager:*`` in its own (no resource policy
  shares the secret).
* **A key-policy deny** and **a disabled key**: every operation that seals or opens a value
  (``CreateSecret``, ``PutSecretValue``, ``UpdateSecret`` with a value, ``RotateSecret``,
  ``GetSecretValue``) is refused under the secret's ``KmsKeyId`` when the key policy denies the
  caller, and under its service key or its ``KmsKeyId`` when that key is disabled.

``test_denials.py`` and ``test_denials_keys.py`` test each denial on a few operations; this
matrix holds the rest to them with STYLE.md §6's assertions: the error and its code, nothing
changed (rows, versions, labels and the secret's settings), the refusal in the audit log, and
no value in any error or event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from lakevault.core.errors import AccessDenied, LakevaultError
from lakevault.db import models
from lakevault.secrets import DecryptionFailure, EncryptionFailure, ResourceNotFoundException
from tests.unit.secrets.conftest import (
    CAROL,
    TENANT_A,
    TENANT_B,
    SecretsWorld,
    table_counts,
)

VALUE = "matrix-value-that-must-never-leak"
NEW_VALUE = "matrix-new-value-that-must-never-leak"
TOKEN = "0123456789abcdef0123456789abcdef"
HOOK = "lakevault-random-password"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}
        ],
    }
)

#: An operation on an existing secret, called by ``call`` on ``secret_id``.
Operation = Callable[[SecretsWorld, Any, str], object]

OPERATIONS: dict[str, Operation] = {
    "GetSecretValue": lambda w, c, s: w.secrets.get_secret_value(c, s),
    "PutSecretValue": lambda w, c, s: w.secrets.put_secret_value(
        c, s, secret_string=NEW_VALUE, client_request_token=TOKEN
    ),
    "UpdateSecret": lambda w, c, s: w.secrets.update_secret(c, s, description="taken"),
    "DescribeSecret": lambda w, c, s: w.secrets.describe_secret(c, s),
    "ListSecretVersionIds": lambda w, c, s: w.secrets.list_secret_version_ids(c, s),
    "DeleteSecret": lambda w, c, s: w.secrets.delete_secret(c, s, recovery_window_in_days=7),
    "RestoreSecret": lambda w, c, s: w.secrets.restore_secret(c, s),
    "RotateSecret": lambda w, c, s: w.secrets.rotate_secret(c, s, rotation_hook=HOOK),
    "UpdateSecretVersionStage": lambda w, c, s: w.secrets.update_secret_version_stage(
        c, s, "MINE", move_to_version_id=TOKEN
    ),
    "PutResourcePolicy": lambda w, c, s: w.secrets.put_resource_policy(c, s, POLICY),
    "GetResourcePolicy": lambda w, c, s: w.secrets.get_resource_policy(c, s),
    "DeleteResourcePolicy": lambda w, c, s: w.secrets.delete_resource_policy(c, s),
    "TagResource": lambda w, c, s: w.secrets.tag_resource(c, s, {"team": "blue"}),
    "UntagResource": lambda w, c, s: w.secrets.untag_resource(c, s, ["team"]),
}


def state(world: SecretsWorld, *, with_rotation: bool = True) -> tuple[object, ...]:
    """Everything a refused call must leave as it was (``RotateSecret`` saves its rotation
    settings before its steps run: ``with_rotation=False`` leaves them out)."""
    with world.database.read_session() as session:
        secrets = [
            (
                row.arn,
                row.description,
                row.kms_key_id,
                dict(row.tags or {}),
                row.policy,
                row.deleted_at,
                (row.rotation_enabled, row.rotation_hook) if with_rotation else None,
                row.last_changed_at,
            )
            for row in session.query(models.Secret).order_by(models.Secret.arn)
        ]
        labels = sorted(
            (stage.secret_arn, stage.stage, stage.version_id)
            for stage in session.query(models.SecretVersionStage)
        )
    return (table_counts(world.database), secrets, labels)


def _no_value_anywhere(world: SecretsWorld, error: BaseException) -> None:
    for value in (VALUE, NEW_VALUE):
        assert value not in str(error)
        assert value not in world.audit_text(TENANT_A) + world.audit_text(TENANT_B)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_another_tenant_is_denied_every_operation_on_a_secret(
    world: SecretsWorld, name: str
) -> None:
    created = world.secrets.create_secret(
        world.call(), "shared", secret_string=VALUE, tags={"team": "red"}
    )
    before, events_before = state(world), len(world.events(TENANT_A))
    with pytest.raises(AccessDenied) as caught:
        OPERATIONS[name](world, world.call(CAROL), created.arn)
    assert caught.value.code == "AccessDenied"
    assert state(world) == before
    # The owner's log records the other tenant's denied attempt, by its own name.
    denials = [
        e for e in world.events(TENANT_A)[events_before:] if e.get("errorCode") == "AccessDenied"
    ]
    assert [e["eventName"] for e in denials] == [name]
    assert denials[0]["userIdentity"]["accountId"] == TENANT_B
    _no_value_anywhere(world, caught.value)


# -- the secret's key: a key-policy deny and a disabled key ------------------------------------

#: Operations that seal or open a value, on a secret ``s`` that exists: what each raises when
#: the key refuses (the rotation names its failed step; the hook's message never shows).
VALUE_OPERATIONS: dict[str, tuple[Operation, type[LakevaultError], str]] = {
    "GetSecretValue": (OPERATIONS["GetSecretValue"], DecryptionFailure, "GetSecretValue"),
    "PutSecretValue": (OPERATIONS["PutSecretValue"], EncryptionFailure, "PutSecretValue"),
    "UpdateSecret": (
        lambda w, c, s: w.secrets.update_secret(
            c, s, secret_string=NEW_VALUE, client_request_token=TOKEN
        ),
        EncryptionFailure,
        "UpdateSecret",
    ),
    # RotateSecret opens the current value first (createSecret's input); its settings are
    # saved before the steps run, as AWS saves them before it invokes the function.
    "RotateSecret": (OPERATIONS["RotateSecret"], DecryptionFailure, "RotateSecret"),
}


def _create_under(world: SecretsWorld, key_id: str | None) -> str:
    return world.secrets.create_secret(
        world.call(), "s", secret_string=VALUE, kms_key_id=key_id
    ).arn


def _service_key(world: SecretsWorld) -> str:
    [key] = [k for k in world.keys.list_keys(world.key_call()) if k.is_service_key]
    return key.key_id


def _refused(
    world: SecretsWorld, name: str, arn: str, *, denied: type[LakevaultError] | None = None
) -> LakevaultError:
    operation, error, event_name = VALUE_OPERATIONS[name]
    with_rotation = name != "RotateSecret"
    before, events_before = state(world, with_rotation=with_rotation), len(world.events())
    with pytest.raises(denied or error) as caught:
        operation(world, world.call(), arn)
    assert state(world, with_rotation=with_rotation) == before
    new = [(e["eventName"], e.get("errorCode")) for e in world.events()[events_before:]]
    assert (event_name, caught.value.code) in new, new
    _no_value_anywhere(world, caught.value)
    return caught.value


@pytest.mark.parametrize("name", sorted(VALUE_OPERATIONS))
@pytest.mark.parametrize("key", ["service key", "KmsKeyId"])
def test_a_disabled_key_refuses_every_value_operation(
    world: SecretsWorld, name: str, key: str
) -> None:
    key_id = world.keys.create_key(world.key_call()).key_id if key == "KmsKeyId" else None
    arn = _create_under(world, key_id)
    world.keys.disable_key(world.key_call(), key_id or _service_key(world))
    _refused(world, name, arn)
    kms_refusals = [e for e in world.events() if e.get("errorCode") == "DisabledException"]
    assert kms_refusals, "the key service records the refused use too"


@pytest.mark.parametrize("name", sorted(VALUE_OPERATIONS))
def test_a_key_policy_deny_on_the_kms_key_refuses_every_value_operation(
    world: SecretsWorld, name: str
) -> None:
    key_id = world.keys.create_key(world.key_call()).key_id
    arn = _create_under(world, key_id)
    policy = json.loads(world.keys.get_key_policy(world.key_call(), key_id))
    policy["Statement"].append(
        {
            "Sid": "NoSecretsForAlice",
            "Effect": "Deny",
            "Principal": {"AWS": f"arn:aws:iam::{TENANT_A}:user/alice"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
        }
    )
    world.keys.put_key_policy(world.key_call(), key_id, json.dumps(policy))
    _refused(world, name, arn, denied=AccessDenied)
    kms_denials = [
        e
        for e in world.events()
        if e.get("errorCode") == "AccessDenied" and e["eventSource"] == "kms.amazonaws.com"
    ]
    assert any(s["sid"] == "NoSecretsForAlice" for s in kms_denials[-1]["decision"]["statements"])


def test_create_secret_under_a_refusing_key_creates_nothing(world: SecretsWorld) -> None:
    disabled = world.keys.create_key(world.key_call()).key_id
    world.keys.disable_key(world.key_call(), disabled)
    denied = world.keys.create_key(world.key_call()).key_id
    policy = json.loads(world.keys.get_key_policy(world.key_call(), denied))
    policy["Statement"].append(
        {
            "Sid": "NoNewSecrets",
            "Effect": "Deny",
            "Principal": {"AWS": f"arn:aws:iam::{TENANT_A}:user/alice"},
            "Action": "kms:GenerateDataKey",
            "Resource": "*",
        }
    )
    world.keys.put_key_policy(world.key_call(), denied, json.dumps(policy))
    before = state(world)
    for key_id, error in ((disabled, EncryptionFailure), (denied, AccessDenied)):
        with pytest.raises(error) as caught:
            world.secrets.create_secret(world.call(), "new", secret_string=VALUE, kms_key_id=key_id)
        assert state(world) == before
        _no_value_anywhere(world, caught.value)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_a_secret_that_does_not_exist_is_not_found_and_recorded(
    world: SecretsWorld, name: str
) -> None:
    """A caller the gate allows learns the secret is not there (``ResourceNotFoundException``),
    and the refusal is recorded after the allowed decision, as every refusal is."""
    before, events_before = state(world), len(world.events())
    with pytest.raises(ResourceNotFoundException) as caught:
        OPERATIONS[name](world, world.call(), "nosuch")
    assert state(world) == before
    new = [(e["eventName"], e.get("errorCode")) for e in world.events()[events_before:]]
    assert new == [(name, None), (name, "ResourceNotFoundException")]
    assert "nosuch" in str(caught.value)
