"""The platform's side of operator-blind mode: a tenant key wrapper that asks the tenant's agent.

:class:`AgentKeyWrapper` implements :class:`~lakevault.kms.TenantKeyWrapper` by calling the
tenant's key agent over HTTPS with mutual TLS (``kms._key_agent_server``). The platform holds
the agent's CA certificate, its own client certificate and client key for that tenant — and no
copy of the tenant's root key. It keeps nothing it unwraps: every ``unwrap`` is one request, and
the only cache of unwrapped tenant material is the key service's short in-memory one
(docs/keys.md, "Operator-blind mode").

Failures are translated once, here: anything that stops the agent from answering (stopped,
unreachable, TLS refused either way, timeout, an answer that is not the protocol) is
:class:`~lakevault.kms.KeyAgentUnavailable`; material the agent says does not unwrap is
:class:`~lakevault.kms.IntegrityError`, like any other wrapper's.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import ssl
import tempfile
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization

from lakevault.core.errors import ConfigurationError, InvalidParameterValue
from lakevault.kms._errors import IntegrityError, IntegrityFailure, KeyAgentUnavailable

#: Seconds the platform waits for an agent (connect, and each read).
AGENT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConnection:
    """How the platform reaches one tenant's agent. The client key is excluded from ``repr``."""

    tenant_id: str
    url: str
    ca_certificate: bytes
    client_certificate: bytes
    client_key: bytes = field(repr=False)


def client_tls_context(connection: AgentConnection) -> ssl.SSLContext:
    """TLS 1.3, the tenant's CA only (not the system's), and the platform's client cert.

    ``ssl`` loads a private key only from a file. The key is written to a private temporary
    file encrypted under a one-time random password, loaded, and the file removed at once, so
    the plaintext key never touches the disk.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    try:
        context.load_verify_locations(cadata=connection.ca_certificate.decode("ascii"))
        key = serialization.load_pem_private_key(connection.client_key, password=None)
    except (ValueError, ssl.SSLError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"the key agent of tenant {connection.tenant_id} has an unreadable CA certificate "
            "or client key; attach its bundle again ('lakevault key-agent attach')"
        ) from exc
    password = secrets.token_bytes(32)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    with tempfile.TemporaryDirectory(prefix="lakevault-agent-") as directory:
        certificate_path = os.path.join(directory, "client.pem")
        key_path = os.path.join(directory, "client.key")
        for path, data in (
            (certificate_path, connection.client_certificate),
            (key_path, encrypted),
        ):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
        try:
            context.load_cert_chain(certificate_path, key_path, password=password)
        except ssl.SSLError as exc:
            raise ConfigurationError(
                f"the client certificate and key of tenant {connection.tenant_id}'s key agent "
                "do not match; attach its bundle again ('lakevault key-agent attach')"
            ) from exc
    return context


class AgentKeyWrapper:
    """A :class:`~lakevault.kms.TenantKeyWrapper` for one tenant, backed by its key agent.

    Holds an HTTP connection pool to the agent; no key bytes. Thread-safe (httpx's client is).
    """

    __slots__ = ("_client", "connection")

    def __init__(
        self, connection: AgentConnection, *, timeout_seconds: float = AGENT_TIMEOUT_SECONDS
    ) -> None:
        if not connection.url.startswith("https://"):
            raise ConfigurationError(
                f"a key agent URL must be https:// (mutual TLS); tenant {connection.tenant_id}'s "
                "is not"
            )
        self.connection = connection
        self._client = httpx.Client(
            base_url=connection.url.rstrip("/"),
            verify=client_tls_context(connection),
            timeout=httpx.Timeout(timeout_seconds),
            trust_env=False,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return (
            f"AgentKeyWrapper(tenant_id={self.connection.tenant_id!r}, url={self.connection.url!r})"
        )

    def close(self) -> None:
        self._client.close()

    def _check_tenant(self, tenant_id: str) -> None:
        if tenant_id != self.connection.tenant_id:
            raise InvalidParameterValue(
                f"this key agent wrapper serves tenant {self.connection.tenant_id}, not {tenant_id}"
            )

    def _unavailable(self, why: str) -> KeyAgentUnavailable:
        return KeyAgentUnavailable(
            f"the key agent of tenant {self.connection.tenant_id} at {self.connection.url} "
            f"{why}; nothing under that tenant's keys can be encrypted or decrypted until the "
            "tenant starts its agent ('lakevault key-agent run') and it is reachable from the "
            "platform"
        )

    def _call(self, path: str, body: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._client.post(path, json=body)
        except httpx.ConnectError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ssl.SSLError) or "SSL" in str(exc) or "certificate" in str(exc):
                raise self._unavailable(
                    "failed the TLS handshake (its certificate is not from the tenant's CA, or "
                    "it refused the platform's client certificate)"
                ) from exc
            raise self._unavailable("cannot be reached (connection refused or no route)") from exc
        except httpx.TimeoutException as exc:
            raise self._unavailable(f"did not answer within {self._client.timeout.read} s") from exc
        except httpx.TransportError as exc:
            raise self._unavailable(f"dropped the connection ({type(exc).__name__})") from exc
        try:
            document = response.json()
        except ValueError as exc:
            raise self._unavailable(f"answered HTTP {response.status_code} without JSON") from exc
        if not isinstance(document, dict):
            raise self._unavailable("answered with something that is not the agent protocol")
        if response.status_code == 200:
            return document
        code = str(document.get("code", ""))
        if response.status_code == 422 and code == "InvalidCiphertextException":
            raise IntegrityError(IntegrityFailure.CHUNK_NOT_AUTHENTIC)
        if response.status_code == 403:
            raise self._unavailable(
                f"refused the platform ({code}: {str(document.get('message', ''))[:200]})"
            )
        raise self._unavailable(f"answered HTTP {response.status_code} ({code[:64]})")

    @staticmethod
    def _bytes_field(document: dict[str, Any], name: str) -> bytes:
        value = document.get(name)
        if not isinstance(value, str):
            raise KeyAgentUnavailable(f"the key agent's answer has no {name!r}")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KeyAgentUnavailable(f"the key agent's {name!r} is not base64") from exc

    def wrap(self, tenant_id: str, material: bytes, *, aad: bytes) -> bytes:
        self._check_tenant(tenant_id)
        answer = self._call(
            "/v1/wrap",
            {
                "tenant_id": tenant_id,
                "material": base64.b64encode(material).decode("ascii"),
                "aad": base64.b64encode(aad).decode("ascii"),
            },
        )
        return self._bytes_field(answer, "wrapped")

    def unwrap(self, tenant_id: str, wrapped: bytes, *, aad: bytes) -> bytes:
        self._check_tenant(tenant_id)
        answer = self._call(
            "/v1/unwrap",
            {
                "tenant_id": tenant_id,
                "wrapped": base64.b64encode(wrapped).decode("ascii"),
                "aad": base64.b64encode(aad).decode("ascii"),
            },
        )
        return self._bytes_field(answer, "material")

    def health(self) -> dict[str, str]:
        """The agent's tenant id and key id (no secret); ``KeyAgentUnavailable`` if it is down."""
        try:
            response = self._client.get("/v1/health")
        except httpx.TransportError as exc:
            raise self._unavailable(f"cannot be reached ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise self._unavailable(f"answered HTTP {response.status_code}")
        document = response.json()
        return {"tenant_id": str(document.get("tenant_id")), "key_id": str(document.get("key_id"))}
