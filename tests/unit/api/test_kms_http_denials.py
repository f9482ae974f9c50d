"""Every KMS route over HTTP, refused for each denial of issue 5.

``tests/unit/keys/test_key_use_denials.py`` holds the key service to the matrix; this module
holds the HTTP API to it, so a route that maps an error wrongly, calls the service twice or
skips it shows here. Each key use (Encrypt, Decrypt, GenerateDataKey,
GenerateDataKeyWithoutPlaintext, ReEncrypt) meets a key-policy deny, a disabled key, a key
pending deletion, a wrong encryption context and another tenant; each call that manages a key
meets another tenant and a key-policy deny. Each case asserts the HTTP status and AWS error
code, that nothing changed (the key's state, policy, tags, grants and rotations, and no use
counted), the refusal in the audit log under the call's own event name, and no plaintext in it.

The tenants, users and keys are made once per backend, on the ``denial_world`` fixture's
platform; every case must leave them as it found them, which is what it asserts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.unit.api.conftest import World
from tests.unit.api.denial_world import (
    KMS_TABLES,
    Tenant,
    audit_text,
    events,
    new_tenant,
    new_user,
    rows,
)

SECRET = b"the plaintext nobody may log"
CONTEXT = {"purpose": "matrix", "team": "red"}
WRONG = {"purpose": "matrix", "team": "blue"}
ALLOW_KMS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
}
USE_ACTIONS = {
    "Encrypt": "kms:Encrypt",
    "Decrypt": "kms:Decrypt",
    "GenerateDataKey": "kms:GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext": "kms:GenerateDataKeyWithoutPlaintext",
    "ReEncrypt": "kms:ReEncryptFrom",
}


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


@dataclass(frozen=True, slots=True, kw_only=True)
class Key:
    """A key of tenant A and a ciphertext of it under :data:`CONTEXT`."""

    key_id: str
    arn: str
    blob: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
    world: World
    owner: Tenant
    other: Tenant
    bob: dict[str, str]  # a user of the owner's tenant with kms:* in his identity policy
    destination: Key  # ReEncrypt's destination, which every caller of tenant A may use
    keys: dict[str, Key]
    grants: dict[str, str]  # a grant on each key, by key id

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        return self.world.client.post("/api/v1/kms" + path, json=body, headers=headers)


def _key(world: World, owner: Tenant, *, tags: dict[str, str] | None = None) -> Key:
    client = world.client
    created = client.post("/api/v1/kms/keys", json={"tags": tags or {}}, headers=owner.admin)
    assert created.status_code == 201, created.text
    meta = created.json()["keyMetadata"]
    sealed = client.post(
        "/api/v1/kms/encrypt",
        json={"keyId": meta["keyId"], "plaintext": b64(SECRET), "encryptionContext": CONTEXT},
        headers=owner.admin,
    )
    assert sealed.status_code == 200, sealed.text
    return Key(key_id=meta["keyId"], arn=meta["arn"], blob=sealed.json()["ciphertextBlob"])


def _add_statement(world: World, owner: Tenant, key_id: str, statement: dict[str, Any]) -> None:
    client = world.client
    policy = json.loads(
        client.post(
            "/api/v1/kms/get-key-policy", json={"keyId": key_id}, headers=owner.admin
        ).json()["policy"]
    )
    policy["Statement"].append(statement)
    put = client.post(
        "/api/v1/kms/put-key-policy",
        json={"keyId": key_id, "policy": json.dumps(policy)},
        headers=owner.admin,
    )
    assert put.status_code == 204, put.text


@pytest.fixture(scope="module")
def setup(denial_world: World) -> Iterator[Setup]:
    world = denial_world
    owner, other = new_tenant(world, "kms-owner"), new_tenant(world, "kms-other")
    bob = new_user(world, owner, "bob", ALLOW_KMS)
    keys = {name: _key(world, owner, tags={"team": "red"}) for name in (
        "policy", "disabled", "pending", "context", "shared", "managed",
    )}  # fmt: skip
    root = f"arn:aws:iam::{owner.account}:root"
    _add_statement(world, owner, keys["policy"].key_id, {
        "Sid": "DenyEveryUse", "Effect": "Deny", "Principal": {"AWS": root},
        "Action": sorted(USE_ACTIONS.values()), "Resource": "*",
    })  # fmt: skip
    _add_statement(world, owner, keys["context"].key_id, {
        "Sid": "OnlyTheRedTeam", "Effect": "Deny", "Principal": {"AWS": root},
        "Action": sorted(USE_ACTIONS[name] for name, use in USES.items() if not use.opens),
        "Resource": "*",
        "Condition": {"StringNotEquals": {"kms:EncryptionContext:team": "red"}},
    })  # fmt: skip
    _add_statement(world, owner, keys["managed"].key_id, {
        "Sid": "NoManagementForBob", "Effect": "Deny",
        "Principal": {"AWS": f"arn:aws:iam::{owner.account}:user/bob"},
        "Action": sorted({f"kms:{name}" for name in MANAGEMENT} | set(OTHER_ACTIONS)),
        "Resource": "*",
    })  # fmt: skip
    client = world.client
    grants = {}
    for key in keys.values():
        answer = client.post("/api/v1/kms/create-grant", json={
            "keyId": key.key_id, "granteePrincipal": f"arn:aws:iam::{owner.account}:root",
            "operations": ["Decrypt"],
        }, headers=owner.admin)  # fmt: skip
        assert answer.status_code == 201, answer.text
        grants[key.key_id] = answer.json()["grantId"]
    for alias, key in (("alias/shared", keys["shared"]), ("alias/managed", keys["managed"])):
        answer = client.post(
            "/api/v1/kms/create-alias",
            json={"aliasName": alias, "targetKeyId": key.key_id},
            headers=owner.admin,
        )
        assert answer.status_code == 201, answer.text
    mine = _key(world, other)
    answer = client.post(
        "/api/v1/kms/create-alias",
        json={"aliasName": "alias/mine", "targetKeyId": mine.key_id},
        headers=other.admin,
    )
    assert answer.status_code == 201, answer.text
    # Bob may manage a key whose policy does not deny him: his refusals are the policy's.
    allowed = client.post(
        "/api/v1/kms/describe-key", json={"keyId": keys["shared"].key_id}, headers=bob
    )
    assert allowed.status_code == 200, allowed.text
    for path, key, extra in (
        ("/disable-key", keys["disabled"], {}),
        ("/schedule-key-deletion", keys["pending"], {"pendingWindowInDays": 7}),
    ):
        done = client.post(
            "/api/v1/kms" + path, json={"keyId": key.key_id, **extra}, headers=owner.admin
        )
        assert done.status_code == 200, done.text
    yield Setup(
        world=world,
        owner=owner,
        other=other,
        bob=bob,
        destination=_key(world, owner),
        keys=keys,
        grants=grants,
    )


# -- the uses of a key ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Use:
    path: str
    event_name: str
    opens: bool  # opens a ciphertext: a wrong context cannot open it
    body: Callable[[Setup, str, Key, dict[str, str]], dict[str, Any]]


def _gdk(s: Setup, ref: str, _: Key, ctx: dict[str, str]) -> dict[str, Any]:
    return {"keyId": ref, "encryptionContext": ctx, "numberOfBytes": 32}


USES = {
    "Encrypt": Use(
        path="/encrypt", event_name="Encrypt", opens=False,
        body=lambda s, ref, k, ctx: {
            "keyId": ref, "plaintext": b64(SECRET), "encryptionContext": ctx
        },
    ),
    "Decrypt": Use(
        path="/decrypt", event_name="Decrypt", opens=True,
        body=lambda s, ref, k, ctx: {"ciphertextBlob": k.blob, "encryptionContext": ctx},
    ),
    "GenerateDataKey": Use(
        path="/generate-data-key", event_name="GenerateDataKey", opens=False, body=_gdk
    ),
    "GenerateDataKeyWithoutPlaintext": Use(
        path="/generate-data-key-without-plaintext",
        event_name="GenerateDataKeyWithoutPlaintext", opens=False, body=_gdk,
    ),
    "ReEncrypt": Use(
        path="/re-encrypt", event_name="ReEncryptFrom", opens=True,
        body=lambda s, ref, k, ctx: {
            "ciphertextBlob": k.blob, "sourceEncryptionContext": ctx,
            "destinationKeyId": s.destination.arn, "destinationEncryptionContext": CONTEXT,
        },
    ),
}  # fmt: skip


def _key_state(s: Setup, key: Key) -> tuple[object, ...]:
    """What a refused call must leave as it was: every row of the KMS's tables (every key's
    state, versions, policy, tags, grants and aliases), and the key as its owner describes it."""
    described = s.post("/describe-key", {"keyId": key.key_id}, s.owner.admin)
    assert described.status_code == 200, described.text
    return (rows(s.world, KMS_TABLES), described.json())


def _refused(
    s: Setup,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    key: Key,
    *,
    status: int,
    code: str,
    event_name: str,
    accounts: tuple[str, ...],
) -> dict[str, Any]:
    """Call ``path`` expecting ``status`` and ``code``; check nothing changed and that each of
    ``accounts`` recorded the refusal under ``event_name``; return the first one's event."""
    platform = s.world.platform
    before, usage = _key_state(s, key), dict(platform.keys.usage())
    counts = {account: len(events(s.world, account)) for account in accounts}
    answer = s.post(path, body, headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code, answer.text
    assert dict(platform.keys.usage()) == usage, "a refused call counted a use"
    assert _key_state(s, key) == before, "a refused call changed the key"
    found = []
    for account in accounts:
        new = events(s.world, account)[counts[account] :]
        refusals = [e for e in new if e.get("errorCode") == code]
        assert refusals, f"{account} recorded no {code}: {[e['eventName'] for e in new]}"
        assert refusals[-1]["eventName"] == event_name, [e["eventName"] for e in refusals]
        found.append(refusals[-1])
    text = audit_text(s.world, s.owner.account, s.other.account) + answer.text
    assert SECRET.decode() not in text and b64(SECRET) not in text
    return found[0]


def _statement_sids(event: dict[str, Any]) -> list[str]:
    return [statement["sid"] for statement in event["decision"]["statements"]]


@pytest.mark.parametrize("name", sorted(USES))
def test_a_key_policy_deny_refuses_the_use(setup: Setup, name: str) -> None:
    use, key = USES[name], setup.keys["policy"]
    event = _refused(
        setup, use.path, use.body(setup, key.key_id, key, CONTEXT), setup.owner.admin, key,
        status=403, code="AccessDenied", event_name=use.event_name,
        accounts=(setup.owner.account,),
    )  # fmt: skip
    assert "DenyEveryUse" in _statement_sids(event)


@pytest.mark.parametrize("name", sorted(USES))
def test_a_disabled_key_refuses_the_use(setup: Setup, name: str) -> None:
    use, key = USES[name], setup.keys["disabled"]
    event = _refused(
        setup, use.path, use.body(setup, key.key_id, key, CONTEXT), setup.owner.admin, key,
        status=400, code="DisabledException", event_name=use.event_name,
        accounts=(setup.owner.account,),
    )  # fmt: skip
    assert [r["ARN"] for r in event["resources"]] == [key.arn]


@pytest.mark.parametrize("name", sorted(USES))
def test_a_key_pending_deletion_refuses_the_use(setup: Setup, name: str) -> None:
    use, key = USES[name], setup.keys["pending"]
    event = _refused(
        setup, use.path, use.body(setup, key.key_id, key, CONTEXT), setup.owner.admin, key,
        status=400, code="KMSInvalidStateException", event_name=use.event_name,
        accounts=(setup.owner.account,),
    )  # fmt: skip
    assert [r["ARN"] for r in event["resources"]] == [key.arn]


@pytest.mark.parametrize("name", sorted(USES))
def test_a_wrong_encryption_context_refuses_the_use(setup: Setup, name: str) -> None:
    """A ciphertext opens only under its own context; a use that seals is held to the context
    by the key policy's ``kms:EncryptionContext:team`` condition. The right context works."""
    use, key = USES[name], setup.keys["context"]
    if use.opens:
        _refused(
            setup, use.path, use.body(setup, key.key_id, key, WRONG), setup.owner.admin, key,
            status=400, code="InvalidCiphertextException", event_name=use.event_name,
            accounts=(setup.owner.account,),
        )  # fmt: skip
    else:
        event = _refused(
            setup, use.path, use.body(setup, key.key_id, key, WRONG), setup.owner.admin, key,
            status=403, code="AccessDenied", event_name=use.event_name,
            accounts=(setup.owner.account,),
        )  # fmt: skip
        assert "OnlyTheRedTeam" in _statement_sids(event)
        assert event["requestParameters"]["encryptionContext"] == WRONG
    right = setup.post(use.path, use.body(setup, key.key_id, key, CONTEXT), setup.owner.admin)
    assert right.status_code == 200, right.text


@pytest.mark.parametrize("name", sorted(USES))
def test_another_tenant_is_refused_the_use(setup: Setup, name: str) -> None:
    """The other tenant's admin holds ``*`` in its own account and names the key by ARN; the
    key policy names only the owner. Both accounts' logs record the refusal."""
    use, key = USES[name], setup.keys["shared"]
    event = _refused(
        setup, use.path, use.body(setup, key.arn, key, CONTEXT), setup.other.admin, key,
        status=403, code="AccessDenied", event_name=use.event_name,
        accounts=(setup.other.account, setup.owner.account),
    )  # fmt: skip
    assert event["recipientAccountId"] == setup.other.account


def test_another_tenant_naming_a_key_by_its_bare_id_finds_nothing(setup: Setup) -> None:
    """A bare key id names a key of the caller's own account: another tenant's is not there."""
    key = setup.keys["shared"]
    before = _key_state(setup, key)
    for path, body, name in (
        ("/describe-key", {"keyId": key.key_id}, "DescribeKey"),
        ("/encrypt", {"keyId": key.key_id, "plaintext": b64(SECRET)}, "Encrypt"),
        ("/disable-key", {"keyId": key.key_id}, "DisableKey"),
    ):
        count = len(events(setup.world, setup.other.account))
        answer = setup.post(path, body, setup.other.admin)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "NotFoundException")
        # Recorded in the caller's own log, where the bare id pointed (ADR 0234).
        new = events(setup.world, setup.other.account)[count:]
        assert (name, "NotFoundException") in [(e["eventName"], e.get("errorCode")) for e in new]
    assert _key_state(setup, key) == before


