"""The key agent's HTTPS server: wrap and unwrap over mutual TLS, for one tenant, nothing else.

A deliberately small server on the standard library (``http.server`` and ``ssl``): the agent
runs on a tenant's machine, and every line here is a line the tenant has to trust. Requests::

    POST /v1/wrap    {"tenant_id": "...", "material": b64, "aad": b64}  -> {"wrapped": b64}
    POST /v1/unwrap  {"tenant_id": "...", "wrapped": b64,  "aad": b64}  -> {"material": b64}
    GET  /v1/health                                                    -> {"tenant_id", "key_id"}

Authentication is the TLS handshake: the client must present a certificate signed by the
tenant's CA (``CERT_REQUIRED``, TLS 1.3 only), and its SHA-256 fingerprint must be one that
``agent.json`` pins. Errors answer ``{"code": ..., "message": ...}``: 400 for a malformed
request, 403 for an unpinned client or another tenant, 422 ``InvalidCiphertextException`` for
material that does not unwrap here (the reason goes to the agent's log only).

Each request is logged as one JSON line (operation, tenant, status, client fingerprint prefix);
never material, wrapped bytes or ``aad``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import socket
import ssl
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lakevault.core import RandomSource
from lakevault.core.errors import ConfigurationError, InvalidParameterValue
from lakevault.kms._errors import IntegrityError
from lakevault.kms._key_agent_certs import certificate_der_fingerprint
from lakevault.kms._key_agent_root import AgentRoot, AgentTLSFiles

#: Largest request body accepted (material is 32 bytes; this leaves room for base64 and JSON).
MAX_BODY_BYTES = 16 * 1024
#: Seconds a connection may take for its handshake and request.
CONNECTION_TIMEOUT_SECONDS = 10

_log = logging.getLogger("lakevault.key_agent")


def agent_tls_context(directory: Path) -> ssl.SSLContext:
    """The server side of the agent's mutual TLS, from ``directory/tls``."""
    files = AgentTLSFiles(directory=directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_verify_locations(cafile=str(files.ca_certificate))
        context.load_cert_chain(str(files.server_certificate), str(files.server_key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"the key agent's TLS files in {directory / 'tls'} are missing or do not match "
            f"({type(exc).__name__}); run 'lakevault key-agent certs --dir {directory}'"
        ) from exc
    return context


class _AgentError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _b64_field(document: dict[str, Any], name: str) -> bytes:
    value = document.get(name)
    if not isinstance(value, str):
        raise _AgentError(400, "InvalidRequest", f"the field {name!r} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _AgentError(400, "InvalidRequest", f"the field {name!r} is not base64") from exc


class KeyAgentServer(ThreadingHTTPServer):
    """One agent: its root key, its TLS context and the fingerprints it accepts."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        root: AgentRoot,
        tls: ssl.SSLContext,
        random: RandomSource,
    ) -> None:
        super().__init__(address, _Handler)
        self.root = root
        self.tls = tls
        self.random = random
        self.allowed = frozenset(root.identity.allowed_client_fingerprints)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A failed handshake or a dropped connection: one log line, no traceback."""
        error = sys.exc_info()[1]
        _log.warning(json.dumps({"event": "connection-failed", "error": type(error).__name__}))

    def handle(self, operation: str, document: dict[str, Any]) -> dict[str, str]:
        tenant_id = document.get("tenant_id")
        if not isinstance(tenant_id, str):
            raise _AgentError(400, "InvalidRequest", "the field 'tenant_id' must be a string")
        if tenant_id != self.root.identity.tenant_id:
            raise _AgentError(
                403,
                "AccessDenied",
                f"this key agent serves tenant {self.root.identity.tenant_id} only",
            )
        aad = _b64_field(document, "aad")
        try:
            if operation == "wrap":
                wrapped = self.root.wrap(
                    tenant_id, _b64_field(document, "material"), aad=aad, random=self.random
                )
                return {"wrapped": base64.b64encode(wrapped).decode("ascii")}
            material = self.root.unwrap(tenant_id, _b64_field(document, "wrapped"), aad=aad)
            return {"material": base64.b64encode(material).decode("ascii")}
        except IntegrityError as exc:
            _log.warning(json.dumps({"event": "unwrap-refused", "reason": exc.audit_reason.value}))
            raise _AgentError(422, exc.code, exc.message) from exc
        except InvalidParameterValue as exc:
            raise _AgentError(400, exc.code, exc.message) from exc


class _Handler(BaseHTTPRequestHandler):
    server: KeyAgentServer
    protocol_version = "HTTP/1.1"
    server_version = "lakevault-key-agent"
    sys_version = ""

    def setup(self) -> None:
        # The handshake runs here, in the connection's own thread, so a slow client cannot
        # hold up the accepting thread.
        self.request.settimeout(CONNECTION_TIMEOUT_SECONDS)
        # Answers are small and written as headers then body: without TCP_NODELAY, Nagle's
        # algorithm and the client's delayed ACK add about 40 ms to every request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own access log; requests are logged by :meth:`_answer`."""

    def _client_fingerprint(self) -> str:
        der = self.request.getpeercert(binary_form=True)
        return certificate_der_fingerprint(der) if der else ""

    def _answer(self, status: int, body: dict[str, str], operation: str) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        _log.info(
            json.dumps(
                {
                    "event": "request",
                    "operation": operation,
                    "status": status,
                    "client": self._client_fingerprint()[:16],
                }
            )
        )

    def _authorised(self, operation: str) -> bool:
        if self._client_fingerprint() not in self.server.allowed:
            self._answer(
                403,
                {
                    "code": "AccessDenied",
                    "message": "this client certificate is not pinned in agent.json; add its "
                    "fingerprint with 'lakevault key-agent certs'",
                },
                operation,
            )
            return False
        return True

    def do_GET(self) -> None:
        if self.path != "/v1/health":
            self._answer(404, {"code": "NotFound", "message": "no such path"}, "get")
            return
        if self._authorised("health"):
            identity = self.server.root.identity
            self._answer(
                200, {"tenant_id": identity.tenant_id, "key_id": identity.key_id}, "health"
            )

    def do_POST(self) -> None:
        operation = {"/v1/wrap": "wrap", "/v1/unwrap": "unwrap"}.get(self.path)
        if operation is None:
            self._answer(404, {"code": "NotFound", "message": "no such path"}, "post")
            return
        if not self._authorised(operation):
            return
        try:
            length = int(self.headers.get("Content-Length", "-1"))
            if not 0 <= length <= MAX_BODY_BYTES:
                raise _AgentError(
                    400, "InvalidRequest", f"the body must be 0 to {MAX_BODY_BYTES} bytes"
                )
            try:
                document = json.loads(self.rfile.read(length))
            except ValueError as exc:
                raise _AgentError(400, "InvalidRequest", "the body is not JSON") from exc
            if not isinstance(document, dict):
                raise _AgentError(400, "InvalidRequest", "the body must be a JSON object")
            self._answer(200, self.server.handle(operation, document), operation)
        except _AgentError as error:
            # The body may be unread (too large): never parse its rest as another request.
            self.close_connection = True
            self._answer(error.status, {"code": error.code, "message": error.message}, operation)


def serve_agent(
    directory: Path,
    root: AgentRoot,
    *,
    host: str,
    port: int,
    random: RandomSource,
    on_ready: Callable[[str, int], None],
    stop: threading.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or forever); ``on_ready(host, port)`` once listening."""
    server = KeyAgentServer(
        (host, port), root=root, tls=agent_tls_context(directory), random=random
    )
    try:
        if stop is not None:

            def stop_when_told() -> None:
                stop.wait()
                server.shutdown()

            threading.Thread(target=stop_when_told, daemon=True).start()
        on_ready(host, int(server.server_address[1]))
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
