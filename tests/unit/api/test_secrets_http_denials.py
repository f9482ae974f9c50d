"""Every secrets route over HTTP, refused for each denial of issue 5 it can meet.

``tests/unit/secrets/test_denials_matrix.py`` holds the secrets manager to the matrix; this
module holds the HTTP API to it:

* **another tenant** (its admin holds ``*`` in its own account) is refused every route that
  names a secret, naming it by ARN, and CreateSecret under the owner's KMS key;
* **a resource-policy deny** on the secret refuses every route that names it;
* **a key-policy deny** on the secret's ``KmsKeyId`` and **a disabled key** (its ``KmsKeyId``,
  or the tenant's service key) refuse every route that seals or opens a value.

Each case asserts the HTTP status and AWS error code, that nothing changed (every row of the
secrets' and the KMS's tables), the refusal in the audit log under the call's own event name,
and no value anywhere in the answer or the logs. Tenants, users, keys and secrets are made once
per module and backend (the ``denial_world`` fixture).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.unit.api.conftest import World
from tests.unit.api.denial_world import (
    KMS_TABLES,
    SECRETS_TABLES,
    Tenant,
    audit_text,
    events,
    new_tenant,
    new_user,
    rows,
)

VALUE = "matrix-value-that-must-never-leak"
NEW_VALUE = "matrix-new-value-that-must-never-leak"
TOKEN = "0123456789abcdef0123456789abcdef"
HOOK = "lakevault-random-password"
ALLOW_EVERYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:*", "kms:*"], "Resource": "*"}],
}
SHARE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}
        ],
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Setup:
    world: World
    owner: Tenant
    other: Tenant
    lone: Tenant  # a tenant whose service key is disabled
    bob: dict[str, str]  # a user of the owner's tenant; the "denied" key's policy denies him
    reader: dict[str, str]  # a user of the owner's tenant allowed two read actions, no more
    arns: dict[str, str]  # secret ARNs by name
    keys: dict[str, str]  # KMS key ARNs by name

    def request(self, method: str, path: str, headers: dict[str, str], **options: Any) -> Any:
        return self.world.client.request(
            method, "/api/v1/secrets" + path, headers=headers, **options
        )


def _create(world: World, tenant: Tenant, name: str, key: str | None = None, **extra: Any) -> str:
    created = world.client.post(
        "/api/v1/secrets",
        json={"name": name, "secretString": VALUE, "kmsKeyId": key, **extra},
        headers=tenant.admin,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["arn"])


def _kms(world: World, tenant: Tenant, path: str, body: dict[str, Any]) -> Any:
    answer = world.client.post("/api/v1/kms" + path, json=body, headers=tenant.admin)
    assert answer.status_code in (200, 201, 204), answer.text
    return answer.json() if answer.status_code != 204 else None


@pytest.fixture(scope="module")
def setup(denial_world: World) -> Iterator[Setup]:
    world = denial_world
    owner, other = new_tenant(world, "sm-owner"), new_tenant(world, "sm-other")
    lone = new_tenant(world, "sm-lone")
    bob = new_user(world, owner, "bob", ALLOW_EVERYTHING)
    reader = new_user(world, owner, "reader", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds",
        ]}],
    })  # fmt: skip
    keys = {
        name: _kms(world, owner, "/keys", {})["keyMetadata"]["arn"]
        for name in ("disabled", "denied")
    }
    arns = {
        "shared": _create(world, owner, "shared", tags={"team": "red"}),
        "disabled": _create(world, owner, "under-disabled", keys["disabled"]),
        "denied": _create(world, owner, "under-denied", keys["denied"]),
        "guarded": _create(world, owner, "guarded", tags={"team": "red"}),
        "lone": _create(world, lone, "lone"),
    }
    policy = json.loads(_kms(world, owner, "/get-key-policy", {"keyId": keys["denied"]})["policy"])
    policy["Statement"].append({
        "Sid": "NoSecretsForBob", "Effect": "Deny",
        "Principal": {"AWS": f"arn:aws:iam::{owner.account}:user/bob"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
    })  # fmt: skip
    _kms(world, owner, "/put-key-policy", {"keyId": keys["denied"], "policy": json.dumps(policy)})
    _kms(world, owner, "/disable-key", {"keyId": keys["disabled"]})
    guard = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "NotForBob", "Effect": "Deny",
            "Principal": {"AWS": f"arn:aws:iam::{owner.account}:user/bob"},
            "Action": "secretsmanager:*", "Resource": "*",
        }],
    }  # fmt: skip
    guarded = world.client.put(
        "/api/v1/secrets/policy",
        json={"secretId": arns["guarded"], "resourcePolicy": json.dumps(guard)},
        headers=owner.admin,
    )
    assert guarded.status_code == 200, guarded.text
    # The lone tenant's only AWS-managed key is the one its secrets use by default.
    [service_key] = [
        k["keyId"]
        for k in world.client.get("/api/v1/kms/keys", headers=lone.admin).json()
        if k["keyManager"] == "AWS"
    ]
    _kms(world, lone, "/disable-key", {"keyId": service_key})
    yield Setup(
        world=world,
        owner=owner,
        other=other,
        lone=lone,
        bob=bob,
        reader=reader,
        arns=arns,
        keys=keys,
    )


def _state(s: Setup, *, with_rotation: bool = True) -> dict[str, list[str]]:
    """Every row of the secrets' and the KMS's tables. ``RotateSecret`` saves its rotation
    settings before its steps run, as AWS does: ``with_rotation=False`` leaves them out."""
    found = rows(s.world, SECRETS_TABLES + KMS_TABLES)
    if not with_rotation:
        found = {**found, "secrets": rows(s.world, ("secrets",), skip=("rotat",))["secrets"]}
    return found


def _refused(
    s: Setup,
    call: tuple[str, str, dict[str, Any]],
    headers: dict[str, str],
    *,
    status: int,
    code: str,
    event_name: str,
    accounts: tuple[str, ...],
    with_rotation: bool = True,
) -> list[dict[str, Any]]:
    """Make ``call`` (method, path, request options) expecting ``status`` and ``code``; check
    nothing changed, each of ``accounts`` recorded the refusal under ``event_name`` and no value
    shows anywhere; return the new events of the first account."""
    method, path, options = call
    before = _state(s, with_rotation=with_rotation)
    counts = {account: len(events(s.world, account)) for account in accounts}
    answer = s.request(method, path, headers, **options)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code, answer.text
    assert _state(s, with_rotation=with_rotation) == before, "a refused call changed something"
    found: list[list[dict[str, Any]]] = []
    for account in accounts:
        new = events(s.world, account)[counts[account] :]
        named = [(e["eventName"], e.get("errorCode")) for e in new]
        assert (event_name, code) in named, f"{account} recorded {named}"
        found.append(new)
    text = answer.text + audit_text(s.world, s.owner.account, s.other.account, s.lone.account)
    assert VALUE not in text and NEW_VALUE not in text
    return found[0]


# -- another tenant ------------------------------------------------------------------------------

#: Every route that names an existing secret: (method, path, request options) for ``secret``.
Route = Callable[[str], tuple[str, str, dict[str, Any]]]
ROUTES: dict[str, Route] = {
    "DescribeSecret": lambda a: ("GET", "/describe", {"params": {"secretId": a}}),
    "GetSecretValue": lambda a: ("GET", "/value", {"params": {"secretId": a}}),
    "PutSecretValue": lambda a: ("PUT", "/value", {"json": {
        "secretId": a, "secretString": NEW_VALUE, "clientRequestToken": TOKEN,
    }}),
    "UpdateSecret": lambda a: ("POST", "/update", {"json": {
        "secretId": a, "description": "taken", "secretString": NEW_VALUE,
        "clientRequestToken": TOKEN,
    }}),
    "ListSecretVersionIds": lambda a: ("GET", "/versions", {"params": {"secretId": a}}),
    "DeleteSecret": lambda a: ("DELETE", "", {"params": {
        "secretId": a, "recoveryWindowInDays": "7",
    }}),
    "RestoreSecret": lambda a: ("POST", "/restore", {"json": {"secretId": a}}),
    "RotateSecret": lambda a: ("POST", "/rotate", {"json": {"secretId": a, "rotationHook": HOOK}}),
    "UpdateSecretVersionStage": lambda a: ("POST", "/stage", {"json": {
        "secretId": a, "versionStage": "MINE", "moveToVersionId": TOKEN,
    }}),
    "PutResourcePolicy": lambda a: ("PUT", "/policy", {"json": {
        "secretId": a, "resourcePolicy": SHARE,
    }}),
    "GetResourcePolicy": lambda a: ("GET", "/policy", {"params": {"secretId": a}}),
    "DeleteResourcePolicy": lambda a: ("DELETE", "/policy", {"params": {"secretId": a}}),
    "TagResource": lambda a: ("POST", "/tags", {"json": {"secretId": a, "tags": {"team": "blue"}}}),
    "UntagResource": lambda a: ("DELETE", "/tags", {"params": {
        "secretId": a, "tagKeys": ["team"],
    }}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_another_tenant_is_refused_every_route_on_a_secret(setup: Setup, name: str) -> None:
    new = _refused(
        setup, ROUTES[name](setup.arns["shared"]), setup.other.admin,
        status=403, code="AccessDenied", event_name=name,
        accounts=(setup.owner.account, setup.other.account),
    )  # fmt: skip
    # One decision per call: the route asks nothing else of the gate before or after.
    assert [e["eventName"] for e in new] == [name]
    assert new[0]["userIdentity"]["accountId"] == setup.other.account


@pytest.mark.parametrize("name", ["GetResourcePolicy", "ListSecretVersionIds"])
def test_a_read_route_asks_the_gate_for_its_own_action_only(setup: Setup, name: str) -> None:
    """The answer names the secret's ARN and name, which the route takes from the call itself:
    a caller allowed the action alone is answered, on one decision, recorded once."""
    before = len(events(setup.world, setup.owner.account))
    method, path, options = ROUTES[name](setup.arns["shared"])
    answer = setup.request(method, path, setup.reader, **options)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["arn"], answer.json()["name"]) == (setup.arns["shared"], "shared")
    new = events(setup.world, setup.owner.account)[before:]
    assert [(e["eventName"], e.get("errorCode")) for e in new] == [(name, None)]


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_a_resource_policy_deny_refuses_every_route_on_a_secret(setup: Setup, name: str) -> None:
    """Bob holds ``secretsmanager:*`` in his identity policy; the secret's policy denies him."""
    new = _refused(
        setup, ROUTES[name](setup.arns["guarded"]), setup.bob,
        status=403, code="AccessDenied", event_name=name, accounts=(setup.owner.account,),
    )  # fmt: skip
    assert [e["eventName"] for e in new] == [name]
    assert "NotForBob" in [st["sid"] for st in new[0]["decision"]["statements"]]


