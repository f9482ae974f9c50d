"""ListObjectsV2: prefix, delimiter, continuation tokens, max-keys, byte order."""

from __future__ import annotations

import pytest

from lakevault.core.errors import InvalidParameterValue
from tests.unit.storage.conftest import StorageWorld

KEYS = [
    "a.txt",
    "docs/2024/jan.csv",
    "docs/2024/feb.csv",
    "docs/2025/mar.csv",
    "docs/readme.md",
    "images/cat.png",
    "zeta",
    "Ünïcode/é",
]


@pytest.fixture
def filled(world: StorageWorld) -> StorageWorld:
    world.storage.buckets.create_bucket(world.caller(), "list")
    for key in KEYS:
        world.put("list", key, key.encode())
    return world


def _all_pages(world: StorageWorld, **options: object) -> tuple[list[str], list[str], int]:
    keys: list[str] = []
    prefixes: list[str] = []
    token = None
    pages = 0
    while True:
        page = world.storage.list_objects(
            world.caller(),
            "list",
            continuation_token=token,
            **options,  # type: ignore[arg-type]
        )
        pages += 1
        keys += [o.key for o in page.objects]
        prefixes += list(page.common_prefixes)
        if not page.is_truncated:
            return keys, prefixes, pages
        token = page.next_continuation_token


def test_flat_listing_is_in_utf8_byte_order(filled: StorageWorld) -> None:
    page = filled.storage.list_objects(filled.caller(), "list")
    assert [o.key for o in page.objects] == sorted(KEYS, key=lambda k: k.encode())
    assert not page.is_truncated and page.key_count == len(KEYS)


def test_prefix_and_delimiter(filled: StorageWorld) -> None:
    top = filled.storage.list_objects(filled.caller(), "list", delimiter="/")
    assert [o.key for o in top.objects] == ["a.txt", "zeta"]
    assert list(top.common_prefixes) == ["docs/", "images/", "Ünïcode/"]
    docs = filled.storage.list_objects(filled.caller(), "list", prefix="docs/", delimiter="/")
    assert [o.key for o in docs.objects] == ["docs/readme.md"]
    assert list(docs.common_prefixes) == ["docs/2024/", "docs/2025/"]
    deep = filled.storage.list_objects(filled.caller(), "list", prefix="docs/2024/")
    assert [o.key for o in deep.objects] == ["docs/2024/feb.csv", "docs/2024/jan.csv"]


@pytest.mark.parametrize("max_keys", [1, 2, 3, 1000])
def test_continuation_tokens_page_through_everything_once(
    filled: StorageWorld, max_keys: int
) -> None:
    keys, prefixes, pages = _all_pages(filled, max_keys=max_keys)
    assert keys == sorted(KEYS, key=lambda k: k.encode())
    assert prefixes == []
    assert pages >= -(-len(KEYS) // max_keys)
    keys, prefixes, _ = _all_pages(filled, max_keys=1, delimiter="/")
    assert keys == ["a.txt", "zeta"]
    assert prefixes == ["docs/", "images/", "Ünïcode/"]


def test_start_after_and_bad_tokens(filled: StorageWorld) -> None:
    page = filled.storage.list_objects(filled.caller(), "list", start_after="images/cat.png")
    assert [o.key for o in page.objects] == ["zeta", "Ünïcode/é"]
    with pytest.raises(InvalidParameterValue):
        filled.storage.list_objects(filled.caller(), "list", continuation_token="%%%")


def test_deleted_and_replaced_objects_are_listed_once_or_not_at_all(filled: StorageWorld) -> None:
    filled.storage.buckets.put_bucket_versioning(filled.caller(), "list", "Enabled")
    filled.put("list", "zeta", b"new")
    filled.storage.objects.delete_object(filled.caller(), "list", "a.txt")
    keys = [o.key for o in filled.storage.list_objects(filled.caller(), "list").objects]
    assert "a.txt" not in keys and keys.count("zeta") == 1
