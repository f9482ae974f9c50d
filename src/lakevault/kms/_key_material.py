"""The material of one KMS key version, unwrapped in memory: it wraps data keys and small data.

A KMS key (``lakevault.keys``) has versions; each version's 256-bit material is stored only
wrapped by the tenant level (:class:`~lakevault.kms.TenantKeyWrapper`). :class:`KMSKeyMaterial`
is the unwrapped form, opaque outside ``kms``: the key service asks it to wrap and unwrap data
keys (``GenerateDataKey``, ``Decrypt`` of a data key) and to encrypt small plaintexts
(``Encrypt``, at most 4 KiB as in AWS KMS). Its bytes never leave this package.

Every ciphertext it makes is ``nonce (12 B, random) ‖ AES-256-GCM ciphertext ‖ tag (16 B)`` with
associated data that binds the purpose, the key ARN, the key version
(:func:`_associated_data_prefix`) and the canonical encryption context. So a wrapped data key
moved to another key, version or context does not open, and every failure is one
:class:`~lakevault.kms.IntegrityError`.
"""

from __future__ import annotations

from typing import NoReturn

from lakevault.core import RandomSource
from lakevault.core.errors import InvalidParameterValue
from lakevault.kms._encryption_context import EncryptionContext
from lakevault.kms._errors import IntegrityError, IntegrityFailure
from lakevault.kms._primitives import NONCE_BYTES, TAG_BYTES, AESGCMCipher, PlaintextDataKey
from lakevault.kms._primitives import data_key_material_unsafe as _data_key_bytes
from lakevault.kms._tenant_keys import TenantKeyWrapper

#: Bytes of material per KMS key version (AES-256).
KMS_KEY_MATERIAL_BYTES = 32
#: The most ``Encrypt`` accepts, as in AWS KMS.
MAX_DIRECT_PLAINTEXT_BYTES = 4096
#: A wrapped data key's length: nonce, 32 key bytes, tag.
WRAPPED_DATA_KEY_BYTES = NONCE_BYTES + 32 + TAG_BYTES

_DATA_KEY_PURPOSE = b"data-key"
_DIRECT_PURPOSE = b"ciphertext"


def _associated_data_prefix(purpose: bytes, key_arn: str, key_version: int) -> bytes:
    """The associated data up to the context: purpose, key ARN and version (lengths fixed)."""
    arn = key_arn.encode("utf-8")
    return b"".join(
        (
            b"lakevault.kms/key-material/v1\x00",
            purpose,
            b"\x00",
            len(arn).to_bytes(4, "big"),
            arn,
            key_version.to_bytes(4, "big"),
        )
    )


def material_aad(key_arn: str, key_version: int) -> bytes:
    """The ``aad`` a tenant wrapper binds one key version's material to."""
    return f"{key_arn}#{key_version}".encode()


