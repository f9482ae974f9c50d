"""DeleteObjects: each key its own gate decision, lock check and audit event — on both
backends and both databases. One refused key never fails or hides the others."""

from __future__ import annotations

import pytest

from lakevault import iam
from lakevault.core.errors import InvalidParameterValue
from lakevault.storage import (
    MAX_DELETE_KEYS,
    DefaultRetention,
    DeleteTarget,
    NoSuchBucket,
    ObjectLockConfiguration,
    RetentionMode,
)
from tests.unit.storage.conftest import (
    ALICE,
    CAROL,
    READER,
    TENANT_A,
    TENANT_B,
    StaticPolicies,
    StorageWorld,
    principal,
)

PARTIAL = principal(TENANT_A, "partial")  # may delete under tmp/ only


def _targets(*keys: str) -> list[DeleteTarget]:
    return [DeleteTarget(key=key) for key in keys]


def test_deletes_every_key_and_its_blob(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    for key in ("a", "b", "dir/c"):
        world.put("data", key, key.encode())
    outcomes = world.storage.delete_objects(
        world.caller(), "data", _targets("a", "b", "dir/c", "never-was")
    )
    assert [(o.key, o.deleted, o.delete_marker) for o in outcomes] == [
        ("a", True, False),
        ("b", True, False),
        ("dir/c", True, False),
        ("never-was", True, False),  # deleting what does not exist succeeds, as in S3
    ]
    assert world.rows("data") == []
    assert world.blobs() == []
    deletes = [e for e in world.events() if e["eventName"] == "DeleteObject"]
    assert sum(1 for e in deletes if "decision" in e) == 4  # one gate decision per key
    assert sum(1 for e in deletes if "decision" not in e) == 4  # and one change event


def test_a_denied_key_is_that_keys_error_and_the_others_go(world: StorageWorld) -> None:
    policies: StaticPolicies = world.gate._policies  # type: ignore[attr-defined]
    policies.by_arn[PARTIAL.arn] = (
        iam.parse_policy(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:DeleteObject",
                        "Resource": "arn:aws:s3:::data/tmp/*",
                    }
                ],
            },
            policy_id="partial",
        ),
    )
    world.storage.buckets.create_bucket(world.caller(), "data")
    for key in ("tmp/1", "keep", "tmp/2"):
        world.put("data", key, b"x")
    outcomes = world.storage.delete_objects(
        world.caller(PARTIAL), "data", _targets("tmp/1", "keep", "tmp/2")
    )
    assert [(o.key, o.error_code) for o in outcomes] == [
        ("tmp/1", None),
        ("keep", "AccessDenied"),
        ("tmp/2", None),
    ]
    assert outcomes[1].error_message and "s3:DeleteObject" in outcomes[1].error_message
    assert [row.key for row in world.rows("data")] == ["keep"]
    assert world.get("data", "keep") == b"x"
    decisions = [e for e in world.events() if e["eventName"] == "DeleteObject" and "decision" in e]
    assert sum(1 for e in decisions if e.get("errorCode") == "AccessDenied") == 1
    assert sum(1 for e in decisions if not e.get("errorCode")) == 2
    # A reader may delete nothing: every key refused, each on its own.
    denied = world.storage.delete_objects(world.caller(READER), "data", _targets("keep"))
    assert denied[0].error_code == "AccessDenied"


