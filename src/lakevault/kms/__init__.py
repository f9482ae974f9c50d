"""Keys and envelopes: the safe API of lakevault's key service.

This part holds the encrypted object format (docs/object-format.md): C2SP chunked encryption
(AES-256-GCM, 16 KiB chunks, key commitment, random access) behind a versioned header that names
the wrapped data key, the key id and version, and the hash of the encryption context. Raw AEAD
calls, key bytes and nonces stay in ``kms._primitives``; nothing here exposes them.
"""

from lakevault.kms._chunk_stream import StreamTotals
from lakevault.kms._encryption_context import EncryptionContext
from lakevault.kms._errors import IntegrityError, IntegrityFailure, InvalidRange
from lakevault.kms._key_material import KMSKeyMaterial, rewrap_key_material
from lakevault.kms._object_format import (
    decrypt_range,
    decrypt_stream,
    encrypt_stream,
    encrypted_size,
    plaintext_size,
)
from lakevault.kms._object_header import (
    ObjectFormatVersion,
    ObjectHeader,
    read_object_header,
    read_object_header_at,
)
from lakevault.kms._primitives import PlaintextDataKey
from lakevault.kms._root_key import (
    PlatformRootKey,
    ensure_root_key,
    protect_root_key_file,
    root_key_path,
    wrapped_root_key_path,
)
from lakevault.kms._sealed_secrets import open_secret, seal_secret
from lakevault.kms._tenant_keys import PlatformTenantKeyWrapper, TenantKeyWrapper
from lakevault.kms._types import RangeReadable, Readable, Writable

__all__ = [
    "EncryptionContext",
    "IntegrityError",
    "IntegrityFailure",
    "InvalidRange",
    "KMSKeyMaterial",
    "ObjectFormatVersion",
    "ObjectHeader",
    "PlaintextDataKey",
    "PlatformRootKey",
    "PlatformTenantKeyWrapper",
    "RangeReadable",
    "Readable",
    "StreamTotals",
    "TenantKeyWrapper",
    "Writable",
    "decrypt_range",
    "decrypt_stream",
    "encrypt_stream",
    "encrypted_size",
    "ensure_root_key",
    "open_secret",
    "plaintext_size",
    "read_object_header",
    "read_object_header_at",
    "rewrap_key_material",
    "protect_root_key_file",
    "root_key_path",
    "wrapped_root_key_path",
    "seal_secret",
]
