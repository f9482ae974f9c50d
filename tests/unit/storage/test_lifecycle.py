"""Lifecycle rules (validation, the periodic job, object lock winning over every rule) and
ListObjectVersions, on both backends and both databases."""

from __future__ import annotations

from typing import Any

import pytest

from lakevault.core.errors import AccessDenied, InvalidParameterValue
from lakevault.storage import (
    LIFECYCLE_TASK,
    DefaultRetention,
    NoSuchLifecycleConfiguration,
    ObjectLockConfiguration,
    ObjectLockRequest,
    RetentionMode,
    abort_after_days,
    lifecycle_tasks,
)
from tests.unit.storage.conftest import BOB, CAROL, READER, TENANT_A, StorageWorld

DAY = 86400


def _rules(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"Rules": list(rules)}


def _versioned(w: StorageWorld, name: str) -> None:
    w.storage.buckets.create_bucket(w.caller(), name)
    w.storage.buckets.put_bucket_versioning(w.caller(), name, "Enabled")


def _run(w: StorageWorld) -> Any:
    return w.storage.lifecycle_runner().run()


def _lifecycle_events(w: StorageWorld) -> list[dict[str, Any]]:
    return [e for e in w.events(TENANT_A) if e["eventName"] == "LifecycleExpiration"]


# -- configuration ------------------------------------------------------------------------------


def test_put_get_delete_configuration(world: StorageWorld) -> None:
    lifecycle = world.storage.lifecycle
    world.storage.buckets.create_bucket(world.caller(), "cfg")
    with pytest.raises(NoSuchLifecycleConfiguration):
        lifecycle.get_bucket_lifecycle_configuration(world.caller(), "cfg")
    lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "cfg",
        _rules(
            {
                "ID": "logs",
                "Status": "Enabled",
                "Filter": {"Prefix": "logs/"},
                "Expiration": {"Days": 30},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3},
            },
            {
                "ID": "uploads",
                "Status": "Enabled",
                "Filter": {},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 9},
            },
            {
                "ID": "off",
                "Status": "Disabled",
                "Prefix": "x/",
                "Expiration": {"ExpiredObjectDeleteMarker": True},
            },
        ),
    )
    rules = lifecycle.get_bucket_lifecycle_configuration(world.caller(), "cfg")
    assert [r.id for r in rules] == ["logs", "uploads", "off"]
    assert rules[0].to_json()["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 7,
        "NewerNoncurrentVersions": 2,
    }
    assert rules[2].prefix == "x/" and not rules[2].enabled
    assert abort_after_days(world.database, "cfg", "logs/a") == 3
    assert abort_after_days(world.database, "cfg", "data/a") == 9
    lifecycle.delete_bucket_lifecycle(world.caller(), "cfg")
    with pytest.raises(NoSuchLifecycleConfiguration):
        lifecycle.get_bucket_lifecycle_configuration(world.caller(), "cfg")
    assert abort_after_days(world.database, "cfg", "logs/a") is None
    names = [e["eventName"] for e in world.events()]
    assert names.count("PutLifecycleConfiguration") == 4  # two decisions, two changes


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({}, "MalformedXML"),
        ({"Rules": []}, "MalformedXML"),
        (
            _rules({"ID": "a", "Status": "On", "Filter": {}, "Expiration": {"Days": 1}}),
            "MalformedXML",
        ),
        (_rules({"ID": "a", "Status": "Enabled", "Filter": {}}), "InvalidArgument"),
        (
            _rules({"ID": "a", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 0}}),
            "InvalidArgument",
        ),
        (
            _rules(
                {
                    "ID": "a",
                    "Status": "Enabled",
                    "Filter": {},
                    "Expiration": {"Days": 1, "ExpiredObjectDeleteMarker": True},
                }
            ),
            "InvalidArgument",
        ),
        (
            _rules(
                {"ID": "a", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}},
                {"ID": "a", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 2}},
            ),
            "InvalidArgument",
        ),
        (
            _rules(
                {
                    "ID": "a",
                    "Status": "Enabled",
                    "Filter": {"Tag": {"Key": "k", "Value": "v"}},
                    "Expiration": {"Days": 1},
                }
            ),
            "NotImplemented",
        ),
        (
            _rules({"ID": "a", "Status": "Enabled", "Filter": {}, "Transitions": []}),
            "NotImplemented",
        ),
        (
            _rules(
                {
                    "ID": "a",
                    "Status": "Enabled",
                    "Filter": {},
                    "NoncurrentVersionExpiration": {
                        "NoncurrentDays": 1,
                        "NewerNoncurrentVersions": 101,
                    },
                }
            ),
            "InvalidArgument",
        ),
        (
            _rules(
                {
                    "ID": "a",
                    "Status": "Enabled",
                    "Filter": {},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": -1},
                }
            ),
            "InvalidArgument",
        ),
        (
            _rules({"ID": "", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}),
            "InvalidArgument",
        ),
    ],
)
def test_bad_configurations_are_refused(
    world: StorageWorld, document: dict[str, Any], code: str
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "bad")
    with pytest.raises(InvalidParameterValue) as refused:
        world.storage.lifecycle.put_bucket_lifecycle_configuration(world.caller(), "bad", document)
    assert refused.value.code == code