def test_versioned_bucket_gets_delete_markers_and_versions_go_for_good(
    world: StorageWorld,
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.storage.buckets.put_bucket_versioning(world.caller(), "data", "Enabled")
    first = world.put("data", "k", b"v1")
    world.put("data", "k", b"v2")
    marked = world.storage.delete_objects(world.caller(), "data", _targets("k"))
    assert marked[0].deleted and marked[0].delete_marker
    marker = marked[0].delete_marker_version_id
    assert marker is not None
    assert len(world.rows("data")) == 3  # two versions and the marker
    removed = world.storage.delete_objects(
        world.caller(),
        "data",
        [
            DeleteTarget(key="k", version_id=first.version_id),
            DeleteTarget(key="k", version_id=marker),
        ],
    )
    assert [(o.version_id, o.delete_marker) for o in removed] == [
        (first.version_id, False),
        (marker, True),
    ]
    assert world.get("data", "k") == b"v2"  # the marker is gone: v2 is current again
    decisions = [e["eventName"] for e in world.events() if "decision" in e]
    assert decisions.count("DeleteObjectVersion") == 2


def test_locked_versions_are_refused_and_the_rest_deleted(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "vault", object_lock_enabled=True)
    free = world.put("vault", "free", b"f")
    world.storage.lock.put_object_lock_configuration(
        world.caller(),
        "vault",
        ObjectLockConfiguration(
            default_retention=DefaultRetention(mode=RetentionMode.COMPLIANCE, days=30)
        ),
    )
    locked = world.put("vault", "locked", b"l")
    outcomes = world.storage.delete_objects(
        world.caller(),
        "vault",
        [
            DeleteTarget(key="locked", version_id=locked.version_id),
            DeleteTarget(key="free", version_id=free.version_id),
        ],
        bypass_governance=True,  # compliance retention ignores the bypass
    )
    assert [(o.key, o.error_code) for o in outcomes] == [
        ("locked", "AccessDenied"),
        ("free", None),
    ]
    assert world.get("vault", "locked") == b"l"
    assert [row.key for row in world.rows("vault")] == ["locked"]


def test_another_tenant_deletes_nothing(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.put("data", "a", b"tenant a")
    outcomes = world.storage.delete_objects(world.caller(CAROL), "data", _targets("a", "b"))
    assert [o.error_code for o in outcomes] == ["AccessDenied", "AccessDenied"]
    assert world.get("data", "a", who=ALICE) == b"tenant a"
    denials = [e for e in world.events(TENANT_B) if e.get("errorCode") == "AccessDenied"]
    assert len(denials) == 2


def test_bad_requests_fail_whole(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.put("data", "a", b"x")
    with pytest.raises(NoSuchBucket):
        world.storage.delete_objects(world.caller(), "no-such", _targets("a"))
    with pytest.raises(InvalidParameterValue) as empty:
        world.storage.delete_objects(world.caller(), "data", [])
    assert empty.value.code == "MalformedXML"
    with pytest.raises(InvalidParameterValue) as many:
        world.storage.delete_objects(
            world.caller(), "data", _targets(*(f"k{i}" for i in range(MAX_DELETE_KEYS + 1)))
        )
    assert many.value.code == "MalformedXML" and "1000" in many.value.message
    # A bad key name is that key's error.
    outcomes = world.storage.delete_objects(world.caller(), "data", _targets("", "a"))
    assert [o.error_code for o in outcomes] == ["InvalidArgument", None]
    assert world.rows("data") == []


def test_many_keys_at_once_each_decided_once(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "data")
    world.storage.buckets.put_bucket_versioning(world.caller(), "data", "Enabled")
    keys = [f"many/{index:03d}" for index in range(60)]
    first = {key: world.put("data", key, b"v1").version_id for key in keys}
    # Each key twice: a delete marker, then its first version for good (same key: in order).
    targets = [
        entry
        for key in keys
        for entry in (DeleteTarget(key=key), DeleteTarget(key=key, version_id=first[key]))
    ]
    outcomes = world.storage.delete_objects(world.caller(), "data", targets)
    assert [(o.key, o.version_id) for o in outcomes] == [(t.key, t.version_id) for t in targets]
    assert all(o.deleted for o in outcomes)
    assert [o.delete_marker for o in outcomes] == [True, False] * len(keys)
    assert sorted(row.key for row in world.rows("data")) == keys  # only the markers are left
    assert all(row.is_delete_marker for row in world.rows("data"))
    decisions = [e["eventName"] for e in world.events() if "decision" in e]
    assert decisions.count("DeleteObject") == len(keys)
    assert decisions.count("DeleteObjectVersion") == len(keys)
