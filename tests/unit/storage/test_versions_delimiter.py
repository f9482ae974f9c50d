"""ListObjectVersions with a delimiter: CommonPrefixes as in S3, paging through prefixes and
versions, ``s3:delimiter`` in the gate's context — on both backends and both databases."""

from __future__ import annotations

import pytest

from lakevault import iam
from lakevault.core.errors import AccessDenied
from lakevault.storage import Versioning, VersionsPage
from tests.unit.storage.conftest import (
    READER,
    TENANT_A,
    StaticPolicies,
    StorageWorld,
    principal,
)

SLASHER = principal(TENANT_A, "slasher")  # ListBucketVersions only with s3:delimiter "/"


@pytest.fixture
def vw(world: StorageWorld) -> StorageWorld:
    policies: StaticPolicies = world.gate._policies  # type: ignore[attr-defined]
    policies.by_arn[SLASHER.arn] = (
        iam.parse_policy(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:ListBucketVersions",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"s3:delimiter": "/"}},
                    }
                ],
            },
            policy_id="slasher",
        ),
    )
    world.storage.buckets.create_bucket(world.caller(), "tree")
    world.storage.buckets.put_bucket_versioning(world.caller(), "tree", Versioning.ENABLED.value)
    for key in ("a/1", "a/1", "a/2", "b", "c/x/y", "c/z", "d", "e/"):
        world.put("tree", key, key.encode())
    world.storage.objects.delete_object(world.caller(), "tree", "b")
    return world


def _flat(page: VersionsPage) -> list[tuple[str, str | None]]:
    """Entries in S3's order: versions and common prefixes merged by key."""
    items: list[tuple[str, str | None]] = [(v.info.key, v.info.version_id) for v in page.versions]
    items += [(common, None) for common in page.common_prefixes]
    return sorted(items, key=lambda item: item[0])


def test_delimiter_rolls_keys_up_into_common_prefixes(vw: StorageWorld) -> None:
    page = vw.storage.list_object_versions(vw.caller(), "tree", delimiter="/")
    assert page.common_prefixes == ("a/", "c/", "e/")
    assert page.delimiter == "/"
    assert [(v.info.key, v.info.is_delete_marker) for v in page.versions] == [
        ("b", True),
        ("b", False),
        ("d", False),
    ]
    assert not page.is_truncated
    inner = vw.storage.list_object_versions(vw.caller(), "tree", prefix="c/", delimiter="/")
    assert inner.common_prefixes == ("c/x/",)
    assert [v.info.key for v in inner.versions] == ["c/z"]
    under_a = vw.storage.list_object_versions(vw.caller(), "tree", prefix="a/", delimiter="/")
    assert under_a.common_prefixes == ()
    assert [v.info.key for v in under_a.versions] == ["a/1", "a/1", "a/2"]
    without = vw.storage.list_object_versions(vw.caller(), "tree")
    assert without.common_prefixes == () and len(without.versions) == 9


@pytest.mark.parametrize("max_keys", [1, 2, 3])
def test_pages_of_any_size_add_up_to_the_whole_listing(vw: StorageWorld, max_keys: int) -> None:
    whole = _flat(vw.storage.list_object_versions(vw.caller(), "tree", delimiter="/"))
    seen: list[tuple[str, str | None]] = []
    key_marker: str | None = None
    version_marker: str | None = None
    for _ in range(20):
        page = vw.storage.list_object_versions(
            vw.caller(),
            "tree",
            delimiter="/",
            max_keys=max_keys,
            key_marker=key_marker,
            version_id_marker=version_marker,
        )
        assert len(page.versions) + len(page.common_prefixes) <= max_keys
        seen += _flat(page)
        if not page.is_truncated:
            break
        key_marker, version_marker = page.next_key_marker, page.next_version_id_marker
        if key_marker is not None and key_marker.endswith("/"):
            assert version_marker is None  # a page that ends on a common prefix
    assert seen == whole


def test_a_common_prefix_as_key_marker_resumes_after_everything_under_it(
    vw: StorageWorld,
) -> None:
    page = vw.storage.list_object_versions(vw.caller(), "tree", delimiter="/", key_marker="a/")
    assert page.common_prefixes == ("c/", "e/")
    assert page.versions[0].info.key == "b"


def test_the_delimiter_is_in_the_gates_context_and_denials_stay_denials(
    vw: StorageWorld,
) -> None:
    allowed = vw.storage.list_object_versions(vw.caller(SLASHER), "tree", delimiter="/")
    assert allowed.common_prefixes == ("a/", "c/", "e/")
    with pytest.raises(AccessDenied):
        vw.storage.list_object_versions(vw.caller(SLASHER), "tree")
    with pytest.raises(AccessDenied):
        vw.storage.list_object_versions(vw.caller(SLASHER), "tree", delimiter="-")
    with pytest.raises(AccessDenied):
        vw.storage.list_object_versions(vw.caller(READER), "tree", delimiter="/")
    denied = [
        e
        for e in vw.events()
        if e["eventName"] == "ListBucketVersions" and e.get("errorCode") == "AccessDenied"
    ]
    assert len(denied) == 3
