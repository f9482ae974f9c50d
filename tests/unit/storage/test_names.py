"""Object keys: S3's limits plus lakevault's path-safety rules, each with its precise error."""

from __future__ import annotations

import pytest

from lakevault.storage import InvalidObjectKey, check_object_key
from tests.unit.storage.conftest import StorageWorld


@pytest.mark.parametrize(
    ("key", "code", "fragment"),
    [
        ("", "InvalidArgument", "empty"),
        ("k" * 1025, "KeyTooLongError", "1025 bytes"),
        ("é" * 513, "KeyTooLongError", "1026 bytes"),
        ("..", "InvalidObjectName", "'..'"),
        ("a/../b", "InvalidObjectName", "'..'"),
        ("a/./b", "InvalidObjectName", "'.'"),
        ("tab\there", "InvalidObjectName", "U+0009 at position 3"),
        ("nul\x00", "InvalidObjectName", "U+0000"),
        ("del\x7f", "InvalidObjectName", "U+007F"),
        ("line\nbreak", "InvalidObjectName", "U+000A"),
        ("\ud800", "InvalidArgument", "surrogate"),
    ],
)
def test_bad_keys_are_refused_with_the_rule_they_break(key: str, code: str, fragment: str) -> None:
    with pytest.raises(InvalidObjectKey) as refused:
        check_object_key(key)
    assert refused.value.code == code
    assert refused.value.http_status == 400
    assert fragment in refused.value.message


@pytest.mark.parametrize("key", ["a", "k" * 1024, "é" * 512, "a/b/c.txt", "...", "a..b", " "])
def test_good_keys_pass(key: str) -> None:
    assert check_object_key(key) == key


def test_a_bad_key_is_refused_before_anything_is_stored(world: StorageWorld) -> None:
    world.storage.buckets.create_bucket(world.caller(), "names")
    before = len(world.events())
    with pytest.raises(InvalidObjectKey):
        world.put("names", "a/../b", b"x")
    assert world.rows("names") == [] and world.blobs() == []
    assert len(world.events()) == before
