"""Sealed secrets: they open with the same root key and context, and fail closed otherwise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakevault import kms
from lakevault.core import SystemRandom
from lakevault.kms import IntegrityError, PlatformRootKey

ROOT = PlatformRootKey(bytes(range(32)), source="test")
OTHER_ROOT = PlatformRootKey(bytes(range(1, 33)), source="test")
CONTEXT = "arn:aws:iam::123456789012:oidc-provider/login.example.com"


def seal(secret: str = "client-secret-value", **changes: str) -> bytes:
    arguments = {"purpose": "oidc-client-secret", "context": CONTEXT} | changes
    return kms.seal_secret(ROOT, secret, random=SystemRandom(), **arguments)


@given(st.text(max_size=512))
def test_a_sealed_secret_opens_to_itself(secret: str) -> None:
    sealed = seal(secret)
    assert kms.open_secret(ROOT, sealed, purpose="oidc-client-secret", context=CONTEXT) == secret


def test_the_secret_is_not_in_the_sealed_bytes_and_each_seal_differs() -> None:
    first, second = seal(), seal()
    assert b"client-secret-value" not in first and first != second


@pytest.mark.parametrize(
    ("root", "purpose", "context"),
    [
        (OTHER_ROOT, "oidc-client-secret", CONTEXT),
        (ROOT, "another-purpose", CONTEXT),
        (ROOT, "oidc-client-secret", CONTEXT + "-moved"),
    ],
)
def test_another_key_purpose_or_context_does_not_open(
    root: PlatformRootKey, purpose: str, context: str
) -> None:
    with pytest.raises(IntegrityError):
        kms.open_secret(root, seal(), purpose=purpose, context=context)


@pytest.mark.parametrize("position", [0, 1, 13, -1])
def test_any_flipped_byte_fails_closed(position: int) -> None:
    sealed = bytearray(seal())
    sealed[position] ^= 0x01
    with pytest.raises(IntegrityError) as caught:
        kms.open_secret(ROOT, bytes(sealed), purpose="oidc-client-secret", context=CONTEXT)
    assert "client-secret-value" not in repr(caught.value)


def test_a_truncated_value_fails_closed() -> None:
    with pytest.raises(IntegrityError):
        kms.open_secret(ROOT, seal()[:20], purpose="oidc-client-secret", context=CONTEXT)
