"""The encryption context: canonical, order-independent, injective, and strict about input."""

from __future__ import annotations

import hashlib

import pytest

from lakevault.core.errors import InvalidParameterValue
from lakevault.kms import EncryptionContext


def test_canonical_bytes_follow_the_documented_layout() -> None:
    context = EncryptionContext.from_mapping({"b": "2", "a": "1"})
    assert context.canonical_bytes() == (
        b"lakevault.kms/encryption-context/v1\x00"
        b"\x00\x00\x00\x02"
        b"\x00\x00\x00\x01a\x00\x00\x00\x011"
        b"\x00\x00\x00\x01b\x00\x00\x00\x012"
    )
    assert context.sha256() == hashlib.sha256(context.canonical_bytes()).digest()


def test_insertion_order_does_not_matter() -> None:
    one = EncryptionContext.from_mapping({"tenant": "1", "bucket": "b", "key": "k"})
    other = EncryptionContext.from_mapping({"key": "k", "tenant": "1", "bucket": "b"})
    assert one == other
    assert one.sha256() == other.sha256()


def test_boundaries_between_names_and_values_cannot_be_shifted() -> None:
    assert (
        EncryptionContext.from_mapping({"a": "bc"}).sha256()
        != EncryptionContext.from_mapping({"ab": "c"}).sha256()
    )
    assert (
        EncryptionContext.from_mapping({"a": "", "b": ""}).sha256()
        != EncryptionContext.from_mapping({"a": "\x00\x00\x00\x01b"}).sha256()
    )


def test_names_sort_by_their_utf8_bytes() -> None:
    context = EncryptionContext.from_mapping({"é": "1", "z": "2", "Z": "3"})
    assert [name for name, _ in context.pairs] == ["Z", "z", "é"]


def test_the_object_context_names_tenant_bucket_key_and_version() -> None:
    context = EncryptionContext.for_object(
        tenant="123456789012", bucket="reports", key="a/b.csv", version_id="null"
    )
    assert context.as_dict() == {
        "tenant": "123456789012",
        "bucket": "reports",
        "key": "a/b.csv",
        "version-id": "null",
    }


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ((("", "v"),), "must not be empty"),
        ((("b", "1"), ("a", "2")), "sorted"),
        ((("a", "1"), ("a", "2")), "unique"),
        ((("a", "\ud800"),), "lone surrogate"),
        ((("a", 1),), "must be strings"),
        ((("a", "x" * 70000),), "at most 65536 bytes"),
    ],
)
def test_invalid_contexts_are_refused(pairs: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        EncryptionContext(pairs=pairs)
