"""The tenant's root key inside a key agent: its directory, and the wrap format it answers with.

A key agent (operator-blind mode, docs/keys.md) is a directory on the tenant's machine::

    agent.json          tenant id, key id, pinned client-certificate fingerprints (no secret)
    agent-root.key      32 random bytes, mode 0600; optionally passphrase-wrapped (argon2id)
    tls/                ca.pem, ca.key, server.pem, server.key (``lakevault key-agent certs``)
    platform/           ca.pem, client.pem, client.key: the bundle handed to the operator

Wrapped material made by an agent (format ``0xA1``)::

    0xA1 (1) ‖ key id (8) ‖ nonce (12, random) ‖ AES-256-GCM(material) ‖ tag (16)

with associated data binding the format, the key id, the tenant id and the caller's ``aad``.
The first byte differs from :class:`~lakevault.kms.PlatformTenantKeyWrapper`'s (``0x01``), so
the platform can tell agent-wrapped material from platform-wrapped material without asking.
The key id (random, not derived from the key) lets an agent say "wrapped by another agent's
key" rather than a bare integrity failure.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakevault.core import RandomSource, write_atomically
from lakevault.core.errors import ConfigurationError, InvalidParameterValue
from lakevault.kms._errors import IntegrityError, IntegrityFailure
from lakevault.kms._primitives import NONCE_BYTES, TAG_BYTES, AESGCMCipher
from lakevault.kms._root_key_passphrase import (
    is_passphrase_wrapped,
    unwrap_with_passphrase,
    wrap_with_passphrase,
)

AGENT_WRAP_FORMAT = 0xA1
KEY_ID_BYTES = 8
AGENT_FILE = "agent.json"
AGENT_KEY_FILE = "agent-root.key"
_AAD_DOMAIN = b"lakevault.kms/agent-wrap/v1\x00"
_OVERHEAD = 1 + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES
MAX_MATERIAL_BYTES = 1024


def is_agent_wrapped(wrapped: bytes) -> bool:
    """Whether ``wrapped`` was made by a key agent (by its format byte)."""
    return len(wrapped) >= 1 and wrapped[0] == AGENT_WRAP_FORMAT


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentIdentity:
    """What ``agent.json`` says: whose agent this is and which clients it accepts."""

    tenant_id: str
    key_id: str
    allowed_client_fingerprints: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "format": 1,
            "tenant_id": self.tenant_id,
            "key_id": self.key_id,
            "allowed_client_fingerprints": list(self.allowed_client_fingerprints),
        }
        return json.dumps(document, indent=2).encode("utf-8") + b"\n"

    @classmethod
    def read(cls, directory: Path) -> AgentIdentity:
        path = directory / AGENT_FILE
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            identity = cls(
                tenant_id=str(document["tenant_id"]),
                key_id=str(document["key_id"]),
                allowed_client_fingerprints=tuple(
                    str(value) for value in document["allowed_client_fingerprints"]
                ),
            )
        except FileNotFoundError as exc:
            raise ConfigurationError(
                f"{path} is missing: {directory} is not a key agent directory; create one with "
                "'lakevault key-agent init'"
            ) from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"{path} is not a valid key agent description; restore it from your backup"
            ) from exc
        if len(bytes.fromhex(identity.key_id)) != KEY_ID_BYTES:
            raise ConfigurationError(f"{path}: key_id must be {KEY_ID_BYTES * 2} hex digits")
        return identity

    def write(self, directory: Path) -> None:
        write_atomically(directory / AGENT_FILE, self.to_json(), mode=0o600)


class AgentRoot:
    """The agent's root key in memory: wraps and unwraps one tenant's material.

    Its bytes never leave this object; ``repr`` shows the tenant and key id only.
    """

    __slots__ = ("_cipher", "_key_id", "identity")

    def __init__(self, key: bytes, identity: AgentIdentity) -> None:
        if len(key) != 32:
            raise ConfigurationError(f"an agent root key must be 32 bytes; it has {len(key)}")
        self._cipher = AESGCMCipher(key)
        self._key_id = bytes.fromhex(identity.key_id)
        self.identity = identity

    def __repr__(self) -> str:
        return f"AgentRoot(tenant_id={self.identity.tenant_id!r}, key_id={self.identity.key_id!r})"

    def _aad(self, tenant_id: str, aad: bytes) -> bytes:
        tenant = tenant_id.encode("utf-8")
        return b"".join(
            (
                _AAD_DOMAIN,
                bytes([AGENT_WRAP_FORMAT]),
                self._key_id,
                len(tenant).to_bytes(4, "big"),
                tenant,
                aad,
            )
        )

    def _check_tenant(self, tenant_id: str) -> None:
        if tenant_id != self.identity.tenant_id:
            raise InvalidParameterValue(
                f"this key agent holds the root key of tenant {self.identity.tenant_id}, not of "
                f"tenant {tenant_id}"
            )

    def wrap(self, tenant_id: str, material: bytes, *, aad: bytes, random: RandomSource) -> bytes:
        self._check_tenant(tenant_id)
        if not 1 <= len(material) <= MAX_MATERIAL_BYTES:
            raise InvalidParameterValue(
                f"material must be 1 to {MAX_MATERIAL_BYTES} bytes, got {len(material)}"
            )
        nonce = random.token_bytes(NONCE_BYTES)
        body = self._cipher.seal(nonce, material, self._aad(tenant_id, aad))
        return bytes([AGENT_WRAP_FORMAT]) + self._key_id + nonce + body

    def unwrap(self, tenant_id: str, wrapped: bytes, *, aad: bytes) -> bytes:
        """The material; ``IntegrityError`` for anything that does not authenticate here."""
        self._check_tenant(tenant_id)
        if len(wrapped) < _OVERHEAD:
            raise IntegrityError(IntegrityFailure.INVALID_LENGTH)
        if wrapped[0] != AGENT_WRAP_FORMAT:
            raise IntegrityError(IntegrityFailure.UNSUPPORTED_FORMAT_VERSION)
        if not secrets.compare_digest(wrapped[1 : 1 + KEY_ID_BYTES], self._key_id):
            raise IntegrityError(IntegrityFailure.INVALID_KEY)
        start = 1 + KEY_ID_BYTES
        return self._cipher.open(
            wrapped[start : start + NONCE_BYTES],
            wrapped[start + NONCE_BYTES :],
            self._aad(tenant_id, aad),
        )


def initialise_agent_directory(
    directory: Path, *, tenant_id: str, random: RandomSource, passphrase: str | None
) -> AgentIdentity:
    """Create a key agent directory with a new root key; refuse to touch an existing one."""
    if not (len(tenant_id) == 12 and tenant_id.isdigit()):
        raise InvalidParameterValue(
            f"a tenant id is a 12-digit account id (like 123456789012); got {len(tenant_id)} "
            "characters"
        )
    if (directory / AGENT_KEY_FILE).exists() or (directory / AGENT_FILE).exists():
        raise ConfigurationError(
            f"{directory} already holds a key agent; its root key is never overwritten. Use "
            "another directory for a new agent"
        )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = random.token_bytes(32)
    data = key if passphrase is None else wrap_with_passphrase(key, passphrase, random=random)
    write_atomically(directory / AGENT_KEY_FILE, data, mode=0o600)
    identity = AgentIdentity(tenant_id=tenant_id, key_id=random.token_bytes(KEY_ID_BYTES).hex())
    identity.write(directory)
    return identity


def key_file_needs_passphrase(directory: Path) -> bool:
    try:
        return is_passphrase_wrapped((directory / AGENT_KEY_FILE).read_bytes())
    except OSError:
        return False


def load_agent_root(directory: Path, *, passphrase: str | None) -> AgentRoot:
    """The agent's root key from ``directory``; ``ConfigurationError`` saying how to fix it."""
    identity = AgentIdentity.read(directory)
    path = directory / AGENT_KEY_FILE
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the agent root key {path} ({exc.strerror}); restore it from the "
            "tenant's key backup"
        ) from exc
    if is_passphrase_wrapped(data):
        if passphrase is None:
            raise ConfigurationError(
                f"the agent root key {path} is wrapped by a passphrase and none was given; pass "
                "--passphrase-file, or run the agent on a terminal to be asked"
            )
        data = unwrap_with_passphrase(data, passphrase, source=str(path))
    return AgentRoot(data, identity)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentTLSFiles:
    """Where an agent directory keeps its TLS material."""

    directory: Path
    ca_certificate: Path = field(init=False)
    server_certificate: Path = field(init=False)
    server_key: Path = field(init=False)

    def __post_init__(self) -> None:
        tls = self.directory / "tls"
        object.__setattr__(self, "ca_certificate", tls / "ca.pem")
        object.__setattr__(self, "server_certificate", tls / "server.pem")
        object.__setattr__(self, "server_key", tls / "server.key")
