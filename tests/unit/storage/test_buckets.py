"""Buckets: names, per-bucket KMS keys, deletion only when empty, tags, versioning, policies."""

from __future__ import annotations

import json

import pytest

from lakevault import iam
from lakevault.core.errors import AccessDenied, InvalidParameterValue, MalformedPolicyDocument
from lakevault.storage import (
    BucketAlreadyExists,
    BucketNotEmpty,
    InvalidBucketName,
    NoSuchBucket,
    NoSuchBucketPolicy,
    Versioning,
    is_public,
)
from tests.unit.storage.conftest import ALICE, BOB, CAROL, TENANT_A, TENANT_B, StorageWorld


def _policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_create_list_head_and_delete(world: StorageWorld) -> None:
    buckets = world.storage.buckets
    created = buckets.create_bucket(world.caller(), "alpha", tags={"team": "red"})
    buckets.create_bucket(world.caller(), "beta")
    buckets.create_bucket(world.caller(CAROL), "gamma")
    assert created.account_id == TENANT_A
    assert created.versioning is Versioning.UNVERSIONED
    assert created.block_public_access
    assert dict(created.tags) == {"team": "red"}
    assert [b.name for b in buckets.list_buckets(world.caller())] == ["alpha", "beta"]
    assert [b.name for b in buckets.list_buckets(world.caller(CAROL))] == ["gamma"]
    assert buckets.head_bucket(world.caller(), "alpha").name == "alpha"
    buckets.delete_bucket(world.caller(), "beta")
    assert [b.name for b in buckets.list_buckets(world.caller())] == ["alpha"]
    with pytest.raises(NoSuchBucket):
        buckets.head_bucket(world.caller(), "beta")


def test_each_bucket_gets_its_own_kms_key_and_deletion_schedules_it(
    world: StorageWorld,
) -> None:
    buckets = world.storage.buckets
    one = buckets.create_bucket(world.caller(), "one")
    two = buckets.create_bucket(world.caller(), "two")
    assert one.kms_key_id != two.kms_key_id
    buckets.delete_bucket(world.caller(), "one")
    events = [e["eventName"] for e in world.events()]
    assert "CreateBucket" in events and "DeleteBucket" in events
    assert "ScheduleKeyDeletion" in events


def test_names_are_global_and_checked(world: StorageWorld) -> None:
    buckets = world.storage.buckets
    buckets.create_bucket(world.caller(), "taken")
    with pytest.raises(BucketAlreadyExists) as mine:
        buckets.create_bucket(world.caller(), "taken")
    assert mine.value.code == "BucketAlreadyOwnedByYou"
    with pytest.raises(BucketAlreadyExists) as theirs:
        buckets.create_bucket(world.caller(CAROL), "taken")
    assert theirs.value.code == "BucketAlreadyExists"
    for bad in ["ab", "UPPER", "a..b", "-start", "end-", "192.168.1.1", "xn--abc", "a_b", "x" * 64]:
        with pytest.raises(InvalidBucketName):
            buckets.create_bucket(world.caller(), bad)


def test_only_an_empty_bucket_can_be_deleted(world: StorageWorld) -> None:
    buckets = world.storage.buckets
    buckets.create_bucket(world.caller(), "full")
    buckets.put_bucket_versioning(world.caller(), "full", "Enabled")
    world.put("full", "a", b"x")
    world.storage.objects.delete_object(world.caller(), "full", "a")
    with pytest.raises(BucketNotEmpty):
        buckets.delete_bucket(world.caller(), "full")
    assert buckets.head_bucket(world.caller(), "full")
    for row in world.rows("full"):
        world.storage.objects.delete_object(world.caller(), "full", "a", version_id=row.version_id)
    buckets.delete_bucket(world.caller(), "full")


def test_bucket_actions_are_denied_without_permission(world: StorageWorld) -> None:
    buckets = world.storage.buckets
    with pytest.raises(AccessDenied):
        buckets.create_bucket(world.caller(BOB), "bobs")
    buckets.create_bucket(world.caller(), "alices")
    with pytest.raises(AccessDenied):
        buckets.delete_bucket(world.caller(BOB), "alices")
    with pytest.raises(AccessDenied):
        buckets.delete_bucket(world.caller(CAROL), "alices")
    with pytest.raises(AccessDenied):
        buckets.put_bucket_versioning(world.caller(CAROL), "alices", "Enabled")
    assert buckets.head_bucket(world.caller(), "alices").versioning is Versioning.UNVERSIONED
    denied = [e for e in world.events() if e.get("errorCode") == "AccessDenied"]
    assert {e["eventName"] for e in denied} >= {"CreateBucket", "DeleteBucket"}