class KMSKeyMaterial:
    """One KMS key version's unwrapped material. Opaque: no bytes, no equality, no pickling.

    .. warning::

       Holds key material in memory. Keep it only as long as the key service's cache allows
       (docs/keys.md, "Caching"), and drop it when the key is disabled or destroyed.
    """

    __slots__ = ("_aad_prefixes", "_cipher", "key_arn", "key_version")

    def __init__(self, material: bytes, *, key_arn: str, key_version: int, _token: object) -> None:
        if _token is not _TOKEN:
            raise TypeError("use KMSKeyMaterial.create_wrapped or KMSKeyMaterial.unwrap")
        if len(material) != KMS_KEY_MATERIAL_BYTES:
            raise IntegrityError(IntegrityFailure.INVALID_KEY)
        self._cipher = AESGCMCipher(material)
        self.key_arn = key_arn
        self.key_version = key_version
        # The associated data's fixed part, per purpose; the context's bytes follow it.
        self._aad_prefixes = {
            purpose: _associated_data_prefix(purpose, key_arn, key_version)
            for purpose in (_DATA_KEY_PURPOSE, _DIRECT_PURPOSE)
        }

    def __repr__(self) -> str:
        return f"KMSKeyMaterial(key_arn={self.key_arn!r}, key_version={self.key_version})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("KMS key material cannot be pickled: it stays in memory")

    @classmethod
    def create_wrapped(
        cls,
        wrapper: TenantKeyWrapper,
        *,
        tenant_id: str,
        key_arn: str,
        key_version: int,
        random: RandomSource,
    ) -> tuple[KMSKeyMaterial, bytes]:
        """New random material for a key version: the usable object and its wrapped bytes."""
        material = random.token_bytes(KMS_KEY_MATERIAL_BYTES)
        wrapped = wrapper.wrap(tenant_id, material, aad=material_aad(key_arn, key_version))
        return cls(material, key_arn=key_arn, key_version=key_version, _token=_TOKEN), wrapped

    @classmethod
    def unwrap(
        cls,
        wrapper: TenantKeyWrapper,
        *,
        tenant_id: str,
        key_arn: str,
        key_version: int,
        wrapped: bytes,
    ) -> KMSKeyMaterial:
        """The material of ``wrapped``; ``IntegrityError`` if it is not this version's."""
        material = wrapper.unwrap(tenant_id, wrapped, aad=material_aad(key_arn, key_version))
        return cls(material, key_arn=key_arn, key_version=key_version, _token=_TOKEN)

    def _aad(self, purpose: bytes, context: EncryptionContext) -> bytes:
        return self._aad_prefixes[purpose] + context.canonical_bytes()

    def wrap_data_key(
        self, data_key: PlaintextDataKey, *, context: EncryptionContext, random: RandomSource
    ) -> bytes:
        """``data_key`` sealed under this version, bound to ``context``."""
        nonce = random.token_bytes(NONCE_BYTES)
        return nonce + self._cipher.seal(
            nonce, _data_key_bytes(data_key), self._aad(_DATA_KEY_PURPOSE, context)
        )

    def unwrap_data_key(self, wrapped: bytes, *, context: EncryptionContext) -> PlaintextDataKey:
        """The data key of ``wrapped``; ``IntegrityError`` for another key, version or context."""
        if len(wrapped) != WRAPPED_DATA_KEY_BYTES:
            raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
        material = self._cipher.open(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], self._aad(_DATA_KEY_PURPOSE, context)
        )
        return PlaintextDataKey.from_unwrapped_bytes_unsafe(material)

    def encrypt(
        self, plaintext: bytes, *, context: EncryptionContext, random: RandomSource
    ) -> bytes:
        """``Encrypt``: at most 4 KiB of ``plaintext`` sealed under this version."""
        if len(plaintext) > MAX_DIRECT_PLAINTEXT_BYTES:
            raise InvalidParameterValue(
                f"Plaintext may be at most {MAX_DIRECT_PLAINTEXT_BYTES} bytes, got "
                f"{len(plaintext)}; encrypt larger data under a data key (GenerateDataKey)"
            )
        nonce = random.token_bytes(NONCE_BYTES)
        return nonce + self._cipher.seal(nonce, plaintext, self._aad(_DIRECT_PURPOSE, context))

    def decrypt(self, ciphertext: bytes, *, context: EncryptionContext) -> bytes:
        """``Decrypt`` of :meth:`encrypt`'s output; ``IntegrityError`` on any mismatch."""
        if len(ciphertext) < NONCE_BYTES + TAG_BYTES:
            raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
        return self._cipher.open(
            ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:], self._aad(_DIRECT_PURPOSE, context)
        )


_TOKEN = object()


def rewrap_key_material(
    wrapped: bytes,
    *,
    source: TenantKeyWrapper,
    target: TenantKeyWrapper,
    tenant_id: str,
    key_arn: str,
    key_version: int,
) -> bytes:
    """Move one key version's wrapped material from ``source`` to ``target`` wrapping.

    For moving a tenant between tenant levels (platform-derived ↔ key agent). The material
    passes through this process's memory only; the caller stores the result and then destroys
    the old wrapped copy.
    """
    aad = material_aad(key_arn, key_version)
    return target.wrap(tenant_id, source.unwrap(tenant_id, wrapped, aad=aad), aad=aad)
