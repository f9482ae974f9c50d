"""Network policy: nothing by default; named endpoints through the host broker, which refuses
loopback, link-local (metadata), private ranges unless named, and everything not named."""

from __future__ import annotations

import ipaddress
import socket
import threading

import pytest

from lakevault.sandbox import (
    Endpoint,
    InvalidSandboxRequest,
    NetworkPolicy,
    Status,
    Supervisor,
)
from tests.unit.sandbox.conftest import WriteFunction

# -- the policy, as pure values --------------------------------------------------------------


def _refusal(policy: NetworkPolicy, endpoint: str, address: str) -> str | None:
    return policy.refusal(Endpoint.parse(endpoint), ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("endpoint", "address", "reason"),
    [
        ("localhost:80", "127.0.0.1", "loopback"),
        ("127.0.0.1:80", "127.0.0.1", "loopback"),
        ("[::1]:80", "::1", "loopback"),
        ("evil.example:80", "::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254:80", "169.254.169.254", "link-local"),
        ("metadata.example:80", "169.254.169.254", "link-local"),
        ("[fe80::1]:80", "fe80::1", "link-local"),
        ("db.example:5432", "10.0.0.5", "private address that the policy does not name"),
        ("db.example:5432", "192.168.1.1", "private address that the policy does not name"),
        ("db.example:5432", "172.16.0.1", "private address that the policy does not name"),
        ("db.example:5432", "100.64.0.1", "private address that the policy does not name"),
        ("db.example:5432", "fd00::1", "private address that the policy does not name"),
        ("any.example:80", "0.0.0.0", "not a unicast address"),
        ("any.example:80", "224.0.0.1", "not a unicast address"),
    ],
)
def test_policy_refuses(endpoint: str, address: str, reason: str) -> None:
    policy = NetworkPolicy(endpoints=(Endpoint.parse(endpoint),))
    refusal = _refusal(policy, endpoint, address)
    assert refusal is not None and reason in refusal


def test_a_named_private_address_is_allowed() -> None:
    policy = NetworkPolicy(endpoints=(Endpoint.parse("10.0.0.5:5432"),))
    assert _refusal(policy, "10.0.0.5:5432", "10.0.0.5") is None


def test_a_public_address_of_a_named_host_is_allowed() -> None:
    policy = NetworkPolicy(endpoints=(Endpoint.parse("api.example:443"),))
    assert _refusal(policy, "api.example:443", "93.184.216.34") is None


def test_link_local_is_refused_even_with_the_unsafe_loopback_switch() -> None:
    policy = NetworkPolicy(
        endpoints=(Endpoint.parse("169.254.169.254:80"),), unsafe_allow_loopback=True
    )
    assert "link-local" in (_refusal(policy, "169.254.169.254:80", "169.254.169.254") or "")


def test_only_named_endpoints_are_found() -> None:
    policy = NetworkPolicy(endpoints=(Endpoint.parse("API.example:443"),))
    assert policy.find("api.example", 443) == Endpoint(host="api.example", port=443)
    assert policy.find("api.example", 80) is None
    assert policy.find("other.example", 443) is None


@pytest.mark.parametrize("text", ["example.com", "example.com:0", "example.com:99999", ":80"])
def test_malformed_endpoints_are_refused(text: str) -> None:
    with pytest.raises(InvalidSandboxRequest):
        Endpoint.parse(text)


# -- the broker, for real --------------------------------------------------------------------


class _Listener:
    """A TCP server on 127.0.0.1 that counts connections and answers 'pong'."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with connection:
                if connection.recv(16) == b"ping":
                    connection.sendall(b"pong")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


@pytest.fixture
def listener() -> _Listener:
    server = _Listener()
    yield server
    server.close()


CLIENT = """
import socket
def handler(event, context):
    try:
        connection = socket.create_connection((event["host"], event["port"]), timeout=5)
    except OSError as exc:
        return {"refused": str(exc), "errno": exc.errno}
    connection.sendall(b"ping")
    answer = connection.recv(16).decode()
    connection.close()
    return {"answer": answer, "allowed": context["allowed_endpoints"]}
"""


def test_a_named_endpoint_is_reached_through_the_broker(
    supervisor: Supervisor, write_function: WriteFunction, listener: _Listener
) -> None:
    # Loopback is the only network a test may use here, hence the unsafe switch.
    endpoint = Endpoint(host="127.0.0.1", port=listener.port)
    policy = NetworkPolicy(endpoints=(endpoint,), unsafe_allow_loopback=True)
    code = write_function(CLIENT)
    outcome = supervisor.invoke(
        code, {"host": "127.0.0.1", "port": listener.port}, network_policy=policy
    )
    assert outcome.status is Status.OK, outcome
    assert outcome.result == {"answer": "pong", "allowed": [f"127.0.0.1:{listener.port}"]}
    assert listener.connections == 1


def test_loopback_is_refused_by_default_even_when_named(
    supervisor: Supervisor, write_function: WriteFunction, listener: _Listener
) -> None:
    policy = NetworkPolicy(endpoints=(Endpoint(host="127.0.0.1", port=listener.port),))
    code = write_function(CLIENT)
    outcome = supervisor.invoke(
        code, {"host": "127.0.0.1", "port": listener.port}, network_policy=policy
    )
    assert "127.0.0.1 is a loopback address" in outcome.result["refused"]
    assert listener.connections == 0


def test_an_endpoint_the_policy_does_not_name_is_refused(
    supervisor: Supervisor, write_function: WriteFunction, listener: _Listener
) -> None:
    policy = NetworkPolicy(
        endpoints=(Endpoint(host="127.0.0.1", port=listener.port),), unsafe_allow_loopback=True
    )
    code = write_function(CLIENT)
    other = listener.port + 1 if listener.port < 65535 else listener.port - 1
    outcome = supervisor.invoke(code, {"host": "127.0.0.1", "port": other}, network_policy=policy)
    assert "is not an allowed endpoint" in outcome.result["refused"]
    assert listener.connections == 0


def test_the_metadata_service_is_refused_when_named(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    policy = NetworkPolicy(endpoints=(Endpoint(host="169.254.169.254", port=80),))
    code = write_function(CLIENT)
    outcome = supervisor.invoke(
        code, {"host": "169.254.169.254", "port": 80}, network_policy=policy
    )
    assert "link-local" in outcome.result["refused"]


def test_the_broker_is_the_only_way_out(
    supervisor: Supervisor, write_function: WriteFunction, listener: _Listener
) -> None:
    policy = NetworkPolicy(
        endpoints=(Endpoint(host="127.0.0.1", port=listener.port),), unsafe_allow_loopback=True
    )
    code = write_function(
        """
        import socket
        def handler(event, context):
            raw = socket.socket()
            try:
                raw.connect(("127.0.0.1", event["port"]))  # not through create_connection
            except OSError as exc:
                return exc.errno
        """
    )
    outcome = supervisor.invoke(code, {"port": listener.port}, network_policy=policy)
    assert outcome.result == 101  # ENETUNREACH: the namespace has no route at all
    assert listener.connections == 0
