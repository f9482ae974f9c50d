"""A key that is not there is decided and recorded like one that is (docs/decisions/0234).

Before, a call naming no existing key raised ``NotFoundException`` before the gate: nothing
was recorded, and another tenant could tell an existing key ARN (403, the gate's refusal)
from a made-up one (404). Now the gate decides on the ARN the caller named, under the default
key policy of that ARN's account: another tenant is refused the same way whether the key
exists or not, a user of the tenant whom no policy allows is refused rather than told
whether the key exists, and an allowed caller's ``NotFoundException`` is in the log.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from lakevault.core.errors import AccessDenied
from lakevault.keys import KeyNotFound
from tests.unit.keys.conftest import ALICE, BOB, CAROL, TENANT_A, TENANT_B, KMSWorld, context

CONTEXT = context(purpose="test")


def _new_events(world: KMSWorld, counts: dict[str, int], account: str) -> list[dict[str, Any]]:
    """The refusals and failures ``account`` recorded since ``counts`` (an allowed decision
    is recorded by the gate before the key service finds no key: that one is left out)."""
    return [e for e in world.events(account)[counts[account] :] if e.get("errorCode")]


def _counts(world: KMSWorld) -> dict[str, int]:
    return {account: len(world.events(account)) for account in (TENANT_A, TENANT_B)}


def test_another_tenants_bare_key_id_is_not_found_and_recorded_in_the_callers_log(
    world: KMSWorld,
) -> None:
    """A bare id names a key of the caller's own tenant (as in AWS): Carol finds none there,
    and her own log says so under the call's name; the owner's log has nothing of it."""
    theirs = world.service.create_key(world.call(ALICE))
    counts = _counts(world)
    with pytest.raises(KeyNotFound):
        world.service.describe_key(world.call(CAROL), theirs.key_id)
    [event] = _new_events(world, counts, TENANT_B)
    assert (event["eventName"], event["errorCode"]) == ("DescribeKey", "NotFoundException")
    assert event["userIdentity"]["arn"] == CAROL.arn
    assert event["resources"][0]["ARN"] == f"arn:aws:kms:local:{TENANT_B}:key/{theirs.key_id}"
    assert _new_events(world, counts, TENANT_A) == []


@pytest.mark.parametrize("exists", [True, False], ids=["existing key", "made-up key"])
def test_another_tenants_key_arn_is_refused_alike_whether_or_not_it_exists(
    world: KMSWorld, exists: bool
) -> None:
    key_id = world.service.create_key(world.call(ALICE)).key_id if exists else str(uuid.uuid4())
    arn = f"arn:aws:kms:local:{TENANT_A}:key/{key_id}"
    counts = _counts(world)
    with pytest.raises(AccessDenied) as raised:
        world.service.encrypt(world.call(CAROL), arn, b"x", context=CONTEXT)
    assert arn in raised.value.message and "kms:Encrypt" in raised.value.message
    for account in (TENANT_A, TENANT_B):
        named = [(e["eventName"], e.get("errorCode")) for e in _new_events(world, counts, account)]
        assert named == [("Encrypt", "AccessDenied")], account


@pytest.mark.parametrize("exists", [True, False], ids=["existing key", "made-up key"])
def test_a_user_no_policy_allows_is_refused_whether_or_not_the_key_exists(
    world: KMSWorld, exists: bool
) -> None:
    """Bob (tenant A, no policies) learns nothing about which key ids exist in his tenant."""
    key_id = world.service.create_key(world.call(ALICE)).key_id if exists else str(uuid.uuid4())
    counts = _counts(world)
    with pytest.raises(AccessDenied):
        world.service.describe_key(world.call(BOB), key_id)
    named = [(e["eventName"], e.get("errorCode")) for e in _new_events(world, counts, TENANT_A)]
    assert named == [("DescribeKey", "AccessDenied")]


@pytest.mark.parametrize(
    "call",
    [
        lambda w, ref: w.service.describe_key(w.call(ALICE), ref),
        lambda w, ref: w.service.disable_key(w.call(ALICE), ref),
        lambda w, ref: w.service.get_key_policy(w.call(ALICE), ref),
        lambda w, ref: w.service.generate_data_key_for(w.call(ALICE), ref, context=CONTEXT),
    ],
    ids=["DescribeKey", "DisableKey", "GetKeyPolicy", "GenerateDataKey"],
)
@pytest.mark.parametrize("reference", ["id", "alias/missing", "arn"])
def test_an_allowed_callers_missing_key_is_recorded_under_the_calls_name(
    world: KMSWorld, call: Any, reference: str, request: pytest.FixtureRequest
) -> None:
    missing = str(uuid.uuid4())
    named = {
        "id": missing,
        "alias/missing": "alias/missing",
        "arn": f"arn:aws:kms:local:{TENANT_A}:key/{missing}",
    }[reference]
    counts = _counts(world)
    with pytest.raises(KeyNotFound):
        call(world, named)
    [event] = _new_events(world, counts, TENANT_A)
    operation = request.node.callspec.id.split("-")[-1]
    assert (event["eventName"], event["errorCode"]) == (operation, "NotFoundException")
    assert event["requestParameters"]["keyId"] == named
    assert _new_events(world, counts, TENANT_B) == []
