"""The lock state a GET or HEAD shows (docs/decisions/0183): only to a caller allowed
``s3:GetObjectRetention`` / ``s3:GetObjectLegalHold``, each decision recorded, on both backends
and both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lakevault import iam
from lakevault.storage import (
    DefaultRetention,
    ObjectLockConfiguration,
    RetentionMode,
    VisibleObjectLock,
)
from tests.unit.storage.conftest import (
    ALICE,
    READER,
    TENANT_A,
    StaticPolicies,
    StorageWorld,
    allow,
    principal,
)

HOLD_READER = principal(TENANT_A, "hold-reader")  # s3:GetObject and s3:GetObjectLegalHold
DENIED = principal(TENANT_A, "denied")  # s3:* but an explicit deny of both lock reads


@pytest.fixture
def hw(world: StorageWorld) -> StorageWorld:
    policies: StaticPolicies = world.gate._policies  # type: ignore[attr-defined]
    policies.by_arn[HOLD_READER.arn] = (
        allow("s3:GetObject", "s3:GetObjectLegalHold", policy_id="hold-reader"),
    )
    policies.by_arn[DENIED.arn] = (
        iam.parse_policy(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                    {
                        "Sid": "NoLockReads",
                        "Effect": "Deny",
                        "Action": ["s3:GetObjectRetention", "s3:GetObjectLegalHold"],
                        "Resource": "*",
                    },
                ],
            },
            policy_id="denied",
        ),
    )
    world.storage.buckets.create_bucket(world.caller(), "vault", object_lock_enabled=True)
    world.storage.lock.put_object_lock_configuration(
        world.caller(),
        "vault",
        ObjectLockConfiguration(
            default_retention=DefaultRetention(mode=RetentionMode.GOVERNANCE, days=10)
        ),
    )
    world.put("vault", "doc", b"locked bytes")
    return world


def _lock_decisions(w: StorageWorld, who: Any) -> list[dict[str, Any]]:
    return [
        e
        for e in w.events()
        if e["eventName"] in ("GetObjectRetention", "GetObjectLegalHold")
        and e["userIdentity"]["arn"] == who.arn
    ]


def test_allowed_caller_sees_retention_and_legal_hold_on_head_and_get(hw: StorageWorld) -> None:
    expected = VisibleObjectLock(
        mode=RetentionMode.GOVERNANCE,
        retain_until=hw.clock.now() + timedelta(days=10),
        legal_hold=False,
    )
    assert hw.storage.objects.head_object(hw.caller(), "vault", "doc").object_lock == expected
    download = hw.storage.objects.open_object(hw.caller(), "vault", "doc", show_object_lock=True)
    assert download.info.object_lock == expected
    assert download.read_all() == b"locked bytes"
    hw.storage.lock.put_object_legal_hold(hw.caller(), "vault", "doc", True)
    held = hw.storage.objects.head_object(hw.caller(), "vault", "doc").object_lock
    assert held is not None and held.legal_hold is True
    decisions = _lock_decisions(hw, ALICE)
    assert len(decisions) == 6 and not any("errorCode" in e for e in decisions)


def test_caller_without_the_lock_permissions_reads_but_sees_no_lock(hw: StorageWorld) -> None:
    for who in (READER, DENIED):
        info = hw.storage.objects.head_object(hw.caller(who), "vault", "doc")
        assert info.object_lock is None
        download = hw.storage.objects.open_object(
            hw.caller(who), "vault", "doc", show_object_lock=True
        )
        assert download.info.object_lock is None
        assert download.read_all() == b"locked bytes"
        refused = _lock_decisions(hw, who)
        assert len(refused) == 4
        assert all(e["errorCode"] == "AccessDenied" for e in refused)
    # The explicit deny is named as the deciding statement.
    assert "NoLockReads" in str(_lock_decisions(hw, DENIED))


def test_legal_hold_permission_alone_shows_only_the_legal_hold(hw: StorageWorld) -> None:
    info = hw.storage.objects.head_object(hw.caller(HOLD_READER), "vault", "doc")
    assert info.object_lock == VisibleObjectLock(mode=None, retain_until=None, legal_hold=False)


def test_version_without_lock_state_shows_nothing_and_decides_nothing(
    hw: StorageWorld,
) -> None:
    hw.storage.buckets.create_bucket(hw.caller(), "plain")
    hw.put("plain", "doc", b"free")
    assert hw.storage.objects.head_object(hw.caller(), "plain", "doc").object_lock is None
    assert _lock_decisions(hw, ALICE) == []


def test_internal_reads_and_copies_decide_no_lock_reads(hw: StorageWorld) -> None:
    download = hw.storage.objects.open_object(hw.caller(), "vault", "doc")
    assert download.info.object_lock is None
    hw.storage.buckets.create_bucket(hw.caller(), "copies")
    hw.storage.objects.copy_object(
        hw.caller(), source_bucket="vault", source_key="doc", bucket="copies", key="doc"
    )
    assert _lock_decisions(hw, ALICE) == []


def test_older_version_shows_its_own_lock(hw: StorageWorld) -> None:
    first = hw.storage.objects.head_object(hw.caller(), "vault", "doc")
    hw.clock.advance(seconds=86400)
    hw.put("vault", "doc", b"second")
    assert first.version_id is not None
    old = hw.storage.objects.head_object(
        hw.caller(), "vault", "doc", version_id=first.version_id
    ).object_lock
    new = hw.storage.objects.head_object(hw.caller(), "vault", "doc").object_lock
    assert old is not None and new is not None
    assert new.retain_until is not None and old.retain_until is not None
    assert new.retain_until - old.retain_until == timedelta(days=1)
