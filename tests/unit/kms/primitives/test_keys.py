"""The plaintext data key never shows, pickles or compares its bytes."""

from __future__ import annotations

import pickle

import pytest

from lakevault.core.errors import InvalidParameterValue
from lakevault.kms import IntegrityError
from lakevault.kms._primitives import (
    ChunkCipher,
    ChunkedSuite,
    PlaintextDataKey,
    data_key_material_unsafe,
)
from tests.unit.kms.helpers import FixedRandom

MATERIAL = bytes(range(200, 232))


def test_repr_and_str_never_show_key_material() -> None:
    key = PlaintextDataKey.from_unwrapped_bytes_unsafe(MATERIAL)
    for text in (repr(key), str(key), f"{key!r}", repr([key])):
        assert MATERIAL.hex() not in text
        assert repr(MATERIAL) not in text
        assert "redacted" in text
    cipher = ChunkCipher(suite=ChunkedSuite.AES_256_GCM, aead_key=MATERIAL, base_nonce=bytes(12))
    assert repr(cipher) == "ChunkCipher(<key and nonce redacted>)"


def test_the_plain_constructor_refuses_to_run() -> None:
    with pytest.raises(TypeError, match="from_unwrapped_bytes_unsafe"):
        PlaintextDataKey(MATERIAL)


def test_the_wrap_step_can_read_the_material() -> None:
    key = PlaintextDataKey.from_unwrapped_bytes_unsafe(MATERIAL)
    assert data_key_material_unsafe(key) == MATERIAL


def test_pickling_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(PlaintextDataKey.from_unwrapped_bytes_unsafe(MATERIAL))


def test_equality_is_identity_not_value() -> None:
    one = PlaintextDataKey.from_unwrapped_bytes_unsafe(MATERIAL)
    assert one != PlaintextDataKey.from_unwrapped_bytes_unsafe(MATERIAL)
    assert one == one


def test_generate_draws_32_bytes_from_the_random_source() -> None:
    random = FixedRandom(MATERIAL)  # asserts the requested length is 32
    assert isinstance(PlaintextDataKey.generate(random), PlaintextDataKey)
    with pytest.raises(IndexError):
        random.token_bytes(32)  # the one prepared draw was used


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_only_256_bit_keys(size: int) -> None:
    with pytest.raises(InvalidParameterValue, match=f"32 bytes \\(AES-256\\), got {size} bytes"):
        PlaintextDataKey.from_unwrapped_bytes_unsafe(bytes(size))


def test_integrity_error_repr_carries_no_reason() -> None:
    from lakevault.kms import IntegrityFailure

    error = IntegrityError(IntegrityFailure.COMMITMENT_MISMATCH)
    assert "commitment" not in repr(error).lower()
    assert error.audit_reason is IntegrityFailure.COMMITMENT_MISMATCH