def test_another_tenant_cannot_seal_a_secret_under_the_owners_key(setup: Setup) -> None:
    call = ("POST", "", {"json": {
        "name": "borrowed", "secretString": VALUE, "kmsKeyId": setup.keys["denied"],
    }})  # fmt: skip
    new = _refused(
        setup, call, setup.other.admin, status=403, code="AccessDenied",
        event_name="GenerateDataKey", accounts=(setup.owner.account, setup.other.account),
    )  # fmt: skip
    assert new[-1]["userIdentity"]["accountId"] == setup.other.account


def test_another_tenant_lists_none_of_the_owners_secrets(setup: Setup) -> None:
    listed = setup.request("GET", "", setup.other.admin)
    assert listed.status_code == 200, listed.text
    assert setup.arns["shared"] not in listed.text and "shared" not in listed.text


# -- the secret's key: a key-policy deny and a disabled key --------------------------------------

#: Routes that seal or open a value: the error when the key refuses, and the event recording it.
VALUE_ROUTES: dict[str, tuple[Route, str]] = {
    "GetSecretValue": (ROUTES["GetSecretValue"], "DecryptionFailure"),
    "PutSecretValue": (ROUTES["PutSecretValue"], "EncryptionFailure"),
    "UpdateSecret": (ROUTES["UpdateSecret"], "EncryptionFailure"),
    # RotateSecret opens the current value first (its createSecret step's input).
    "RotateSecret": (ROUTES["RotateSecret"], "DecryptionFailure"),
}


