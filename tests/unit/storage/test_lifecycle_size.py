"""Lifecycle rules filtered by object size (``ObjectSizeGreaterThan``/``ObjectSizeLessThan``,
alone or in an ``And`` with a prefix), as S3 — on both backends and both databases. Objects
have no tags in lakevault, so tag filters are ``NotImplemented``."""

from __future__ import annotations

from typing import Any

import pytest

from lakevault.core.errors import AccessDenied, InvalidParameterValue
from tests.unit.storage.conftest import READER, StorageWorld
from tests.unit.storage.test_lifecycle import DAY, _lifecycle_events, _rules, _run, _versioned


def _rule(filter_: dict[str, Any], **actions: Any) -> dict[str, Any]:
    return {"ID": "sized", "Status": "Enabled", "Filter": filter_, **actions}


EXPIRE = {"Expiration": {"Days": 1}}


@pytest.mark.parametrize(
    "filter_",
    [
        {"ObjectSizeGreaterThan": 100},
        {"ObjectSizeLessThan": 5000},
        {"And": {"Prefix": "logs/", "ObjectSizeGreaterThan": 100, "ObjectSizeLessThan": 5000}},
        {"And": {"ObjectSizeGreaterThan": 0, "ObjectSizeLessThan": 1}},
    ],
)
def test_size_filters_round_trip(world: StorageWorld, filter_: dict[str, Any]) -> None:
    world.storage.buckets.create_bucket(world.caller(), "sized")
    lifecycle = world.storage.lifecycle
    lifecycle.put_bucket_lifecycle_configuration(
        world.caller(), "sized", _rules(_rule(filter_, **EXPIRE))
    )
    (rule,) = lifecycle.get_bucket_lifecycle_configuration(world.caller(), "sized")
    assert rule.to_json()["Filter"] == filter_


@pytest.mark.parametrize(
    ("filter_", "actions", "code"),
    [
        ({"Tag": {"Key": "k", "Value": "v"}}, EXPIRE, "NotImplemented"),
        ({"And": {"Prefix": "a/", "Tags": [{"Key": "k", "Value": "v"}]}}, EXPIRE, "NotImplemented"),
        ({"ObjectSizeGreaterThan": 500, "ObjectSizeLessThan": 900}, EXPIRE, "MalformedXML"),
        ({"And": {"ObjectSizeGreaterThan": 5}}, EXPIRE, "MalformedXML"),
        ({"And": {"Prefix": "a/", "Size": 5}}, EXPIRE, "MalformedXML"),
        (
            {"And": {"ObjectSizeGreaterThan": 900, "ObjectSizeLessThan": 900}},
            EXPIRE,
            "InvalidArgument",
        ),
        ({"ObjectSizeGreaterThan": -1}, EXPIRE, "InvalidArgument"),
        ({"ObjectSizeLessThan": 0}, EXPIRE, "InvalidArgument"),
        ({"ObjectSizeLessThan": "10"}, EXPIRE, "InvalidArgument"),
        (
            {"ObjectSizeGreaterThan": 1},
            {"Expiration": {"ExpiredObjectDeleteMarker": True}},
            "InvalidArgument",
        ),
        (
            {"ObjectSizeGreaterThan": 1},
            {"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
            "InvalidArgument",
        ),
    ],
)
def test_bad_size_filters_are_refused_and_nothing_is_stored(
    world: StorageWorld, filter_: dict[str, Any], actions: dict[str, Any], code: str
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "sized")
    with pytest.raises(InvalidParameterValue) as refused:
        world.storage.lifecycle.put_bucket_lifecycle_configuration(
            world.caller(), "sized", _rules(_rule(filter_, **actions))
        )
    assert refused.value.code == code
    assert world.storage.lifecycle_runner().run().versions_removed == 0


def test_expiration_removes_only_current_objects_within_the_size_range(
    world: StorageWorld,
) -> None:
    world.storage.buckets.create_bucket(world.caller(), "plain")
    sizes = {"logs/tiny": 10, "logs/mid": 1000, "logs/huge": 100_000, "other/mid": 1000}
    for key, size in sizes.items():
        world.put("plain", key, b"x" * size)
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "plain",
        _rules(
            _rule(
                {
                    "And": {
                        "Prefix": "logs/",
                        "ObjectSizeGreaterThan": 10,
                        "ObjectSizeLessThan": 100_000,
                    }
                },
                **EXPIRE,
            )
        ),
    )
    world.clock.advance(seconds=DAY + 1)
    assert _run(world).versions_removed == 1
    assert sorted(row.key for row in world.rows("plain")) == ["logs/huge", "logs/tiny", "other/mid"]
    assert len(world.blobs()) == 3
    (event,) = _lifecycle_events(world)
    assert "sized" in str(event) and "logs/mid" in str(event)


def test_noncurrent_expiration_removes_only_versions_within_the_size_range(
    world: StorageWorld,
) -> None:
    _versioned(world, "versions")
    small = world.put("versions", "doc", b"s" * 50).version_id
    big = world.put("versions", "doc", b"b" * 5000).version_id
    world.storage.objects.delete_object(world.caller(), "versions", "doc")  # a marker
    current = world.put("versions", "doc", b"c" * 5000).version_id
    world.clock.advance(seconds=3 * DAY)
    world.storage.lifecycle.put_bucket_lifecycle_configuration(
        world.caller(),
        "versions",
        _rules(
            _rule({"ObjectSizeGreaterThan": 100}, NoncurrentVersionExpiration={"NoncurrentDays": 1})
        ),
    )
    report = _run(world)
    assert report.versions_removed == 1
    remaining = {row.version_id for row in world.rows("versions") if not row.is_delete_marker}
    assert remaining == {small, current} and big not in remaining
    assert len([row for row in world.rows("versions") if row.is_delete_marker]) == 1


def test_a_size_filter_needs_the_lifecycle_permission(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "sized")
    with pytest.raises(AccessDenied):
        world.storage.lifecycle.put_bucket_lifecycle_configuration(
            world.caller(READER), "sized", _rules(_rule({"ObjectSizeLessThan": 10}, **EXPIRE))
        )
    denied = [
        e
        for e in world.events()
        if e["eventName"] == "PutLifecycleConfiguration" and e.get("errorCode") == "AccessDenied"
    ]
    assert len(denied) == 1
