"""AES-GCM against every vector of Wycheproof's aes_gcm_test.json (read in place).

lakevault's primitive accepts 96-bit nonces only (docs/decisions/0094), so for a vector with
another IV size the expected outcome is rejection: sealing refuses the nonce and opening fails
closed with the one integrity error. Every 96-bit vector must give exactly Wycheproof's result.
"""

from __future__ import annotations

from typing import Any

import pytest

from lakevault.core.errors import InvalidParameterValue
from lakevault.kms import IntegrityError, IntegrityFailure
from lakevault.kms._primitives import NONCE_BYTES, AESGCMCipher
from tests.unit.kms.helpers import vector_params


@pytest.mark.parametrize(("group", "test"), vector_params("aes_gcm_test.json"))
def test_wycheproof_aes_gcm(group: dict[str, Any], test: dict[str, Any]) -> None:
    key, nonce, aad, message, ciphertext, tag = (
        bytes.fromhex(test[name]) for name in ("key", "iv", "aad", "msg", "ct", "tag")
    )
    cipher = AESGCMCipher(key)
    if len(nonce) != NONCE_BYTES:
        with pytest.raises(InvalidParameterValue):
            cipher.seal(nonce, message, aad)
        with pytest.raises(IntegrityError) as failure:
            cipher.open(nonce, ciphertext + tag, aad)
        assert failure.value.audit_reason is IntegrityFailure.INVALID_NONCE
        return
    if test["result"] == "valid":
        assert cipher.seal(nonce, message, aad) == ciphertext + tag
        assert cipher.open(nonce, ciphertext + tag, aad) == message
    else:
        assert test["result"] == "invalid"
        with pytest.raises(IntegrityError) as failure:
            cipher.open(nonce, ciphertext + tag, aad)
        assert failure.value.audit_reason is IntegrityFailure.CHUNK_NOT_AUTHENTIC


def test_open_refuses_input_shorter_than_a_tag() -> None:
    cipher = AESGCMCipher(bytes(32))
    with pytest.raises(IntegrityError) as failure:
        cipher.open(bytes(12), bytes(15), b"")
    assert failure.value.audit_reason is IntegrityFailure.INVALID_LENGTH


@pytest.mark.parametrize("size", [0, 15, 20, 33])
def test_key_of_a_size_aes_does_not_have_is_refused(size: int) -> None:
    with pytest.raises(InvalidParameterValue, match=f"got {size} bytes"):
        AESGCMCipher(bytes(size))


def test_repr_hides_the_key() -> None:
    key = bytes(range(32))
    assert key.hex() not in repr(AESGCMCipher(key))
    assert repr(AESGCMCipher(key)) == "AESGCMCipher(<key redacted>)"
