"""The tenant level: material wraps per tenant and slot, and fails closed everywhere else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakevault.core import SystemRandom
from lakevault.core.errors import InvalidParameterValue
from lakevault.kms import (
    IntegrityError,
    PlatformRootKey,
    PlatformTenantKeyWrapper,
    TenantKeyWrapper,
)

ROOT = PlatformRootKey(bytes(range(32)), source="test")
OTHER_ROOT = PlatformRootKey(bytes(range(1, 33)), source="test")
TENANT = "111111111111"
AAD = b"arn:aws:kms:local:111111111111:key/k#1"


def wrapper(root: PlatformRootKey = ROOT) -> PlatformTenantKeyWrapper:
    return PlatformTenantKeyWrapper(lambda: root, random=SystemRandom())


def test_the_platform_wrapper_fits_the_protocol() -> None:
    implementation: TenantKeyWrapper = wrapper()
    assert implementation.unwrap(TENANT, implementation.wrap(TENANT, b"m" * 32, aad=AAD), aad=AAD)


@given(st.binary(min_size=1, max_size=64), st.binary(max_size=64))
def test_material_unwraps_to_itself(material: bytes, aad: bytes) -> None:
    box = wrapper()
    assert box.unwrap(TENANT, box.wrap(TENANT, material, aad=aad), aad=aad) == material


def test_the_material_is_not_in_the_wrapped_bytes_and_each_wrap_differs() -> None:
    box = wrapper()
    material = b"\x42" * 32
    first, second = box.wrap(TENANT, material, aad=AAD), box.wrap(TENANT, material, aad=AAD)
    assert material not in first and first != second


@pytest.mark.parametrize(
    ("root", "tenant", "aad"),
    [
        (OTHER_ROOT, TENANT, AAD),
        (ROOT, "222222222222", AAD),
        (ROOT, TENANT, AAD + b"-moved"),
    ],
    ids=["other-root-key", "other-tenant", "other-slot"],
)
def test_unwrap_fails_closed_elsewhere(root: PlatformRootKey, tenant: str, aad: bytes) -> None:
    wrapped = wrapper().wrap(TENANT, b"m" * 32, aad=AAD)
    with pytest.raises(IntegrityError):
        wrapper(root).unwrap(tenant, wrapped, aad=aad)


@pytest.mark.parametrize("position", [0, 1, 13, -1])
def test_a_flipped_bit_fails_closed(position: int) -> None:
    wrapped = bytearray(wrapper().wrap(TENANT, b"m" * 32, aad=AAD))
    wrapped[position] ^= 1
    with pytest.raises(IntegrityError):
        wrapper().unwrap(TENANT, bytes(wrapped), aad=AAD)


def test_short_input_fails_closed() -> None:
    with pytest.raises(IntegrityError):
        wrapper().unwrap(TENANT, b"\x01" * 20, aad=AAD)


def test_empty_material_and_empty_tenant_are_refused() -> None:
    with pytest.raises(InvalidParameterValue):
        wrapper().wrap(TENANT, b"", aad=AAD)
    with pytest.raises(InvalidParameterValue):
        wrapper().wrap("", b"m" * 32, aad=AAD)


def test_repr_shows_no_key() -> None:
    assert "redacted" in repr(wrapper())