@pytest.mark.parametrize("name", sorted(VALUE_ROUTES))
@pytest.mark.parametrize("key", ["KmsKeyId", "service key"])
def test_a_disabled_key_refuses_every_value_route(setup: Setup, name: str, key: str) -> None:
    route, code = VALUE_ROUTES[name]
    tenant, arn = (
        (setup.owner, setup.arns["disabled"]) if key == "KmsKeyId"
        else (setup.lone, setup.arns["lone"])
    )  # fmt: skip
    new = _refused(
        setup, route(arn), tenant.admin, status=400, code=code, event_name=name,
        accounts=(tenant.account,), with_rotation=name != "RotateSecret",
    )  # fmt: skip
    assert "DisabledException" in [e.get("errorCode") for e in new], "the KMS records it too"


def test_create_secret_under_a_disabled_key_creates_nothing(setup: Setup) -> None:
    call = ("POST", "", {"json": {
        "name": "new", "secretString": VALUE, "kmsKeyId": setup.keys["disabled"],
    }})  # fmt: skip
    new = _refused(
        setup, call, setup.owner.admin, status=400, code="EncryptionFailure",
        event_name="CreateSecret", accounts=(setup.owner.account,),
    )  # fmt: skip
    assert "DisabledException" in [e.get("errorCode") for e in new]


@pytest.mark.parametrize("name", sorted(VALUE_ROUTES))
def test_a_key_policy_deny_refuses_every_value_route(setup: Setup, name: str) -> None:
    route, _ = VALUE_ROUTES[name]
    new = _refused(
        setup, route(setup.arns["denied"]), setup.bob, status=403, code="AccessDenied",
        event_name=name, accounts=(setup.owner.account,), with_rotation=name != "RotateSecret",
    )  # fmt: skip
    kms_denials = [
        e for e in new
        if e.get("errorCode") == "AccessDenied" and e["eventSource"] == "kms.amazonaws.com"
    ]  # fmt: skip
    assert kms_denials, [(e["eventName"], e.get("errorCode")) for e in new]
    sids = [st["sid"] for st in kms_denials[-1]["decision"]["statements"]]
    assert "NoSecretsForBob" in sids


def test_create_secret_under_a_key_that_denies_the_caller_creates_nothing(setup: Setup) -> None:
    call = ("POST", "", {"json": {
        "name": "new", "secretString": VALUE, "kmsKeyId": setup.keys["denied"],
    }})  # fmt: skip
    _refused(
        setup, call, setup.bob, status=403, code="AccessDenied", event_name="CreateSecret",
        accounts=(setup.owner.account,),
    )  # fmt: skip