def test_configuration_needs_permission(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "perm")
    document = _rules({"ID": "a", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}})
    for who in (BOB, READER, CAROL):
        with pytest.raises(AccessDenied):
            world.storage.lifecycle.put_bucket_lifecycle_configuration(
                world.caller(who), "perm", document
            )
        with pytest.raises(AccessDenied):
            world.storage.lifecycle.delete_bucket_lifecycle(world.caller(who), "perm")


# -- the job ------------------------------------------------------------------------------------


def test_expiration_adds_delete_markers_to_old_current_versions(world: StorageWorld) -> None:
    _versioned(world, "exp")
    world.put("exp", "logs/old", b"old")
    world.put("exp", "keep/old", b"old")
    world.clock.advance(seconds=10 * DAY)
    world.put("exp", "logs/new", b"new")
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "exp",
        _rules(
            {
                "ID": "logs",
                "Status": "Enabled",
                "Filter": {"Prefix": "logs/"},
                "Expiration": {"Days": 5},
            }
        ),
    )
    report = _run(world)
    assert report.delete_markers_added == 1 and report.errors == []
    listed = [o.key for o in world.storage.list_objects(world.caller(), "exp").objects]
    assert listed == ["keep/old", "logs/new"]
    # The expired version is still there, non-current, until a noncurrent rule removes it.
    assert len(world.blobs()) == 3
    events = _lifecycle_events(world)
    assert len(events) == 1
    assert events[0]["userIdentity"]["type"] == "AWSService"
    assert events[0]["responseElements"] == {"outcome": "DeleteMarkerCreated"}
    # A second run finds nothing more to do.
    assert _run(world).delete_markers_added == 0


def test_expiration_in_an_unversioned_bucket_removes_object_and_blob(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "plain")
    world.put("plain", "a", b"x")
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "plain",
        _rules({"ID": "all", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}),
    )
    assert _run(world).versions_removed == 0
    world.clock.advance(seconds=DAY + 1)
    assert _run(world).versions_removed == 1
    assert world.rows("plain") == []
    assert world.blobs() == []


def test_noncurrent_expiration_keeps_newer_versions_and_removes_blobs(world: StorageWorld) -> None:
    _versioned(world, "noncurrent")
    ids = []
    for index in range(5):
        ids.append(world.put("noncurrent", "doc", f"v{index}".encode()).version_id)
        world.clock.advance(seconds=DAY)
    world.clock.advance(seconds=10 * DAY)
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "noncurrent",
        _rules(
            {
                "ID": "old",
                "Status": "Enabled",
                "Filter": {},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 3, "NewerNoncurrentVersions": 2},
            }
        ),
    )
    report = _run(world)
    assert report.versions_removed == 2
    remaining = {row.version_id for row in world.rows("noncurrent")}
    assert remaining == set(ids[2:])
    assert len(world.blobs()) == 3
    assert world.get("noncurrent", "doc") == b"v4"


