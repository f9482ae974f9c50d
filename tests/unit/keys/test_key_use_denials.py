"""Every use of a key — Encrypt, Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext and
ReEncrypt — is refused for each of the issue's denials: a key-policy deny, a disabled key (and
one pending deletion), a wrong encryption context and another tenant; every other call on a key
is refused to another tenant and to a key-policy deny.

``test_key_api.py`` tests each denial on one operation; this matrix holds every operation to
them, with STYLE.md §6's four assertions: the error and its code; that nothing changed (no
use counted); the audit event naming the operation, the error code and, for a policy deny,
the deciding statement; and no plaintext in the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from lakevault import kms
from lakevault.core.errors import AccessDenied, LakevaultError
from lakevault.identity import Principal
from lakevault.keys import DisabledException, KMSInvalidStateException
from tests.unit.keys.conftest import ALICE, BOB, CAROL, TENANT_A, TENANT_B, KMSWorld, allow, context

SECRET = b"the plaintext nobody may log"
CONTEXT = context(purpose="matrix", team="red")
WRONG = context(purpose="matrix", team="blue")


@dataclass(frozen=True, slots=True, kw_only=True)
class Use:
    """One key-use operation: its action, the event that records a refusal, and how to call it
    on ``key`` (an id or ARN) with ``blob`` (a ciphertext of ``key`` under :data:`CONTEXT`)."""

    action: str
    event_name: str
    opens: bool  # whether the operation opens a ciphertext (a wrong context cannot open it)
    run: Callable[[KMSWorld, Principal, str, Keys, kms.EncryptionContext], object]


@dataclass(frozen=True, slots=True, kw_only=True)
class Keys:
    """The key under test, a ciphertext of it under :data:`CONTEXT`, and a second key of
    tenant A (ReEncrypt's destination, which every caller here may use)."""

    key_id: str
    arn: str
    blob: bytes
    destination_arn: str


def _encrypt(w: KMSWorld, who: Principal, key: str, _: Keys, ctx: kms.EncryptionContext) -> object:
    return w.service.encrypt(w.call(who), key, SECRET, context=ctx)


def _decrypt(w: KMSWorld, who: Principal, _: str, k: Keys, ctx: kms.EncryptionContext) -> object:
    return w.service.decrypt(w.call(who), k.blob, context=ctx)


def _generate(
    with_plaintext: bool,
) -> Callable[[KMSWorld, Principal, str, Keys, kms.EncryptionContext], object]:
    def run(w: KMSWorld, who: Principal, key: str, _: Keys, ctx: kms.EncryptionContext) -> object:
        return w.service.generate_data_key_for(
            w.call(who), key, context=ctx, with_plaintext=with_plaintext
        )

    return run


def _re_encrypt(w: KMSWorld, who: Principal, _: str, k: Keys, ctx: kms.EncryptionContext) -> object:
    return w.service.re_encrypt(
        w.call(who), k.blob, source_context=ctx, destination_key=k.destination_arn,
        destination_context=CONTEXT,
    )  # fmt: skip


USES = {
    "Encrypt": Use(action="kms:Encrypt", event_name="Encrypt", opens=False, run=_encrypt),
    "Decrypt": Use(action="kms:Decrypt", event_name="Decrypt", opens=True, run=_decrypt),
    "GenerateDataKey": Use(
        action="kms:GenerateDataKey",
        event_name="GenerateDataKey",
        opens=False,
        run=_generate(True),
    ),
    "GenerateDataKeyWithoutPlaintext": Use(
        action="kms:GenerateDataKeyWithoutPlaintext",
        event_name="GenerateDataKeyWithoutPlaintext",
        opens=False,
        run=_generate(False),
    ),
    "ReEncrypt": Use(
        action="kms:ReEncryptFrom", event_name="ReEncryptFrom", opens=True, run=_re_encrypt
    ),
}


def _keys(world: KMSWorld) -> Keys:
    created = world.service.create_key(world.call(ALICE))
    destination = world.service.create_key(world.call(ALICE))
    blob = world.service.encrypt(world.call(ALICE), created.key_id, SECRET, context=CONTEXT)
    return Keys(
        key_id=created.key_id, arn=created.arn, blob=blob.blob, destination_arn=destination.arn
    )


def _deny_in_key_policy(world: KMSWorld, key_id: str, statement: dict[str, object]) -> None:
    policy = json.loads(world.service.get_key_policy(world.call(ALICE), key_id))
    policy["Statement"].append(statement)
    world.service.put_key_policy(world.call(ALICE), key_id, json.dumps(policy))


def _refused(
    world: KMSWorld,
    use: Use,
    who: Principal,
    key: str,
    keys: Keys,
    ctx: kms.EncryptionContext,
    error: type[LakevaultError],
    code: str,
    *,
    account: str = TENANT_A,
) -> dict[str, Any]:
    """Run ``use`` expecting ``error``; check nothing was counted and no plaintext was logged;
    return the refusal's audit event."""
    usage = dict(world.service.usage())
    before = len(world.events(account))
    with pytest.raises(error) as raised:
        use.run(world, who, key, keys, ctx)
    assert raised.value.code == code
    assert dict(world.service.usage()) == usage
    new = world.events(account)[before:]
    refusals = [e for e in new if e.get("errorCode") == raised.value.code]
    assert refusals, f"no {raised.value.code} event among {[e['eventName'] for e in new]}"
    assert refusals[-1]["eventName"] == use.event_name
    for tenant in (TENANT_A, TENANT_B):
        text = world.audit_text(tenant)
        assert SECRET.decode() not in text and SECRET.hex() not in text
    return refusals[-1]


@pytest.mark.parametrize("name", sorted(USES))
def test_a_key_policy_deny_refuses_the_use(world: KMSWorld, name: str) -> None:
    use, keys = USES[name], _keys(world)
    _deny_in_key_policy(
        world,
        keys.key_id,
        {
            "Sid": "DenyThisUse",
            "Effect": "Deny",
            "Principal": {"AWS": f"arn:aws:iam::{TENANT_A}:root"},
            "Action": use.action,
            "Resource": "*",
        },
    )
    event = _refused(world, use, ALICE, keys.key_id, keys, CONTEXT, AccessDenied, "AccessDenied")
    statements = event["decision"]["statements"]
    assert any(s["sid"] == "DenyThisUse" for s in statements)


@pytest.mark.parametrize("name", sorted(USES))
def test_a_disabled_key_refuses_the_use(world: KMSWorld, name: str) -> None:
    use, keys = USES[name], _keys(world)
    world.service.disable_key(world.call(ALICE), keys.key_id)
    event = _refused(
        world, use, ALICE, keys.key_id, keys, CONTEXT, DisabledException, "DisabledException"
    )
    resources = event["resources"]
    assert [r["ARN"] for r in resources] == [keys.arn]
    # Enabled again, the same call works: the refusal was the state's alone.
    world.service.enable_key(world.call(ALICE), keys.key_id)
    use.run(world, ALICE, keys.key_id, keys, CONTEXT)


@pytest.mark.parametrize("name", sorted(USES))
def test_a_key_pending_deletion_refuses_the_use(world: KMSWorld, name: str) -> None:
    use, keys = USES[name], _keys(world)
    world.service.schedule_key_deletion(world.call(ALICE), keys.key_id, days=7)
    event = _refused(
        world, use, ALICE, keys.key_id, keys, CONTEXT, KMSInvalidStateException,
        "KMSInvalidStateException",
    )  # fmt: skip
    assert [r["ARN"] for r in event["resources"]] == [keys.arn]
    # Cancelled (the key comes back disabled) and enabled, the same call works.
    world.service.cancel_key_deletion(world.call(ALICE), keys.key_id)
    world.service.enable_key(world.call(ALICE), keys.key_id)
    use.run(world, ALICE, keys.key_id, keys, CONTEXT)


@pytest.mark.parametrize("name", sorted(USES))
def test_a_wrong_encryption_context_refuses_the_use(world: KMSWorld, name: str) -> None:
    """A ciphertext opens only under its own context (``InvalidCiphertextException``); a use
    that seals is held to the context by ``kms:EncryptionContext:*`` conditions."""
    use, keys = USES[name], _keys(world)
    if use.opens:
        _refused(
            world,
            use,
            ALICE,
            keys.key_id,
            keys,
            WRONG,
            kms.IntegrityError,
            "InvalidCiphertextException",
        )
        return
    _deny_in_key_policy(
        world,
        keys.key_id,
        {
            "Sid": "OnlyTheRedTeam",
            "Effect": "Deny",
            "Principal": {"AWS": f"arn:aws:iam::{TENANT_A}:root"},
            "Action": use.action,
            "Resource": "*",
            "Condition": {"StringNotEquals": {"kms:EncryptionContext:team": "red"}},
        },
    )
    event = _refused(world, use, ALICE, keys.key_id, keys, WRONG, AccessDenied, "AccessDenied")
    assert event["requestParameters"]["encryptionContext"] == WRONG.as_dict()
    use.run(world, ALICE, keys.key_id, keys, CONTEXT)


@pytest.mark.parametrize("name", sorted(USES))
def test_another_tenant_is_refused_the_use(world: KMSWorld, name: str) -> None:
    use, keys = USES[name], _keys(world)
    # Carol holds kms:* in her own tenant; the key policy names only tenant A.
    event = _refused(
        world, use, CAROL, keys.arn, keys, CONTEXT, AccessDenied, "AccessDenied", account=TENANT_B
    )
    assert event["recipientAccountId"] == TENANT_B
    owner_events = [e for e in world.events(TENANT_A) if e.get("errorCode") == "AccessDenied"]
    assert owner_events and owner_events[-1]["eventName"] == use.event_name


# -- the calls that manage a key ---------------------------------------------------------------

#: Every call that names one key and is not a use of its material, as (action, call).
ManageCall = Callable[[KMSWorld, Principal, str], object]
MANAGEMENT: dict[str, ManageCall] = {
    "DescribeKey": lambda w, who, k: w.service.describe_key(w.call(who), k),
    "EnableKey": lambda w, who, k: w.service.enable_key(w.call(who), k),
    "DisableKey": lambda w, who, k: w.service.disable_key(w.call(who), k),
    "ScheduleKeyDeletion": lambda w, who, k: w.service.schedule_key_deletion(w.call(who), k),
    "CancelKeyDeletion": lambda w, who, k: w.service.cancel_key_deletion(w.call(who), k),
    "EnableKeyRotation": lambda w, who, k: w.service.enable_key_rotation(w.call(who), k),
    "DisableKeyRotation": lambda w, who, k: w.service.disable_key_rotation(w.call(who), k),
    "GetKeyRotationStatus": lambda w, who, k: w.service.get_key_rotation_status(w.call(who), k),
    "ListKeyRotations": lambda w, who, k: w.service.list_key_rotations(w.call(who), k),
    "RotateKeyOnDemand": lambda w, who, k: w.service.rotate_key_on_demand(w.call(who), k),
    "GetKeyPolicy": lambda w, who, k: w.service.get_key_policy(w.call(who), k),
    "PutKeyPolicy": lambda w, who, k: w.service.put_key_policy(
        w.call(who), k, w.service.get_key_policy(w.call(ALICE), k.split("/")[-1])
    ),
    "TagResource": lambda w, who, k: w.service.tag_resource(w.call(who), k, {"team": "blue"}),
    "UntagResource": lambda w, who, k: w.service.untag_resource(w.call(who), k, ["team"]),
    "ListResourceTags": lambda w, who, k: w.service.list_resource_tags(w.call(who), k),
    "CreateGrant": lambda w, who, k: w.service.create_grant(
        w.call(who), k, grantee_principal=CAROL.arn, operations=["Decrypt"]
    ),
    "ListGrants": lambda w, who, k: w.service.list_grants(w.call(who), k),
}


def _key_state(world: KMSWorld, key_id: str) -> tuple[object, ...]:
    """What a refused management call must leave as it was."""
    meta = world.service.describe_key(world.call(ALICE), key_id)
    return (
        meta.state,
        meta.deletion_date,
        world.service.get_key_rotation_status(world.call(ALICE), key_id),
        len(world.service.list_key_rotations(world.call(ALICE), key_id)),
        world.service.get_key_policy(world.call(ALICE), key_id),
        world.service.list_resource_tags(world.call(ALICE), key_id),
        [g.grant_id for g in world.service.list_grants(world.call(ALICE), key_id)],
    )


def _management_refused(
    world: KMSWorld, name: str, who: Principal, key: str, key_id: str, *, account: str
) -> dict[str, Any]:
    before, events_before = _key_state(world, key_id), len(world.events(account))
    with pytest.raises(AccessDenied) as raised:
        MANAGEMENT[name](world, who, key)
    assert raised.value.code == "AccessDenied"
    denials = [
        e for e in world.events(account)[events_before:] if e.get("errorCode") == "AccessDenied"
    ]
    assert [e["eventName"] for e in denials] == [name]
    assert _key_state(world, key_id) == before
    return denials[0]


@pytest.mark.parametrize("name", sorted(MANAGEMENT))
def test_another_tenant_is_refused_every_call_on_a_key(world: KMSWorld, name: str) -> None:
    keys = _keys(world)
    world.service.tag_resource(world.call(ALICE), keys.key_id, {"team": "red"})
    event = _management_refused(world, name, CAROL, keys.arn, keys.key_id, account=TENANT_A)
    assert event["userIdentity"]["accountId"] == TENANT_B


@pytest.mark.parametrize("name", sorted(MANAGEMENT))
def test_a_key_policy_deny_refuses_every_call_on_a_key(world: KMSWorld, name: str) -> None:
    keys = _keys(world)
    world.service.tag_resource(world.call(ALICE), keys.key_id, {"team": "red"})
    # The deny names Bob's tenant root with Bob's own IAM allowance, so Alice, who changes
    # and inspects the key for the test, is not locked out.
    world.policies.by_arn[BOB.arn] = (allow("kms:*", policy_id="bob-kms"),)
    _deny_in_key_policy(
        world,
        keys.key_id,
        {
            "Sid": "NoManagementForBob",
            "Effect": "Deny",
            "Principal": {"AWS": BOB.arn},
            "Action": f"kms:{name}",
            "Resource": "*",
        },
    )
    event = _management_refused(world, name, BOB, keys.key_id, keys.key_id, account=TENANT_A)
    statements = event["decision"]["statements"]
    assert any(s["sid"] == "NoManagementForBob" for s in statements)
