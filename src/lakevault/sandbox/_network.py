"""Network policy: no network by default, named endpoints through a host-side broker.

A sandbox lives in a network namespace with no interface at all, so it can reach nothing by
itself — not loopback, not the metadata service, not DNS. A function whose policy names
endpoints (``HOST:PORT``) gets one end of a socket pair to a *broker* thread in the supervisor.
Asked for an endpoint, the broker checks that it is named in the policy, resolves it on the
host, refuses every address that is loopback, link-local (169.254.0.0/16 and fe80::/10, which
hold the cloud metadata address 169.254.169.254), multicast, unspecified or reserved, and
private ranges unless that private address itself was named, then connects and hands the
connected socket to the sandbox (``SCM_RIGHTS``). The sandbox never learns a route, so there is
no way around the broker.

``unsafe_allow_loopback`` exists for tests on machines where loopback is the only network a
test may use; the name says what it costs.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
from dataclasses import dataclass

from lakevault.sandbox._errors import InvalidSandboxRequest

_MAX_CONNECTIONS = 64
_CONNECT_TIMEOUT_SECONDS = 5.0
_CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One ``HOST:PORT`` a function may connect to."""

    host: str
    port: int

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise InvalidSandboxRequest(f"endpoint port must be 1-65535; got {self.port}")
        if not self.host or any(c.isspace() for c in self.host):
            raise InvalidSandboxRequest(f"endpoint host {self.host!r} is not a host name")

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``example.com:443``, ``10.0.0.5:5432`` or ``[2001:db8::1]:443``."""
        host, separator, port = text.rpartition(":")
        if not separator or not port.isdigit():
            raise InvalidSandboxRequest(f"endpoint {text!r} is not HOST:PORT")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return cls(host=host.lower(), port=int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def literal_address(self) -> IPAddress | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkPolicy:
    """The endpoints a function may reach; empty means no network at all."""

    endpoints: tuple[Endpoint, ...] = ()
    unsafe_allow_loopback: bool = False

    def find(self, host: str, port: int) -> Endpoint | None:
        wanted = host.lower().strip("[]")
        for endpoint in self.endpoints:
            if endpoint.host == wanted and endpoint.port == port:
                return endpoint
        return None

    def refusal(self, endpoint: Endpoint, address: IPAddress) -> str | None:
        """Why ``address`` (a resolution of ``endpoint``) may not be reached, or None."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback:
            return None if self.unsafe_allow_loopback else f"{address} is a loopback address"
        if address.is_link_local:
            return f"{address} is link-local (cloud metadata range)"
        if address.is_unspecified or address.is_multicast or address.is_reserved:
            return f"{address} is not a unicast address"
        private = address.is_private or (
            isinstance(address, ipaddress.IPv4Address) and address in _CARRIER_GRADE_NAT
        )
        if private and endpoint.literal_address != address:
            return f"{address} is a private address that the policy does not name"
        return None


class NetworkBroker:
    """Serves one invocation's connection requests on a socket pair, in a thread."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self.policy = policy
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket = ours
        #: The sandbox's end as a raw descriptor; the caller passes it on and closes it.
        self.sandbox_end = theirs.detach()
        self._thread = threading.Thread(target=self._serve, name="sandbox-broker", daemon=True)
        self.refusals: list[str] = []

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=_CONNECT_TIMEOUT_SECONDS + 1)
        self._socket.close()

    def _serve(self) -> None:
        reader = self._socket.makefile("rb")
        try:
            for _ in range(_MAX_CONNECTIONS):
                line = reader.readline(4096)
                if not line:
                    return
                self._answer(line)
        except (OSError, ValueError):
            return
        finally:
            reader.close()

    def _answer(self, line: bytes) -> None:
        try:
            request = json.loads(line)
            host, port = str(request["host"]), int(request["port"])
        except (ValueError, KeyError, TypeError):
            self._refuse("malformed request")
            return
        endpoint = self.policy.find(host, port)
        if endpoint is None:
            self._refuse(f"{host}:{port} is not an allowed endpoint")
            return
        try:
            infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
        except OSError:
            self._refuse(f"{endpoint} does not resolve")
            return
        reasons: list[str] = []
        for family, kind, protocol, _name, address in infos:
            ip = ipaddress.ip_address(address[0])
            reason = self.policy.refusal(endpoint, ip)
            if reason is not None:
                reasons.append(reason)
                continue
            connection = socket.socket(family, kind, protocol)
            connection.settimeout(_CONNECT_TIMEOUT_SECONDS)
            try:
                connection.connect(address)
            except OSError as exc:
                connection.close()
                reasons.append(f"{ip}: {exc.strerror or exc}")
                continue
            try:
                socket.send_fds(self._socket, [b'{"ok":true}'], [connection.fileno()])
            finally:
                connection.close()
            return
        self._refuse(f"{endpoint}: " + "; ".join(reasons))

    def _refuse(self, reason: str) -> None:
        self.refusals.append(reason)
        self._socket.sendall(json.dumps({"error": reason}).encode())
