"""The tenant key agent and the platform's AgentKeyWrapper, over real mutual TLS.

Every test talks to a real ``lakevault key-agent run`` process on 127.0.0.1. Each denial path
(stopped agent, foreign server certificate, foreign or unpinned client certificate, another
tenant, tampered or foreign material) is tested like the success path.
"""

from __future__ import annotations

import base64
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from lakevault.core import SystemRandom
from lakevault.core.errors import ConfigurationError, InvalidParameterValue
from lakevault.kms import (
    AgentConnection,
    AgentKeyWrapper,
    IntegrityError,
    KeyAgentUnavailable,
    PlatformRootKey,
    PlatformTenantKeyWrapper,
    TenantKeyWrapper,
    issue_agent_certificates,
    load_agent_root,
)
from tests.unit.kms.agent_process import (
    TENANT,
    AgentProcess,
    make_agent_directory,
    start_agent,
    with_url,
)

MATERIAL = bytes(range(32))
AAD = b"arn:aws:kms:local:210987654321:key/0123#1"


@pytest.fixture(scope="module")
def agent_setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AgentProcess, AgentConnection]]:
    directory = tmp_path_factory.mktemp("agent")
    connection = make_agent_directory(directory)
    agent = start_agent(directory)
    try:
        yield agent, with_url(connection, agent.url)
    finally:
        agent.stop()


@pytest.fixture
def wrapper(agent_setup: tuple[AgentProcess, AgentConnection]) -> Iterator[AgentKeyWrapper]:
    client = AgentKeyWrapper(agent_setup[1])
    yield client
    client.close()


def test_the_agent_wrapper_is_a_tenant_key_wrapper(wrapper: AgentKeyWrapper) -> None:
    typed: TenantKeyWrapper = wrapper
    assert typed is wrapper


def test_wrap_and_unwrap_round_trip_through_the_agent(wrapper: AgentKeyWrapper) -> None:
    wrapped = wrapper.wrap(TENANT, MATERIAL, aad=AAD)
    assert wrapped[0] == 0xA1
    assert MATERIAL not in wrapped
    assert wrapper.unwrap(TENANT, wrapped, aad=AAD) == MATERIAL
    assert wrapper.wrap(TENANT, MATERIAL, aad=AAD) != wrapped  # a fresh nonce each time


def test_health_names_the_tenant_and_key_id(wrapper: AgentKeyWrapper) -> None:
    health = wrapper.health()
    assert health["tenant_id"] == TENANT
    assert len(health["key_id"]) == 16


def test_material_moved_to_another_slot_does_not_unwrap(wrapper: AgentKeyWrapper) -> None:
    wrapped = wrapper.wrap(TENANT, MATERIAL, aad=AAD)
    with pytest.raises(IntegrityError) as caught:
        wrapper.unwrap(TENANT, wrapped, aad=AAD + b"2")
    assert caught.value.code == "InvalidCiphertextException"


@pytest.mark.parametrize("position", [0, 1, 9, 21, -1])
def test_tampered_material_does_not_unwrap(wrapper: AgentKeyWrapper, position: int) -> None:
    wrapped = bytearray(wrapper.wrap(TENANT, MATERIAL, aad=AAD))
    wrapped[position] ^= 0x01
    with pytest.raises(IntegrityError):
        wrapper.unwrap(TENANT, bytes(wrapped), aad=AAD)


def test_platform_wrapped_material_is_not_the_agents(wrapper: AgentKeyWrapper) -> None:
    platform = PlatformTenantKeyWrapper(
        lambda: PlatformRootKey(bytes(32), source="test"), random=SystemRandom()
    )
    with pytest.raises(IntegrityError):
        wrapper.unwrap(TENANT, platform.wrap(TENANT, MATERIAL, aad=AAD), aad=AAD)


def test_the_platform_root_key_cannot_open_agent_wrapped_material(
    wrapper: AgentKeyWrapper,
) -> None:
    """What the operator holds (the platform root key) is no way into the agent's material."""
    wrapped = wrapper.wrap(TENANT, MATERIAL, aad=AAD)
    platform = PlatformTenantKeyWrapper(
        lambda: PlatformRootKey(bytes(32), source="test"), random=SystemRandom()
    )
    with pytest.raises(IntegrityError):
        platform.unwrap(TENANT, wrapped, aad=AAD)


def test_the_wrapper_refuses_another_tenant_before_calling(wrapper: AgentKeyWrapper) -> None:
    with pytest.raises(InvalidParameterValue, match="serves tenant 210987654321"):
        wrapper.wrap("123456789012", MATERIAL, aad=AAD)


def test_the_agent_refuses_another_tenant(
    agent_setup: tuple[AgentProcess, AgentConnection],
) -> None:
    _, connection = agent_setup
    other = AgentConnection(
        tenant_id="123456789012",
        url=connection.url,
        ca_certificate=connection.ca_certificate,
        client_certificate=connection.client_certificate,
        client_key=connection.client_key,
    )
    client = AgentKeyWrapper(other)
    try:
        with pytest.raises(KeyAgentUnavailable, match=r"refused the platform.*serves tenant"):
            client.wrap("123456789012", MATERIAL, aad=AAD)
    finally:
        client.close()


