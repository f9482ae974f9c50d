"""The key-policy lockout safety check (AWS's ``BypassPolicyLockoutSafetyCheck``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lakevault.core.errors import AccessDenied, MalformedPolicyDocument
from tests.unit.keys.conftest import ALICE, BOB, TENANT_A, KMSWorld


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROOT_ALL = {
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{TENANT_A}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
ONLY_USE = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{TENANT_A}:root"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GetKeyPolicy"],
    "Resource": "*",
}
DENY_PUT = {
    "Effect": "Deny",
    "Principal": {"AWS": f"arn:aws:iam::{TENANT_A}:root"},
    "Action": "kms:PutKeyPolicy",
    "Resource": "*",
}


def test_a_policy_that_would_lock_the_caller_out_is_refused(world: KMSWorld) -> None:
    key_id = world.service.create_key(world.call()).key_id
    before = world.service.get_key_policy(world.call(), key_id)
    events_before = len(world.events())

    for locking in (_policy(ONLY_USE), _policy(ROOT_ALL, DENY_PUT)):
        with pytest.raises(MalformedPolicyDocument, match="BypassPolicyLockoutSafetyCheck"):
            world.service.put_key_policy(world.call(), key_id, locking)

    assert world.service.get_key_policy(world.call(), key_id) == before
    new = world.events()[events_before:]
    # Only the two allowed PutKeyPolicy decisions: the what-if check records nothing itself,
    # and nothing changed.
    assert [e["eventName"] for e in new] == ["PutKeyPolicy", "PutKeyPolicy", "GetKeyPolicy"]
    assert not any(e.get("errorCode") for e in new)
    assert not any((e.get("additionalEventData") or {}).get("stateChange") for e in new)


def test_the_check_is_about_the_caller(world: KMSWorld) -> None:
    key_id = world.service.create_key(world.call()).key_id
    only_alice = {
        "Effect": "Allow",
        "Principal": {"AWS": ALICE.arn},
        "Action": "kms:*",
        "Resource": "*",
    }
    # Alice keeps PutKeyPolicy (the policy names her), so it is accepted, although it locks
    # the rest of the tenant out.
    world.service.put_key_policy(world.call(), key_id, _policy(only_alice))
    world.service.put_key_policy(world.call(), key_id, _policy(ROOT_ALL))


def test_bypassing_the_check_locks_out_for_good_and_is_recorded(world: KMSWorld) -> None:
    key_id = world.service.create_key(world.call()).key_id
    world.service.put_key_policy(
        world.call(), key_id, _policy(ROOT_ALL, DENY_PUT), bypass_policy_lockout_safety_check=True
    )
    change = [
        e
        for e in world.events()
        if e["eventName"] == "PutKeyPolicy"
        and (e.get("additionalEventData") or {}).get("stateChange")
    ][-1]
    assert change["requestParameters"]["bypassPolicyLockoutSafetyCheck"] is True
    with pytest.raises(AccessDenied):
        world.service.put_key_policy(
            world.call(), key_id, _policy(ROOT_ALL), bypass_policy_lockout_safety_check=True
        )


def test_create_key_with_a_locking_policy_is_refused_unless_bypassed(world: KMSWorld) -> None:
    with pytest.raises(MalformedPolicyDocument):
        world.service.create_key(world.call(), policy=_policy(ONLY_USE))
    assert world.service.list_keys(world.call()) == []
    created = world.service.create_key(
        world.call(), policy=_policy(ONLY_USE), bypass_policy_lockout_safety_check=True
    )
    with pytest.raises(AccessDenied):
        world.service.put_key_policy(world.call(), created.key_id, _policy(ROOT_ALL))


def test_a_caller_denied_put_key_policy_gets_access_denied_before_any_check(
    world: KMSWorld,
) -> None:
    key_id = world.service.create_key(world.call()).key_id
    with pytest.raises(AccessDenied):
        world.service.put_key_policy(world.call(BOB), key_id, _policy(ONLY_USE))