# -- the calls that manage a key -----------------------------------------------------------------


def _policy_of(s: Setup, key: Key) -> str:
    answer = s.post("/get-key-policy", {"keyId": key.key_id}, s.owner.admin)
    return str(answer.json()["policy"])


#: Every route that names one key and does not use its material: its event name, path and body.
MANAGEMENT: dict[str, tuple[str, Callable[[Setup, str, Key], dict[str, Any]]]] = {
    "DescribeKey": ("/describe-key", lambda s, ref, k: {"keyId": ref}),
    "EnableKey": ("/enable-key", lambda s, ref, k: {"keyId": ref}),
    "DisableKey": ("/disable-key", lambda s, ref, k: {"keyId": ref}),
    "ScheduleKeyDeletion": (
        "/schedule-key-deletion", lambda s, ref, k: {"keyId": ref, "pendingWindowInDays": 7}
    ),
    "CancelKeyDeletion": ("/cancel-key-deletion", lambda s, ref, k: {"keyId": ref}),
    "EnableKeyRotation": ("/enable-key-rotation", lambda s, ref, k: {"keyId": ref}),
    "DisableKeyRotation": ("/disable-key-rotation", lambda s, ref, k: {"keyId": ref}),
    "GetKeyRotationStatus": ("/get-key-rotation-status", lambda s, ref, k: {"keyId": ref}),
    "ListKeyRotations": ("/list-key-rotations", lambda s, ref, k: {"keyId": ref}),
    "RotateKeyOnDemand": ("/rotate-key-on-demand", lambda s, ref, k: {"keyId": ref}),
    "GetKeyPolicy": ("/get-key-policy", lambda s, ref, k: {"keyId": ref}),
    "PutKeyPolicy": (
        "/put-key-policy", lambda s, ref, k: {"keyId": ref, "policy": _policy_of(s, k)}
    ),
    "TagResource": ("/tag-resource", lambda s, ref, k: {"keyId": ref, "tags": {"team": "blue"}}),
    "UntagResource": ("/untag-resource", lambda s, ref, k: {"keyId": ref, "tagKeys": ["team"]}),
    "ListResourceTags": ("/list-resource-tags", lambda s, ref, k: {"keyId": ref}),
    "CreateGrant": (
        "/create-grant",
        lambda s, ref, k: {
            "keyId": ref,
            "granteePrincipal": f"arn:aws:iam::{s.other.account}:root",
            "operations": ["Decrypt"],
        },
    ),
    "ListGrants": ("/list-grants", lambda s, ref, k: {"keyId": ref}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MANAGEMENT))