def test_noncurrent_age_counts_from_when_the_version_was_replaced(world: StorageWorld) -> None:
    _versioned(world, "age")
    first = world.put("age", "doc", b"1")
    world.clock.advance(seconds=30 * DAY)
    world.put("age", "doc", b"2")  # 'first' becomes non-current only now
    world.clock.advance(seconds=2 * DAY)
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "age",
        _rules(
            {
                "ID": "noncurrent",
                "Status": "Enabled",
                "Filter": {},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 3},
            }
        ),
    )
    assert _run(world).versions_removed == 0
    world.clock.advance(seconds=DAY + 1)
    assert _run(world).versions_removed == 1
    assert first.version_id not in {row.version_id for row in world.rows("age")}


def test_expired_delete_markers_are_cleaned_up(world: StorageWorld) -> None:
    _versioned(world, "markers")
    world.put("markers", "gone", b"x")
    world.storage.objects.delete_object(world.caller(), "markers", "gone")
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "markers",
        _rules(
            {
                "ID": "noncurrent",
                "Status": "Enabled",
                "Filter": {},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            },
            {
                "ID": "dm",
                "Status": "Enabled",
                "Filter": {},
                "Expiration": {"ExpiredObjectDeleteMarker": True},
            },
        ),
    )
    world.clock.advance(seconds=2 * DAY)
    report = _run(world)
    assert report.versions_removed == 1
    assert report.delete_markers_removed == 1
    assert world.rows("markers") == []
    assert world.blobs() == []
    # Now the bucket is empty and can be deleted.
    world.storage.buckets.delete_bucket(world.caller(), "markers")


def test_disabled_rules_do_nothing(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "disabled")
    world.put("disabled", "a", b"x")
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "disabled",
        _rules({"ID": "off", "Status": "Disabled", "Filter": {}, "Expiration": {"Days": 1}}),
    )
    world.clock.advance(seconds=5 * DAY)
    assert _run(world).versions_removed == 0
    assert world.get("disabled", "a") == b"x"


def test_lifecycle_never_removes_a_locked_version(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "locked-lc", object_lock_enabled=True)
    world.storage.lock.put_object_lock_configuration(
        world.caller(),
        "locked-lc",
        ObjectLockConfiguration(
            default_retention=DefaultRetention(mode=RetentionMode.COMPLIANCE, days=100)
        ),
    )
    first = world.put("locked-lc", "doc", b"1")
    world.clock.advance(seconds=DAY)
    world.put("locked-lc", "doc", b"2")
    world.put(
        "locked-lc",
        "held",
        b"h",
        object_lock=ObjectLockRequest(legal_hold=True),
    )
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "locked-lc",
        _rules(
            {
                "ID": "everything",
                "Status": "Enabled",
                "Filter": {},
                "Expiration": {"Days": 1},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            }
        ),
    )
    world.clock.advance(seconds=50 * DAY)
    report = _run(world)
    # Delete markers may be added (as S3 does), but no locked version is removed.
    assert report.versions_removed == 0
    assert report.kept_locked >= 1
    rows = world.rows("locked-lc")
    assert first.version_id in {row.version_id for row in rows}
    assert len([row for row in rows if not row.is_delete_marker]) == 3
    assert world.get("locked-lc", "doc", version_id=first.version_id) == b"1"
    # After the retention ends, the next run removes the non-current versions.
    world.clock.advance(seconds=60 * DAY)
    report = _run(world)
    assert report.versions_removed >= 2
    remaining = [row for row in world.rows("locked-lc") if not row.is_delete_marker]
    # The version under legal hold stays, retention or not.
    assert [row.key for row in remaining] == ["held"]


def test_lifecycle_task_is_registered_daily(world: StorageWorld) -> None:
    definitions, schedules = lifecycle_tasks(world.storage.lifecycle_runner)
    assert [d.name for d in definitions] == [LIFECYCLE_TASK]
    assert schedules[0].task_name == LIFECYCLE_TASK


