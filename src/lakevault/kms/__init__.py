"""Keys and envelopes: the safe API of lakevault's key service.

This part holds the encrypted object format (docs/object-format.md): C2SP chunked encryption
(AES-256-GCM, 16 KiB chunks, key commitment, random access) behind a versioned header that names
the wrapped data key, the key id and version, and the hash of the encryption context. Raw AEAD
calls, key bytes and nonces stay in ``kms._primitives``; nothing here exposes them.
"""

from lakevault.kms._chunk_stream import StreamTotals
from lakevault.kms._encryption_context import EncryptionContext
from lakevault.kms._errors import (
    IntegrityError,
    IntegrityFailure,
    InvalidRange,
    KeyAgentUnavailable,
)
from lakevault.kms._key_agent_certs import (
    AgentCertificates,
    certificate_fingerprint,
    issue_agent_certificates,
)
from lakevault.kms._key_agent_client import AgentConnection, AgentKeyWrapper
from lakevault.kms._key_agent_root import (
    AgentIdentity,
    AgentRoot,
    initialise_agent_directory,
    key_file_needs_passphrase,
    load_agent_root,
)
from lakevault.kms._key_agent_server import serve_agent
from lakevault.kms._key_agents import (
    OperatorBlindTenantKeyWrapper,
    TenantKeyAgents,
    verify_root_key,
)
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
    root_key_needs_passphrase,
    root_key_path,
    wrapped_root_key_path,
)
from lakevault.kms._sealed_secrets import open_secret, seal_secret
from lakevault.kms._tenant_keys import PlatformTenantKeyWrapper, TenantKeyWrapper
from lakevault.kms._types import RangeReadable, Readable, Writable

__all__ = [
    "AgentCertificates",
    "AgentConnection",
    "AgentIdentity",
    "AgentKeyWrapper",
    "AgentRoot",
    "EncryptionContext",
    "IntegrityError",
    "IntegrityFailure",
    "InvalidRange",
    "KMSKeyMaterial",
    "KeyAgentUnavailable",
    "ObjectFormatVersion",
    "ObjectHeader",
    "OperatorBlindTenantKeyWrapper",
    "PlaintextDataKey",
    "PlatformRootKey",
    "PlatformTenantKeyWrapper",
    "RangeReadable",
    "Readable",
    "StreamTotals",
    "TenantKeyAgents",
    "TenantKeyWrapper",
    "Writable",
    "certificate_fingerprint",
    "decrypt_range",
    "decrypt_stream",
    "encrypt_stream",
    "encrypted_size",
    "ensure_root_key",
    "initialise_agent_directory",
    "issue_agent_certificates",
    "key_file_needs_passphrase",
    "load_agent_root",
    "open_secret",
    "plaintext_size",
    "protect_root_key_file",
    "read_object_header",
    "read_object_header_at",
    "rewrap_key_material",
    "root_key_needs_passphrase",
    "root_key_path",
    "seal_secret",
    "serve_agent",
    "verify_root_key",
    "wrapped_root_key_path",
]
