"""The tenant level of the key hierarchy: what wraps a tenant's KMS key material.

Every version of every KMS key holds 256 bits of material that is stored only wrapped by the
level above it, the tenant (DESIGN.md, "Keys and encryption")::

    platform root key ─┐
                       ├─ tenant wrapping (TenantKeyWrapper)  ← this module
    tenant key agent ──┘      └─ KMS key versions (lakevault.keys)
                                    └─ data keys, per object version

:class:`TenantKeyWrapper` is the contract between the key service and whatever holds a
tenant's root: :class:`PlatformTenantKeyWrapper` (the default, a per-tenant key derived from the
platform root key) or a tenant's key agent in operator-blind mode. The wrapped bytes are opaque
to the key service; it stores them and hands them back to the same wrapper.

``aad`` (associated data) names the slot the material belongs to (the key ARN and version); a
wrapper must authenticate it, so wrapped material copied to another key or version does not
unwrap. Every unwrap failure is one :class:`~lakevault.kms.IntegrityError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from lakevault.core import RandomSource
from lakevault.core.errors import InvalidParameterValue
from lakevault.kms._errors import IntegrityError, IntegrityFailure
from lakevault.kms._primitives import NONCE_BYTES, TAG_BYTES, AESGCMCipher
from lakevault.kms._primitives._derivation import derive_bytes
from lakevault.kms._root_key import PlatformRootKey

#: Version byte of :class:`PlatformTenantKeyWrapper`'s format.
PLATFORM_WRAP_FORMAT = 1
_PURPOSE = "tenant-key-wrapping"
_AAD_DOMAIN = b"lakevault.kms/tenant-wrap/v1\x00"
_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES
#: Upper bound on material a tenant wrapper is asked to wrap (KMS key material is 32 bytes).
MAX_TENANT_MATERIAL_BYTES = 1024


class TenantKeyWrapper(Protocol):
    """Wraps and unwraps KMS key material for one tenant at a time.

    ``wrap`` returns opaque bytes that only ``unwrap`` with the same ``tenant_id`` and ``aad``
    turns back into ``material``. ``unwrap`` raises :class:`~lakevault.kms.IntegrityError` for
    wrapped bytes that do not authenticate (another tenant, another slot, tampered), and may
    raise ``ServiceUnavailable``-style errors when the tenant's root is out of reach (a stopped
    key agent): the key service never falls back to another wrapper.
    """

    def wrap(self, tenant_id: str, material: bytes, *, aad: bytes) -> bytes: ...

    def unwrap(self, tenant_id: str, wrapped: bytes, *, aad: bytes) -> bytes: ...


def _tenant_aad(tenant_id: str, aad: bytes) -> bytes:
    encoded = tenant_id.encode("utf-8")
    return _AAD_DOMAIN + len(encoded).to_bytes(4, "big") + encoded + aad


class PlatformTenantKeyWrapper:
    """The default tenant level: AES-256-GCM under a per-tenant key derived from the root key.

    The tenant key is HKDF-SHA256(platform root key, info = ``tenant-key-wrapping`` ‖ tenant
    id): never stored, recomputed on demand, different for every tenant. Format::

        version (1 byte, 1) ‖ nonce (12 bytes, random) ‖ AES-256-GCM(material) ‖ tag (16 bytes)

    with associated data binding the version, the tenant id and the caller's ``aad``. A random
    96-bit nonce per wrap keeps the collision chance negligible for the few thousand key
    versions a tenant ever has (NIST SP 800-38D's 2**32 bound per key is far away).

    Whoever holds the platform root key can unwrap: this wrapper is *not* operator-blind. A
    tenant that needs that uses its key agent instead (docs/keys.md).
    """

    __slots__ = ("_ciphers", "_random", "_root_key")

    def __init__(self, root_key: Callable[[], PlatformRootKey], *, random: RandomSource) -> None:
        """``root_key`` loads the platform root key on first use (building reads no key file)."""
        self._root_key = root_key
        self._random = random
        self._ciphers: dict[str, AESGCMCipher] = {}

    def __repr__(self) -> str:
        return "PlatformTenantKeyWrapper(<keys redacted>)"

    def _cipher(self, tenant_id: str) -> AESGCMCipher:
        cipher = self._ciphers.get(tenant_id)
        if cipher is None:
            if not tenant_id:
                raise InvalidParameterValue("tenant_id must not be empty")
            root = self._root_key()._key
            cipher = AESGCMCipher(
                derive_bytes(root, purpose=_PURPOSE, identifier=tenant_id, length=32)
            )
            self._ciphers[tenant_id] = cipher
        return cipher

    def wrap(self, tenant_id: str, material: bytes, *, aad: bytes) -> bytes:
        """``material`` sealed for ``tenant_id`` and ``aad`` under a fresh random nonce."""
        if not 1 <= len(material) <= MAX_TENANT_MATERIAL_BYTES:
            raise InvalidParameterValue(
                f"tenant key material must be 1 to {MAX_TENANT_MATERIAL_BYTES} bytes, "
                f"got {len(material)} bytes"
            )
        nonce = self._random.token_bytes(NONCE_BYTES)
        body = self._cipher(tenant_id).seal(
            nonce, material, bytes([PLATFORM_WRAP_FORMAT]) + _tenant_aad(tenant_id, aad)
        )
        return bytes([PLATFORM_WRAP_FORMAT]) + nonce + body

    def unwrap(self, tenant_id: str, wrapped: bytes, *, aad: bytes) -> bytes:
        """The material :meth:`wrap` sealed; every failure is one ``IntegrityError``."""
        if len(wrapped) < _OVERHEAD:
            raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
        if wrapped[0] != PLATFORM_WRAP_FORMAT:
            raise IntegrityError(IntegrityFailure.UNSUPPORTED_FORMAT_VERSION)
        return self._cipher(tenant_id).open(
            wrapped[1 : 1 + NONCE_BYTES],
            wrapped[1 + NONCE_BYTES :],
            bytes([PLATFORM_WRAP_FORMAT]) + _tenant_aad(tenant_id, aad),
        )