# -- ListObjectVersions -------------------------------------------------------------------------


def test_list_object_versions_pages_through_versions_and_markers(world: StorageWorld) -> None:
    _versioned(world, "versions")
    a1 = world.put("versions", "a", b"1").version_id
    a2 = world.put("versions", "a", b"2").version_id
    marker = world.storage.objects.delete_object(world.caller(), "versions", "a").version_id
    b1 = world.put("versions", "b", b"1").version_id
    world.put("versions", "other/c", b"1")
    everything = world.storage.list_object_versions(world.caller(), "versions")
    assert [
        (v.info.key, v.info.version_id, v.is_latest, v.info.is_delete_marker)
        for v in everything.versions
    ][:4] == [
        ("a", marker, True, True),
        ("a", a2, False, False),
        ("a", a1, False, False),
        ("b", b1, True, False),
    ]
    assert not everything.is_truncated
    seen = []
    key_marker: str | None = None
    version_marker: str | None = None
    while True:
        page = world.storage.list_object_versions(
            world.caller(),
            "versions",
            max_keys=2,
            key_marker=key_marker,
            version_id_marker=version_marker,
        )
        seen.extend((v.info.key, v.info.version_id) for v in page.versions)
        if not page.is_truncated:
            break
        key_marker, version_marker = page.next_key_marker, page.next_version_id_marker
    assert seen == [(v.info.key, v.info.version_id) for v in everything.versions]
    prefixed = world.storage.list_object_versions(world.caller(), "versions", prefix="other/")
    assert [v.info.key for v in prefixed.versions] == ["other/c"]
    after_a = world.storage.list_object_versions(world.caller(), "versions", key_marker="a")
    assert after_a.versions[0].info.key == "b"


def test_list_object_versions_needs_its_own_permission(world: StorageWorld) -> None:
    _versioned(world, "private-versions")
    for who in (READER, BOB, CAROL):
        with pytest.raises(AccessDenied):
            world.storage.list_object_versions(world.caller(who), "private-versions")
    with pytest.raises(InvalidParameterValue):
        world.storage.list_object_versions(
            world.caller(), "private-versions", version_id_marker="abc"
        )


def test_expiration_in_a_suspended_bucket_replaces_the_null_version(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "suspended")
    world.storage.buckets.put_bucket_versioning(world.caller(), "suspended", "Enabled")
    kept = world.put("suspended", "a", b"versioned")
    world.storage.buckets.put_bucket_versioning(world.caller(), "suspended", "Suspended")
    world.put("suspended", "a", b"null version")
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "suspended",
        _rules({"ID": "all", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}),
    )
    world.clock.advance(seconds=2 * DAY)
    report = _run(world)
    assert report.delete_markers_added == 1
    rows = world.rows("suspended")
    assert sorted((row.is_delete_marker, row.is_null_version) for row in rows) == [
        (False, False),
        (True, True),
    ]
    assert len(world.blobs()) == 1  # the null version's blob went; the versioned one stays
    assert world.get("suspended", "a", version_id=kept.version_id) == b"versioned"


def test_a_prefix_is_literal_text_not_a_pattern(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "literal")
    for key in ("tmp_a/1", "tmpXa/1", "tmp%/1", "tmp%x/1"):
        world.put("literal", key, b"x")
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "literal",
        _rules(
            {
                "ID": "u",
                "Status": "Enabled",
                "Filter": {"Prefix": "tmp_a/"},
                "Expiration": {"Days": 1},
            },
            {
                "ID": "p",
                "Status": "Enabled",
                "Filter": {"Prefix": "tmp%/"},
                "Expiration": {"Days": 1},
            },
        ),
    )
    world.clock.advance(seconds=2 * DAY)
    assert _run(world).versions_removed == 2
    listed = [o.key for o in world.storage.list_objects(world.caller(), "literal").objects]
    assert listed == ["tmp%x/1", "tmpXa/1"]
