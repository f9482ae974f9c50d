"""The KMS API for principals: every operation through the gate, every denial tested.

A denial asserts the four things of STYLE.md §6: the error and its code, that nothing changed,
that the audit event records it (with the deciding statement or the error code), and that no
plaintext appears in the log.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lakevault import iam, kms
from lakevault.core.errors import AccessDenied, InvalidParameterValue, MalformedPolicyDocument
from lakevault.db import models
from lakevault.keys import (
    AlreadyExistsException,
    DisabledException,
    KeyNotFound,
    KeyService,
    KeyState,
    KMSInvalidStateException,
)
from tests.unit.keys.conftest import (
    ALICE,
    BOB,
    CAROL,
    TENANT_A,
    TENANT_B,
    KMSWorld,
    context,
    parameters,
)

SECRET = b"attack at dawn"
CONTEXT = context(purpose="test", team="red")


def new_key(world: KMSWorld, **options: object) -> str:
    return world.service.create_key(world.call(ALICE), **options).key_id  # type: ignore[arg-type]


def deny_statement(action: str = "kms:Decrypt", **extra: object) -> dict[str, object]:
    return {
        "Sid": "DenyIt",
        "Effect": "Deny",
        "Principal": {"AWS": f"arn:aws:iam::{TENANT_A}:root"},
        "Action": action,
        "Resource": "*",
        **extra,
    }


def add_to_policy(world: KMSWorld, key_id: str, statement: dict[str, object]) -> None:
    policy = json.loads(world.service.get_key_policy(world.call(ALICE), key_id))
    policy["Statement"].append(statement)
    world.service.put_key_policy(world.call(ALICE), key_id, json.dumps(policy))


def test_encrypt_decrypt_round_trip_records_the_context_not_the_plaintext(world: KMSWorld) -> None:
    key_id = new_key(world, description="mine")
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    assert SECRET not in ciphertext.blob and ciphertext.key_version == 1
    plaintext, record, version = world.service.decrypt(
        world.call(), ciphertext.blob, context=CONTEXT
    )
    assert plaintext == SECRET and record.key_id == key_id and version == 1
    decrypts = [e for e in world.events() if e["eventName"] == "Decrypt"]
    assert decrypts[-1]["eventSource"] == "kms.amazonaws.com"
    assert parameters(decrypts[-1])["encryptionContext"] == CONTEXT.as_dict()
    assert decrypts[-1]["resources"][0]["ARN"] == record.arn
    assert SECRET.decode() not in world.audit_text()


def test_describe_list_and_aliases(world: KMSWorld) -> None:
    key_id = new_key(world, description="d")
    world.service.create_alias(world.call(), "alias/red", key_id)
    assert world.service.describe_key(world.call(), "alias/red").key_id == key_id
    meta = world.service.describe_key(world.call(), f"arn:aws:kms:local:{TENANT_A}:alias/red")
    assert meta.state is KeyState.ENABLED and meta.description == "d"
    assert [k.key_id for k in world.service.list_keys(world.call())] == [key_id]
    assert [a.alias_name for a in world.service.list_aliases(world.call())] == ["alias/red"]
    with pytest.raises(AlreadyExistsException):
        world.service.create_alias(world.call(), "alias/red", key_id)
    with pytest.raises(InvalidParameterValue):
        world.service.create_alias(world.call(), "alias/aws/s3", key_id)
    world.service.delete_alias(world.call(), "alias/red")
    with pytest.raises(KeyNotFound):
        world.service.describe_key(world.call(), "alias/red")


def test_tags_are_resource_tags_for_conditions(world: KMSWorld) -> None:
    key_id = new_key(world, tags={"team": "red"})
    world.service.tag_resource(world.call(), key_id, {"env": "prod"})
    assert world.service.list_resource_tags(world.call(), key_id) == {"team": "red", "env": "prod"}
    world.service.untag_resource(world.call(), key_id, ["env"])
    assert world.service.list_resource_tags(world.call(), key_id) == {"team": "red"}
    world.policies.by_arn[BOB.arn] = (
        _policy_with_condition("kms:Encrypt", {"StringEquals": {"aws:ResourceTag/team": "blue"}}),
    )
    with pytest.raises(AccessDenied):
        world.service.encrypt(world.call(BOB), key_id, SECRET, context=CONTEXT)


def _policy_with_condition(action: str, condition: dict[str, object]) -> iam.Policy:
    return iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": action, "Resource": "*", "Condition": condition}
            ],
        },
        policy_id="bob-conditional",
    )


def test_iam_deny_without_an_identity_policy(world: KMSWorld) -> None:
    key_id = new_key(world)
    before = len(world.events())
    with pytest.raises(AccessDenied) as raised:
        world.service.encrypt(world.call(BOB), key_id, SECRET, context=CONTEXT)
    assert raised.value.code == "AccessDenied"
    events = world.events()[before:]
    assert len(events) == 1 and events[0]["errorCode"] == "AccessDenied"
    assert events[0]["eventName"] == "Encrypt"
    assert world.service.usage() == {}


def test_key_policy_deny_wins_over_the_identity_policy(world: KMSWorld) -> None:
    key_id = new_key(world)
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    add_to_policy(world, key_id, deny_statement())
    with pytest.raises(AccessDenied, match="explicit deny"):
        world.service.decrypt(world.call(), ciphertext.blob, context=CONTEXT)
    event = world.last_event()
    assert event["errorCode"] == "AccessDenied"
    assert any(s["sid"] == "DenyIt" for s in event["decision"]["statements"])
    assert SECRET.decode() not in world.audit_text()


def test_a_key_policy_without_the_tenant_root_locks_iam_users_out(world: KMSWorld) -> None:
    only_carol = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": CAROL.arn}, "Action": "kms:*", "Resource": "*"}
        ],
    }
    # The lockout safety check refuses it (tests/unit/keys/test_lockout.py) unless bypassed.
    key_id = new_key(world, policy=json.dumps(only_carol), bypass_policy_lockout_safety_check=True)
    with pytest.raises(AccessDenied):
        world.service.encrypt(world.call(ALICE), key_id, SECRET, context=CONTEXT)


def test_a_malformed_key_policy_is_refused(world: KMSWorld) -> None:
    with pytest.raises(MalformedPolicyDocument):
        world.service.create_key(world.call(), policy="{not json")
    assert world.service.list_keys(world.call()) == []


def test_encryption_context_conditions_in_the_key_policy(world: KMSWorld) -> None:
    key_id = new_key(world)
    add_to_policy(
        world,
        key_id,
        deny_statement(
            "kms:Encrypt",
            Condition={"StringNotEquals": {"kms:EncryptionContext:team": "red"}},
        ),
    )
    world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    with pytest.raises(AccessDenied):
        world.service.encrypt(world.call(), key_id, SECRET, context=context(team="blue"))
    assert parameters(world.last_event())["encryptionContext"] == {"team": "blue"}


def test_a_wrong_encryption_context_does_not_decrypt(world: KMSWorld) -> None:
    key_id = new_key(world)
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    with pytest.raises(kms.IntegrityError) as raised:
        world.service.decrypt(world.call(), ciphertext.blob, context=context(team="red"))
    assert raised.value.code == "InvalidCiphertextException"
    assert world.last_event()["errorCode"] == "InvalidCiphertextException"
    tampered = bytearray(ciphertext.blob)
    tampered[-1] ^= 1
    with pytest.raises(kms.IntegrityError):
        world.service.decrypt(world.call(), bytes(tampered), context=CONTEXT)


def test_a_disabled_key_refuses_use_after_the_gate(world: KMSWorld) -> None:
    key_id = new_key(world)
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    world.service.disable_key(world.call(), key_id)
    with pytest.raises(DisabledException) as raised:
        world.service.decrypt(world.call(), ciphertext.blob, context=CONTEXT)
    assert raised.value.code == "DisabledException"
    event = world.last_event()
    assert event["errorCode"] == "DisabledException" and event["eventName"] == "Decrypt"
    assert parameters(event)["encryptionContext"] == CONTEXT.as_dict()
    # A caller the gate denies learns nothing about the state.
    with pytest.raises(AccessDenied):
        world.service.decrypt(world.call(BOB), ciphertext.blob, context=CONTEXT)
    world.service.enable_key(world.call(), key_id)
    assert world.service.decrypt(world.call(), ciphertext.blob, context=CONTEXT)[0] == SECRET


def test_pending_deletion_refuses_use_and_cancel_brings_it_back_disabled(world: KMSWorld) -> None:
    key_id = new_key(world)
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    meta = world.service.schedule_key_deletion(world.call(), key_id, days=7)
    assert meta.state is KeyState.PENDING_DELETION and meta.deletion_date is not None
    with pytest.raises(KMSInvalidStateException):
        world.service.decrypt(world.call(), ciphertext.blob, context=CONTEXT)
    assert world.last_event()["errorCode"] == "KMSInvalidStateException"
    with pytest.raises(KMSInvalidStateException):
        world.service.enable_key(world.call(), key_id)
    assert world.service.cancel_key_deletion(world.call(), key_id).state is KeyState.DISABLED
    world.service.enable_key(world.call(), key_id)
    assert world.service.decrypt(world.call(), ciphertext.blob, context=CONTEXT)[0] == SECRET


def test_cross_tenant_a_bare_id_is_not_found_and_an_arn_is_denied(world: KMSWorld) -> None:
    key_id = new_key(world)
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    with pytest.raises(KeyNotFound):
        world.service.describe_key(world.call(CAROL), key_id)
    arn = f"arn:aws:kms:local:{TENANT_A}:key/{key_id}"
    with pytest.raises(AccessDenied):
        world.service.encrypt(world.call(CAROL), arn, SECRET, context=CONTEXT)
    with pytest.raises(AccessDenied):
        world.service.decrypt(world.call(CAROL), ciphertext.blob, context=CONTEXT)
    # Both tenants' logs record the denied cross-tenant decision.
    assert world.last_event(TENANT_B)["errorCode"] == "AccessDenied"
    assert world.last_event(TENANT_A)["errorCode"] == "AccessDenied"


def test_cross_tenant_use_works_when_the_key_policy_names_the_other_tenant(
    world: KMSWorld,
) -> None:
    key_id = new_key(world)
    add_to_policy(
        world,
        key_id,
        {
            "Sid": "ShareWithB",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{TENANT_B}:root"},
            "Action": ["kms:Decrypt"],
            "Resource": "*",
        },
    )
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    assert world.service.decrypt(world.call(CAROL), ciphertext.blob, context=CONTEXT)[0] == SECRET


def test_grants_allow_within_their_encryption_context_constraint(world: KMSWorld) -> None:
    key_id = new_key(world)
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    with pytest.raises(AccessDenied):
        world.service.decrypt(world.call(BOB), ciphertext.blob, context=CONTEXT)
    grant = world.service.create_grant(
        world.call(),
        key_id,
        grantee_principal=BOB.arn,
        operations=["Decrypt"],
        encryption_context_subset={"team": "red"},
    )
    assert world.service.decrypt(world.call(BOB), ciphertext.blob, context=CONTEXT)[0] == SECRET
    decided = world.events()[-1]
    assert decided.get("errorCode") is None
    assert any(s["sid"] == f"grant:{grant.grant_id}" for s in decided["decision"]["statements"])
    other = world.service.encrypt(world.call(), key_id, SECRET, context=context(team="blue"))
    with pytest.raises(AccessDenied):
        world.service.decrypt(world.call(BOB), other.blob, context=context(team="blue"))
    with pytest.raises(AccessDenied):
        world.service.encrypt(world.call(BOB), key_id, SECRET, context=CONTEXT)
    world.service.revoke_grant(world.call(), key_id, grant.grant_id)
    with pytest.raises(AccessDenied):
        world.service.decrypt(world.call(BOB), ciphertext.blob, context=CONTEXT)


def test_an_equals_grant_refuses_a_larger_context(world: KMSWorld) -> None:
    key_id = new_key(world)
    world.service.create_grant(
        world.call(),
        key_id,
        grantee_principal=BOB.arn,
        operations=["Encrypt", "Decrypt"],
        encryption_context_equals={"team": "red"},
    )
    ciphertext = world.service.encrypt(world.call(BOB), key_id, SECRET, context=context(team="red"))
    assert world.service.decrypt(world.call(BOB), ciphertext.blob, context=context(team="red"))
    with pytest.raises(AccessDenied):
        world.service.encrypt(world.call(BOB), key_id, SECRET, context=CONTEXT)
    with pytest.raises(AccessDenied):
        world.service.encrypt(world.call(BOB), key_id, SECRET, context=context())


def test_grant_parameters_are_validated(world: KMSWorld) -> None:
    key_id = new_key(world)
    with pytest.raises(InvalidParameterValue):
        world.service.create_grant(
            world.call(), key_id, grantee_principal=BOB.arn, operations=["DeleteEverything"]
        )
    with pytest.raises(InvalidParameterValue):
        world.service.create_grant(
            world.call(),
            key_id,
            grantee_principal=BOB.arn,
            operations=["Decrypt"],
            encryption_context_equals={},
            encryption_context_subset={},
        )
    assert world.service.list_grants(world.call(), key_id) == []


def test_generate_data_key_and_re_encrypt(world: KMSWorld) -> None:
    source = new_key(world)
    destination = new_key(world)
    plaintext, blob = world.service.generate_data_key_for(world.call(), source, context=CONTEXT)
    assert plaintext is not None and len(plaintext) == 32
    again, _, _ = world.service.decrypt(world.call(), blob.blob, context=CONTEXT)
    assert again == plaintext
    none, _ = world.service.generate_data_key_for(
        world.call(), source, context=CONTEXT, with_plaintext=False
    )
    assert none is None
    moved = world.service.re_encrypt(
        world.call(),
        blob.blob,
        source_context=CONTEXT,
        destination_key=destination,
        destination_context=context(moved="yes"),
    )
    assert moved.key_id == destination
    assert (
        world.service.decrypt(world.call(), moved.blob, context=context(moved="yes"))[0]
        == plaintext
    )
    names = [e["eventName"] for e in world.events()]
    assert "ReEncryptFrom" in names and "ReEncryptTo" in names


def test_rotation_keeps_old_ciphertexts_readable(world: KMSWorld) -> None:
    key_id = new_key(world)
    old = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    meta = world.service.enable_key_rotation(world.call(), key_id, period_days=90)
    assert meta.rotation_enabled and meta.next_rotation_date is not None
    with pytest.raises(InvalidParameterValue):
        world.service.enable_key_rotation(world.call(), key_id, period_days=30)
    assert world.service.rotate_due_keys() == 0
    world.clock.advance(seconds=91 * 86400)
    assert world.service.rotate_due_keys() == 1
    new = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    assert (old.key_version, new.key_version) == (1, 2)
    assert world.service.decrypt(world.call(), old.blob, context=CONTEXT)[0] == SECRET
    world.service.rotate_key_on_demand(world.call(), key_id)
    assert world.service.describe_key(world.call(), key_id).current_version == 3
    assert world.service.rotate_due_keys() == 0


def test_deletion_destroys_every_wrapped_copy_and_leaves_a_tombstone(world: KMSWorld) -> None:
    key_id = new_key(world)
    world.service.create_alias(world.call(), "alias/gone", key_id)
    world.service.rotate_key_on_demand(world.call(), key_id)
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    world.service.schedule_key_deletion(world.call(), key_id, days=7)
    assert world.service.destroy_due_keys() == 0
    world.clock.advance(seconds=7 * 86400 + 1)
    assert world.service.destroy_due_keys() == 1
    with world.database.read_session() as session:
        assert session.execute(select(models.KMSKeyVersion)).all() == []
        tombstone = session.get(models.KMSKeyTombstone, key_id)
        assert tombstone is not None and tombstone.versions_destroyed == 2
    with pytest.raises(kms.IntegrityError):
        world.service.decrypt(world.call(), ciphertext.blob, context=CONTEXT)
    with pytest.raises(KeyNotFound):
        world.service.describe_key(world.call(), "alias/gone")
    deleted = [e for e in world.events() if e["eventName"] == "DeleteKey"]
    assert len(deleted) == 1 and deleted[0]["responseElements"] == {"versionsDestroyed": 2}


def test_material_restored_from_an_old_backup_is_refused_without_the_override(
    world: KMSWorld,
) -> None:
    key_id = new_key(world)
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    with world.database.read_session() as session:
        key_row = session.get(models.KMSKey, key_id)
        assert key_row is not None
        backup_key = {c.name: getattr(key_row, c.name) for c in models.KMSKey.__table__.columns}
        backup_versions = [
            {c.name: getattr(v, c.name) for c in models.KMSKeyVersion.__table__.columns}
            for v in session.execute(select(models.KMSKeyVersion)).scalars()
        ]
    world.service.schedule_key_deletion(world.call(), key_id, days=7)
    world.clock.advance(seconds=8 * 86400)
    world.service.destroy_due_keys()
    # The operator restores the key's rows from a backup taken before the destruction.
    with world.database.session() as session:
        session.add(models.KMSKey(**backup_key))
        session.flush()
        for version in backup_versions:
            session.add(models.KMSKeyVersion(**version))
    world.service.materials.clear()
    with pytest.raises(KMSInvalidStateException, match="destroyed"):
        world.service.decrypt(world.call(), ciphertext.blob, context=CONTEXT)
    overridden = KeyService(
        database=world.database,
        gate=world.gate,
        audit=world.audit,
        wrapper=world.service.wrapper,
        clock=world.clock,
        random=world.service.random,
        region="local",
        allow_restored_destroyed_keys=True,
    )
    assert overridden.decrypt(world.call(), ciphertext.blob, context=CONTEXT)[0] == SECRET


def test_update_alias_needs_permission_on_both_keys(world: KMSWorld) -> None:
    first = new_key(world)
    second = new_key(world)
    world.service.create_alias(world.call(), "alias/moving", first)
    add_to_policy(world, second, deny_statement("kms:UpdateAlias"))
    with pytest.raises(AccessDenied):
        world.service.update_alias(world.call(), "alias/moving", second)
    assert world.service.describe_key(world.call(), "alias/moving").key_id == first
    third = new_key(world)
    moved = world.service.update_alias(world.call(), "alias/moving", third)
    assert moved.target_key_id == third
    assert world.service.describe_key(world.call(), "alias/moving").key_id == third
    with pytest.raises(KeyNotFound):
        world.service.update_alias(world.call(CAROL), "alias/moving", third)


def test_list_key_rotations_names_every_version_without_material(world: KMSWorld) -> None:
    key_id = new_key(world)
    world.service.rotate_key_on_demand(world.call(), key_id)
    versions = world.service.list_key_rotations(world.call(), key_id)
    assert [v.version for v in versions] == [1, 2]
    with pytest.raises(AccessDenied):
        world.service.list_key_rotations(world.call(BOB), key_id)


def test_a_grant_is_retired_by_its_retiring_principal_and_nobody_else(world: KMSWorld) -> None:
    key_id = new_key(world)
    ciphertext = world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
    first = world.service.create_grant(
        world.call(), key_id, grantee_principal=CAROL.arn, operations=["Decrypt"]
    )
    second = world.service.create_grant(
        world.call(),
        key_id,
        grantee_principal=CAROL.arn,
        operations=["Decrypt"],
        retiring_principal=BOB.arn,
    )
    # Bob has no IAM policy: only the grant's retiring principal statement lets him retire it,
    # and only that grant.
    with pytest.raises(AccessDenied):
        world.service.retire_grant(world.call(BOB), key_id, first.grant_id)
    world.service.retire_grant(world.call(BOB), key_id, second.grant_id)
    remaining = [g.grant_id for g in world.service.list_grants(world.call(), key_id)]
    assert remaining == [first.grant_id]
    assert any(
        s["sid"] == f"retire:{second.grant_id}"
        for e in world.events()
        if e["eventName"] == "RetireGrant" and e.get("decision")
        for s in e["decision"]["statements"]
    )
    assert world.service.decrypt(world.call(), ciphertext.blob, context=CONTEXT)[0] == SECRET


def test_a_grant_that_could_not_take_part_in_decisions_is_refused(world: KMSWorld) -> None:
    key_id = new_key(world)
    for grantee in ("s3.amazonaws.com", "arn:aws:iam::12:user/x", "*"):
        with pytest.raises(InvalidParameterValue):
            world.service.create_grant(
                world.call(), key_id, grantee_principal=grantee, operations=["Decrypt"]
            )
    assert world.service.list_grants(world.call(), key_id) == []
    world.service.encrypt(world.call(), key_id, SECRET, context=CONTEXT)
