"""KMS key material: data keys and small plaintexts are bound to key, version and context."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakevault.core import SystemRandom
from lakevault.core.errors import InvalidParameterValue
from lakevault.kms import (
    EncryptionContext,
    IntegrityError,
    KMSKeyMaterial,
    PlaintextDataKey,
    PlatformRootKey,
    PlatformTenantKeyWrapper,
    rewrap_key_material,
)

RANDOM = SystemRandom()
TENANT = "111111111111"
ARN = "arn:aws:kms:local:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CONTEXT = EncryptionContext.from_mapping({"bucket": "b", "key": "k"})
WRAPPER = PlatformTenantKeyWrapper(
    lambda: PlatformRootKey(bytes(range(32)), source="test"), random=RANDOM
)


def material(version: int = 1, arn: str = ARN) -> tuple[KMSKeyMaterial, bytes]:
    return KMSKeyMaterial.create_wrapped(
        WRAPPER, tenant_id=TENANT, key_arn=arn, key_version=version, random=RANDOM
    )


def test_wrapped_material_unwraps_to_a_working_key() -> None:
    key, wrapped = material()
    data_key = PlaintextDataKey.generate(RANDOM)
    sealed = key.wrap_data_key(data_key, context=CONTEXT, random=RANDOM)
    again = KMSKeyMaterial.unwrap(
        WRAPPER, tenant_id=TENANT, key_arn=ARN, key_version=1, wrapped=wrapped
    )
    opened = again.unwrap_data_key(sealed, context=CONTEXT)
    probe = again.encrypt(b"probe", context=CONTEXT, random=RANDOM)
    assert key.decrypt(probe, context=CONTEXT) == b"probe"
    assert isinstance(opened, PlaintextDataKey)


def test_material_of_one_version_does_not_unwrap_as_another() -> None:
    _, wrapped = material(1)
    with pytest.raises(IntegrityError):
        KMSKeyMaterial.unwrap(
            WRAPPER, tenant_id=TENANT, key_arn=ARN, key_version=2, wrapped=wrapped
        )


def test_a_data_key_does_not_open_under_another_context_version_or_key() -> None:
    key, _ = material(1)
    sealed = key.wrap_data_key(PlaintextDataKey.generate(RANDOM), context=CONTEXT, random=RANDOM)
    with pytest.raises(IntegrityError):
        key.unwrap_data_key(sealed, context=EncryptionContext.from_mapping({"bucket": "other"}))
    with pytest.raises(IntegrityError):
        material(2)[0].unwrap_data_key(sealed, context=CONTEXT)
    with pytest.raises(IntegrityError):
        material(1, ARN + "0")[0].unwrap_data_key(sealed, context=CONTEXT)


def test_a_flipped_bit_or_wrong_length_fails_closed() -> None:
    key, _ = material()
    sealed = bytearray(
        key.wrap_data_key(PlaintextDataKey.generate(RANDOM), context=CONTEXT, random=RANDOM)
    )
    sealed[20] ^= 1
    with pytest.raises(IntegrityError):
        key.unwrap_data_key(bytes(sealed), context=CONTEXT)
    with pytest.raises(IntegrityError):
        key.unwrap_data_key(bytes(sealed[:-1]), context=CONTEXT)
    with pytest.raises(IntegrityError):
        key.decrypt(b"short", context=CONTEXT)


def test_encrypt_round_trips_and_refuses_over_4_kib() -> None:
    key, _ = material()
    ciphertext = key.encrypt(b"x" * 4096, context=CONTEXT, random=RANDOM)
    assert key.decrypt(ciphertext, context=CONTEXT) == b"x" * 4096
    with pytest.raises(IntegrityError):
        key.decrypt(ciphertext, context=EncryptionContext.from_mapping({}))
    with pytest.raises(InvalidParameterValue, match="at most 4096"):
        key.encrypt(b"x" * 4097, context=CONTEXT, random=RANDOM)


def test_material_is_opaque() -> None:
    key, _ = material()
    assert "key_version=1" in repr(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        KMSKeyMaterial(b"m" * 32, key_arn=ARN, key_version=1, _token=object())


def test_rewrap_moves_material_between_tenant_levels() -> None:
    key, wrapped = material()
    other = PlatformTenantKeyWrapper(
        lambda: PlatformRootKey(bytes(range(1, 33)), source="test"), random=RANDOM
    )
    moved = rewrap_key_material(
        wrapped, source=WRAPPER, target=other, tenant_id=TENANT, key_arn=ARN, key_version=1
    )
    again = KMSKeyMaterial.unwrap(
        other, tenant_id=TENANT, key_arn=ARN, key_version=1, wrapped=moved
    )
    assert again.decrypt(key.encrypt(b"p", context=CONTEXT, random=RANDOM), context=CONTEXT) == b"p"
    with pytest.raises(IntegrityError):
        KMSKeyMaterial.unwrap(WRAPPER, tenant_id=TENANT, key_arn=ARN, key_version=1, wrapped=moved)


CONTEXTS = st.dictionaries(st.text(min_size=1, max_size=16), st.text(max_size=32), max_size=4).map(
    EncryptionContext.from_mapping
)


@given(st.binary(max_size=4096), CONTEXTS)
def test_encrypt_then_decrypt_is_the_identity(plaintext: bytes, context: EncryptionContext) -> None:
    key = SHARED[0]
    assert key.decrypt(key.encrypt(plaintext, context=context, random=RANDOM), context=context) == (
        plaintext
    )


@given(CONTEXTS, CONTEXTS)
def test_a_data_key_opens_only_under_its_own_context(
    context: EncryptionContext, other: EncryptionContext
) -> None:
    key = SHARED[0]
    sealed = key.wrap_data_key(PlaintextDataKey.generate(RANDOM), context=context, random=RANDOM)
    assert isinstance(key.unwrap_data_key(sealed, context=context), PlaintextDataKey)
    if other != context:
        with pytest.raises(IntegrityError):
            key.unwrap_data_key(sealed, context=other)


SHARED = material()