def test_another_tenant_is_refused_every_call_on_a_key(setup: Setup, name: str) -> None:
    path, body = MANAGEMENT[name]
    key = setup.keys["shared"]
    event = _refused(
        setup, path, body(setup, key.arn, key), setup.other.admin, key,
        status=403, code="AccessDenied", event_name=name,
        accounts=(setup.owner.account, setup.other.account),
    )  # fmt: skip
    assert event["userIdentity"]["accountId"] == setup.other.account


@pytest.mark.parametrize("name", sorted(MANAGEMENT))
def test_a_key_policy_deny_refuses_every_call_on_a_key(setup: Setup, name: str) -> None:
    """Bob holds ``kms:*`` in his identity policy; the key policy denies him each call."""
    path, body = MANAGEMENT[name]
    key = setup.keys["managed"]
    event = _refused(
        setup, path, body(setup, key.key_id, key), setup.bob, key,
        status=403, code="AccessDenied", event_name=name, accounts=(setup.owner.account,),
    )  # fmt: skip
    assert "NoManagementForBob" in _statement_sids(event)


# -- the other routes that name a key: rewrap, grants and aliases ------------------------------

#: The action each of these routes needs, denied to Bob on the managed key.
OTHER_ACTIONS = (
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:ReEncryptFrom",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:UpdateAlias",
)


