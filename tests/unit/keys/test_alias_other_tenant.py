"""An alias names a key of its own tenant: another tenant is refused CreateAlias and
UpdateAlias on a key by the gate (AccessDenied, in both logs), and, when the key policy shares
the key with it, by the key service (NotFoundException, recorded under the call's name)."""

from __future__ import annotations

import json

import pytest

from lakevault.core.errors import AccessDenied, LakevaultError
from lakevault.keys import KeyNotFound
from tests.unit.keys.conftest import ALICE, CAROL, TENANT_A, TENANT_B, KMSWorld


def _shared_with_carol(world: KMSWorld, key_id: str) -> None:
    policy = json.loads(world.service.get_key_policy(world.call(ALICE), key_id))
    policy["Statement"].append(
        {
            "Sid": "CarolMayDoAnything",
            "Effect": "Allow",
            "Principal": {"AWS": CAROL.arn},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    world.service.put_key_policy(world.call(ALICE), key_id, json.dumps(policy))


def _aliases(world: KMSWorld) -> list[tuple[str, str]]:
    return sorted(
        (a.alias_name, a.target_key_id)
        for who in (ALICE, CAROL)
        for a in world.service.list_aliases(world.call(who))
    )


@pytest.mark.parametrize("shared", [False, True], ids=["not shared", "shared by policy"])
@pytest.mark.parametrize("operation", ["CreateAlias", "UpdateAlias"])
def test_another_tenant_cannot_alias_a_key(world: KMSWorld, operation: str, shared: bool) -> None:
    theirs = world.service.create_key(world.call(ALICE))
    mine = world.service.create_key(world.call(CAROL))
    world.service.create_alias(world.call(CAROL), "alias/mine", mine.key_id)
    if shared:
        _shared_with_carol(world, theirs.key_id)
    before = _aliases(world)
    counts = {a: len(world.events(a)) for a in (TENANT_A, TENANT_B)}
    error: type[LakevaultError] = KeyNotFound if shared else AccessDenied
    with pytest.raises(error) as raised:
        if operation == "CreateAlias":
            world.service.create_alias(world.call(CAROL), "alias/stolen", theirs.arn)
        else:
            world.service.update_alias(world.call(CAROL), "alias/mine", theirs.arn)
    assert _aliases(world) == before
    owner = [e for e in world.events(TENANT_A)[counts[TENANT_A] :] if e.get("errorCode")]
    assert [(e["eventName"], e["errorCode"]) for e in owner] == [(operation, raised.value.code)]
    assert owner[0]["userIdentity"]["accountId"] == TENANT_B
    if not shared:  # the gate's refusal is in the caller's log too
        caller = [e for e in world.events(TENANT_B)[counts[TENANT_B] :] if e.get("errorCode")]
        assert [(e["eventName"], e["errorCode"]) for e in caller] == [(operation, "AccessDenied")]