def test_a_client_without_a_certificate_is_refused_by_the_handshake(
    agent_setup: tuple[AgentProcess, AgentConnection],
) -> None:
    _, connection = agent_setup
    context = ssl.create_default_context(cadata=connection.ca_certificate.decode())
    with httpx.Client(verify=context) as client, pytest.raises(httpx.HTTPError):
        client.post(f"{connection.url}/v1/unwrap", json={})


def test_a_client_certificate_from_another_ca_is_refused(
    agent_setup: tuple[AgentProcess, AgentConnection],
) -> None:
    _, connection = agent_setup
    foreign = issue_agent_certificates(tenant_id=TENANT, hosts=["127.0.0.1"], now=datetime.now(UTC))
    client = AgentKeyWrapper(
        AgentConnection(
            tenant_id=TENANT,
            url=connection.url,
            ca_certificate=connection.ca_certificate,
            client_certificate=foreign.client_certificate,
            client_key=foreign.client_key,
        )
    )
    try:
        with pytest.raises(KeyAgentUnavailable) as caught:
            client.wrap(TENANT, MATERIAL, aad=AAD)
        assert caught.value.code == "KMSInvalidStateException"
        assert caught.value.http_status == 503
    finally:
        client.close()


def test_an_unpinned_client_certificate_of_the_same_ca_is_refused(
    agent_setup: tuple[AgentProcess, AgentConnection],
) -> None:
    """A second client certificate signed by the tenant's CA is refused until pinned."""
    agent, connection = agent_setup

    ca_key = serialization.load_pem_private_key(
        (agent.directory / "tls" / "ca.key").read_bytes(), password=None
    )
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate(connection.ca_certificate)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "intruder")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    client = AgentKeyWrapper(
        AgentConnection(
            tenant_id=TENANT,
            url=connection.url,
            ca_certificate=connection.ca_certificate,
            client_certificate=certificate.public_bytes(serialization.Encoding.PEM),
            client_key=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    )
    try:
        with pytest.raises(KeyAgentUnavailable, match="not pinned"):
            client.wrap(TENANT, MATERIAL, aad=AAD)
    finally:
        client.close()


def test_a_server_certificate_from_another_ca_is_refused(
    agent_setup: tuple[AgentProcess, AgentConnection],
) -> None:
    """The platform trusts only the tenant's CA: an impostor agent fails the handshake."""
    _, connection = agent_setup
    foreign = issue_agent_certificates(tenant_id=TENANT, hosts=["127.0.0.1"], now=datetime.now(UTC))
    client = AgentKeyWrapper(
        AgentConnection(
            tenant_id=TENANT,
            url=connection.url,
            ca_certificate=foreign.ca_certificate,
            client_certificate=connection.client_certificate,
            client_key=connection.client_key,
        )
    )
    try:
        with pytest.raises(KeyAgentUnavailable, match="TLS handshake"):
            client.unwrap(TENANT, b"\xa1" + bytes(60), aad=AAD)
    finally:
        client.close()


def test_a_stopped_agent_is_a_clear_unavailable_error(tmp_path: Path) -> None:
    connection = make_agent_directory(tmp_path / "agent")
    agent = start_agent(tmp_path / "agent")
    client = AgentKeyWrapper(with_url(connection, agent.url))
    try:
        wrapped = client.wrap(TENANT, MATERIAL, aad=AAD)
        agent.stop(kill=True)
        with pytest.raises(KeyAgentUnavailable) as caught:
            client.unwrap(TENANT, wrapped, aad=AAD)
        message = caught.value.message
        assert TENANT in message and agent.url in message and "key-agent run" in message
        assert caught.value.code == "KMSInvalidStateException"
        assert base64.b64encode(MATERIAL).decode() not in message
        # Started again, the same agent key unwraps what it wrapped before.
        again = start_agent(tmp_path / "agent")
        restarted = AgentKeyWrapper(with_url(connection, again.url))
        try:
            assert restarted.unwrap(TENANT, wrapped, aad=AAD) == MATERIAL
        finally:
            restarted.close()
            again.stop()
    finally:
        client.close()
        agent.stop()


def test_an_http_url_is_refused(agent_setup: tuple[AgentProcess, AgentConnection]) -> None:
    connection = with_url(agent_setup[1], agent_setup[1].url.replace("https", "http"))
    with pytest.raises(ConfigurationError, match="must be https"):
        AgentKeyWrapper(connection)


def test_a_passphrase_wrapped_agent_key_runs_with_its_passphrase(tmp_path: Path) -> None:
    passphrase = "the tenant's own passphrase"
    connection = make_agent_directory(tmp_path / "agent", passphrase=passphrase)
    with pytest.raises(ConfigurationError, match="wrapped by a passphrase and none was given"):
        load_agent_root(tmp_path / "agent", passphrase=None)
    with pytest.raises(ConfigurationError, match="does not open"):
        load_agent_root(tmp_path / "agent", passphrase="not the tenant's passphrase")
    (tmp_path / "passphrase").write_text(passphrase + "\n")
    agent = start_agent(
        tmp_path / "agent", extra=["--passphrase-file", str(tmp_path / "passphrase")]
    )
    client = AgentKeyWrapper(with_url(connection, agent.url))
    try:
        wrapped = client.wrap(TENANT, MATERIAL, aad=AAD)
        assert client.unwrap(TENANT, wrapped, aad=AAD) == MATERIAL
    finally:
        client.close()
        agent.stop()


def test_an_agent_directory_is_never_overwritten(tmp_path: Path) -> None:
    make_agent_directory(tmp_path / "agent")
    before = (tmp_path / "agent" / "agent-root.key").read_bytes()
    with pytest.raises(ConfigurationError, match="never overwritten"):
        make_agent_directory(tmp_path / "agent")
    assert (tmp_path / "agent" / "agent-root.key").read_bytes() == before
    assert oct((tmp_path / "agent" / "agent-root.key").stat().st_mode & 0o777) == "0o600"


def test_the_client_key_never_shows_in_reprs(
    agent_setup: tuple[AgentProcess, AgentConnection], wrapper: AgentKeyWrapper
) -> None:
    connection = agent_setup[1]
    assert b"PRIVATE KEY" in connection.client_key
    assert "PRIVATE" not in repr(connection)
    assert "PRIVATE" not in repr(wrapper)


def _raw_client(connection: AgentConnection, directory: Path) -> httpx.Client:
    """An HTTPS client with the platform's certificate that sends whatever a test wants."""
    (directory / "client.pem").write_bytes(connection.client_certificate)
    (directory / "client.key").write_bytes(connection.client_key)
    context = ssl.create_default_context(cadata=connection.ca_certificate.decode())
    context.load_cert_chain(directory / "client.pem", directory / "client.key")
    return httpx.Client(base_url=connection.url, verify=context)


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/wrap", b"not json", 400, "InvalidRequest"),
        ("/v1/wrap", b"[1, 2]", 400, "InvalidRequest"),
        ("/v1/wrap", b'{"tenant_id": "210987654321", "aad": "", "material": "%%"}', 400, ""),
        ("/v1/unwrap", b'{"tenant_id": "210987654321", "aad": ""}', 400, "InvalidRequest"),
        ("/v1/wrap", b'{"tenant_id": 7}', 400, "InvalidRequest"),
        ("/v1/wrap", b'{"tenant_id": "210987654321", "aad": "", "material": ""}', 400, ""),
        ("/v1/export", b"{}", 404, "NotFound"),
    ],
)
def test_malformed_requests_are_refused(
    agent_setup: tuple[AgentProcess, AgentConnection],
    path: str,
    body: bytes,
    status: int,
    code: str,
    tmp_path: Path,
) -> None:
    with _raw_client(agent_setup[1], tmp_path) as client:
        response = client.post(path, content=body)
    assert response.status_code == status
    if code:
        assert response.json()["code"] == code