def _alias_arn(key: Key, alias: str) -> str:
    return key.arn.split(":key/")[0] + ":" + alias


#: name -> (path, body for a key named ``ref``, the event that records a refusal).
OTHERS: dict[str, tuple[str, Callable[[Setup, str, Key], dict[str, Any]], str]] = {
    "Rewrap": ("/rewrap", lambda s, ref, k: {"keyId": ref}, "ReEncryptFrom"),
    "RevokeGrant": (
        "/revoke-grant", lambda s, ref, k: {"keyId": ref, "grantId": s.grants[k.key_id]},
        "RevokeGrant",
    ),
    "RetireGrant": (
        "/retire-grant", lambda s, ref, k: {"keyId": ref, "grantId": s.grants[k.key_id]},
        "RetireGrant",
    ),
    "CreateAlias": (
        "/create-alias", lambda s, ref, k: {"aliasName": "alias/new", "targetKeyId": ref},
        "CreateAlias",
    ),
    "UpdateAlias": (
        "/update-alias",
        lambda s, ref, k: {
            "aliasName": "alias/managed" if ref == k.key_id else "alias/mine", "targetKeyId": ref
        },
        "UpdateAlias",
    ),
    "DeleteAlias": (
        "/delete-alias",
        lambda s, ref, k: {
            "aliasName": "alias/managed" if ref == k.key_id else _alias_arn(k, "alias/shared")
        },
        "DeleteAlias",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_a_key_policy_deny_refuses_the_other_routes_on_a_key(setup: Setup, name: str) -> None:
    path, body, event_name = OTHERS[name]
    key = setup.keys["managed"]
    event = _refused(
        setup, path, body(setup, key.key_id, key), setup.bob, key,
        status=403, code="AccessDenied", event_name=event_name, accounts=(setup.owner.account,),
    )  # fmt: skip
    assert "NoManagementForBob" in _statement_sids(event)


@pytest.mark.parametrize("name", sorted(set(OTHERS) - {"DeleteAlias"}))
def test_another_tenant_is_refused_the_other_routes_on_a_key(setup: Setup, name: str) -> None:
    """CreateAlias and UpdateAlias name the other tenant's key by ARN as their target; the
    gate refuses them as it refuses every other call. (DeleteAlias names an alias of the
    caller's own tenant only: ``AliasName`` takes no ARN.)"""
    path, body, event_name = OTHERS[name]
    key = setup.keys["shared"]
    _refused(
        setup, path, body(setup, key.arn, key), setup.other.admin, key,
        status=403, code="AccessDenied", event_name=event_name,
        accounts=(setup.owner.account, setup.other.account),
    )  # fmt: skip


@pytest.mark.parametrize("state", ["disabled", "pending"])
def test_rewrap_refuses_a_key_that_is_not_enabled(setup: Setup, state: str) -> None:
    key = setup.keys[state]
    code = "DisabledException" if state == "disabled" else "KMSInvalidStateException"
    _refused(
        setup, "/rewrap", {"keyId": key.key_id}, setup.owner.admin, key,
        status=400, code=code, event_name="ReEncrypt", accounts=(setup.owner.account,),
    )  # fmt: skip