def test_tags_and_versioning(world: StorageWorld) -> None:
    buckets = world.storage.buckets
    buckets.create_bucket(world.caller(), "bk1")
    buckets.put_bucket_tagging(world.caller(), "bk1", {"cost-center": "42"})
    assert dict(buckets.get_bucket_tagging(world.caller(), "bk1")) == {"cost-center": "42"}
    with pytest.raises(InvalidParameterValue):
        buckets.put_bucket_tagging(world.caller(), "bk1", {"aws:reserved": "x"})
    buckets.put_bucket_versioning(world.caller(), "bk1", "Enabled")
    assert buckets.get_bucket_versioning(world.caller(), "bk1") is Versioning.ENABLED
    buckets.put_bucket_versioning(world.caller(), "bk1", "Suspended")
    assert buckets.get_bucket_versioning(world.caller(), "bk1") is Versioning.SUSPENDED
    with pytest.raises(InvalidParameterValue):
        buckets.put_bucket_versioning(world.caller(), "bk1", "Unversioned")


def test_bucket_policy_lifecycle_and_validation(world: StorageWorld) -> None:
    buckets = world.storage.buckets
    buckets.create_bucket(world.caller(), "pol")
    with pytest.raises(NoSuchBucketPolicy):
        buckets.get_bucket_policy(world.caller(), "pol")
    good = _policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{TENANT_B}:root"},
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::pol",
        }
    )
    buckets.put_bucket_policy(world.caller(), "pol", good)
    assert buckets.get_bucket_policy(world.caller(), "pol") == good
    with pytest.raises(MalformedPolicyDocument):
        buckets.put_bucket_policy(
            world.caller(),
            "pol",
            _policy(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{TENANT_B}:root"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::other-bucket/*",
                }
            ),
        )
    buckets.delete_bucket_policy(world.caller(), "pol")
    with pytest.raises(NoSuchBucketPolicy):
        buckets.get_bucket_policy(world.caller(), "pol")


def test_block_public_access_refuses_public_policies(world: StorageWorld) -> None:
    buckets = world.storage.buckets
    buckets.create_bucket(world.caller(), "pub")
    public = _policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::pub/*",
        }
    )
    with pytest.raises(AccessDenied) as refused:
        buckets.put_bucket_policy(world.caller(), "pub", public)
    assert "BlockPublicPolicy" in refused.value.message
    with pytest.raises(NoSuchBucketPolicy):
        buckets.get_bucket_policy(world.caller(), "pub")
    # Pinning everyone to one network is not public, and is then enforced by the engine.
    pinned = _policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::pub/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}},
        }
    )
    buckets.put_bucket_policy(world.caller(), "pub", pinned)


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        ({"Principal": "*"}, True),
        ({"Principal": {"AWS": "*"}}, True),
        ({"Principal": {"AWS": "arn:aws:iam::222222222222:root"}}, False),
        ({"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": "1"}}}, False),
        ({"Principal": "*", "Condition": {"StringLike": {"aws:PrincipalAccount": "*"}}}, True),
        ({"Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}, True),
        ({"Principal": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, True),
    ],
)
def test_what_counts_as_public(statement: dict[str, object], public: bool) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
            | statement
        ],
    }
    policy = iam.parse_policy(document, kind=iam.PolicyKind.RESOURCE)
    assert is_public(policy) is public


def test_bucket_policy_conditions_secure_transport_source_ip_and_prefix(
    world: StorageWorld,
) -> None:
    buckets = world.storage.buckets
    buckets.create_bucket(world.caller(), "cond")
    world.put("cond", "public/a", b"a")
    world.put("cond", "private/b", b"b")
    buckets.put_bucket_policy(
        world.caller(),
        "cond",
        _policy(
            {
                "Sid": "DenyPlainHTTP",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::cond", "arn:aws:s3:::cond/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "OnlyFromOffice",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::cond/*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            },
            {
                "Sid": "ListOnlyPublic",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::cond",
                "Condition": {"StringNotLike": {"s3:prefix": "public/*"}},
            },
        ),
    )
    office = {"secure_transport": True, "source_ip": "203.0.113.7"}
    objects = world.storage.objects
    assert objects.open_object(world.caller(**office), "cond", "public/a").read_all() == b"a"
    with pytest.raises(AccessDenied):
        objects.open_object(world.caller(source_ip="203.0.113.7"), "cond", "public/a")
    with pytest.raises(AccessDenied):
        objects.open_object(
            world.caller(secure_transport=True, source_ip="192.0.2.1"), "cond", "public/a"
        )
    page = world.storage.list_objects(world.caller(**office), "cond", prefix="public/")
    assert [o.key for o in page.objects] == ["public/a"]
    with pytest.raises(AccessDenied):
        world.storage.list_objects(world.caller(**office), "cond", prefix="private/")
    sids = {
        s["sid"]
        for e in world.events()
        if e.get("errorCode") == "AccessDenied"
        for s in e["decision"]["statements"]
    }
    assert sids == {"DenyPlainHTTP", "OnlyFromOffice", "ListOnlyPublic"}
    assert ALICE.account_id == TENANT_A