def test_an_oversized_body_is_refused(
    agent_setup: tuple[AgentProcess, AgentConnection], tmp_path: Path
) -> None:
    with _raw_client(agent_setup[1], tmp_path) as client:
        response = client.post("/v1/wrap", content=b"x" * (64 * 1024))
    assert response.status_code == 400


def test_the_agent_logs_requests_but_never_material_or_context(
    agent_setup: tuple[AgentProcess, AgentConnection], wrapper: AgentKeyWrapper
) -> None:
    agent = agent_setup[0]
    secret_context = b"arn:aws:kms:local:210987654321:key/log-probe#9"
    wrapped = wrapper.wrap(TENANT, MATERIAL, aad=secret_context)
    assert wrapper.unwrap(TENANT, wrapped, aad=secret_context) == MATERIAL
    with pytest.raises(IntegrityError):
        wrapper.unwrap(TENANT, wrapped, aad=b"wrong")
    deadline = time.monotonic() + 10
    while b"unwrap-refused" not in agent.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = agent.log()
    assert b'"operation": "unwrap"' in log and b"unwrap-refused" in log
    for needle in (MATERIAL, wrapped, secret_context):
        for encoded in (needle, base64.b64encode(needle), needle.hex().encode()):
            assert encoded not in log


def test_an_agent_without_its_tls_files_refuses_to_start(tmp_path: Path) -> None:
    make_agent_directory(tmp_path / "agent")
    (tmp_path / "agent" / "tls" / "server.key").unlink()
    with pytest.raises(RuntimeError, match="run 'lakevault key-agent certs"):
        start_agent(tmp_path / "agent")


def test_a_passphrase_wrapped_agent_without_its_passphrase_refuses_to_start(
    tmp_path: Path,
) -> None:
    make_agent_directory(tmp_path / "agent", passphrase="the tenant's own passphrase")
    with pytest.raises(RuntimeError, match="--passphrase-file"):
        start_agent(tmp_path / "agent")
