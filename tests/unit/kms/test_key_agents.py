"""Tenants in operator-blind mode: attaching an agent, routing to it, and the root-key check.

Runs on SQLite and PostgreSQL (the ``database`` fixture), with a real agent process.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakevault.core import SystemClock, SystemRandom
from lakevault.core.errors import ConfigurationError, InvalidParameterValue, NoSuchEntity
from lakevault.db import Database, models
from lakevault.kms import (
    AgentConnection,
    IntegrityError,
    KeyAgentUnavailable,
    OperatorBlindTenantKeyWrapper,
    PlatformRootKey,
    PlatformTenantKeyWrapper,
    TenantKeyAgents,
    verify_root_key,
)
from tests.unit.kms.agent_process import (
    TENANT,
    AgentProcess,
    make_agent_directory,
    start_agent,
    with_url,
)

MATERIAL = bytes(range(32))
AAD = b"arn:aws:kms:local:210987654321:key/k#1"
OTHER_TENANT = "123456789012"


@pytest.fixture(scope="module")
def agent(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AgentProcess, AgentConnection]]:
    directory = tmp_path_factory.mktemp("agent")
    connection = make_agent_directory(directory)
    process = start_agent(directory)
    yield process, with_url(connection, process.url)
    process.stop()


@pytest.fixture
def root_key() -> PlatformRootKey:
    return PlatformRootKey(SystemRandom().token_bytes(32), source="test")


def _tenants(database: Database) -> None:
    with database.session() as session:
        for account in (TENANT, OTHER_TENANT):
            session.add(
                models.Tenant(account_id=account, name=f"t{account}", created_at=datetime.now(UTC))
            )


def _setup(
    database: Database, root_key: PlatformRootKey
) -> tuple[TenantKeyAgents, PlatformTenantKeyWrapper, OperatorBlindTenantKeyWrapper]:
    _tenants(database)
    agents = TenantKeyAgents(
        database, root_key=lambda: root_key, clock=SystemClock(), random=SystemRandom()
    )
    default = PlatformTenantKeyWrapper(lambda: root_key, random=SystemRandom())
    return agents, default, OperatorBlindTenantKeyWrapper(default=default, agents=agents)


def test_attached_tenants_wrap_through_their_agent_and_others_do_not(
    database: Database, root_key: PlatformRootKey, agent: tuple[AgentProcess, AgentConnection]
) -> None:
    agents, default, routed = _setup(database, root_key)
    connection = agent[1]
    fingerprint = agents.attach(
        TENANT,
        url=connection.url,
        ca_certificate=connection.ca_certificate,
        client_certificate=connection.client_certificate,
        client_key=connection.client_key,
    )
    assert len(fingerprint) == 64
    with database.read_session() as session:
        row = session.get(models.TenantKeyAgent, TENANT)
        assert row is not None
        assert b"PRIVATE KEY" not in row.sealed_client_key
    try:
        blind = routed.wrap(TENANT, MATERIAL, aad=AAD)
        assert blind[0] == 0xA1
        assert routed.unwrap(TENANT, blind, aad=AAD) == MATERIAL
        # Not even the platform root key opens it.
        with pytest.raises(IntegrityError):
            default.unwrap(TENANT, blind, aad=AAD)

        ordinary = routed.wrap(OTHER_TENANT, MATERIAL, aad=AAD)
        assert ordinary[0] == 0x01
        assert default.unwrap(OTHER_TENANT, ordinary, aad=AAD) == MATERIAL
        assert routed.unwrap(OTHER_TENANT, ordinary, aad=AAD) == MATERIAL

        # Detached, the agent's material is unreadable with a clear error.
        agents.detach(TENANT)
        with pytest.raises(KeyAgentUnavailable, match="no agent is attached"):
            routed.unwrap(TENANT, blind, aad=AAD)
        with pytest.raises(NoSuchEntity):
            agents.detach(TENANT)
    finally:
        routed.close()


def test_attach_refuses_bad_input_and_unknown_tenants(
    database: Database, root_key: PlatformRootKey, agent: tuple[AgentProcess, AgentConnection]
) -> None:
    agents, _, _ = _setup(database, root_key)
    connection = agent[1]
    good = {
        "ca_certificate": connection.ca_certificate,
        "client_certificate": connection.client_certificate,
        "client_key": connection.client_key,
    }
    with pytest.raises(InvalidParameterValue, match="https://"):
        agents.attach(TENANT, url="http://127.0.0.1:1", **good)
    with pytest.raises(InvalidParameterValue, match="12-digit"):
        agents.attach("12345", url="https://127.0.0.1:1", **good)
    with pytest.raises(NoSuchEntity, match="no tenant 999999999999"):
        agents.attach("999999999999", url="https://127.0.0.1:1", **good)
    with pytest.raises(ConfigurationError, match="unreadable"):
        agents.attach(TENANT, url="https://127.0.0.1:1", **{**good, "client_key": b"not a key"})
    with database.read_session() as session:
        assert session.get(models.TenantKeyAgent, TENANT) is None


def test_a_stopped_agent_stops_its_tenant_only(
    database: Database, root_key: PlatformRootKey, tmp_path: Path
) -> None:
    agents, _, routed = _setup(database, root_key)
    connection = make_agent_directory(tmp_path / "agent")
    process = start_agent(tmp_path / "agent")
    try:
        agents.attach(
            TENANT,
            url=process.url,
            ca_certificate=connection.ca_certificate,
            client_certificate=connection.client_certificate,
            client_key=connection.client_key,
        )
        blind = routed.wrap(TENANT, MATERIAL, aad=AAD)
        ordinary = routed.wrap(OTHER_TENANT, MATERIAL, aad=AAD)
        process.stop()
        with pytest.raises(KeyAgentUnavailable, match="cannot be reached"):
            routed.unwrap(TENANT, blind, aad=AAD)
        with pytest.raises(KeyAgentUnavailable):
            routed.wrap(TENANT, MATERIAL, aad=AAD)
        assert routed.unwrap(OTHER_TENANT, ordinary, aad=AAD) == MATERIAL
    finally:
        routed.close()
        process.stop()


def test_the_root_key_check_records_once_then_refuses_another_key(
    database: Database, root_key: PlatformRootKey
) -> None:
    assert verify_root_key(database, root_key, clock=SystemClock()) is True
    assert verify_root_key(database, root_key, clock=SystemClock()) is False
    other = PlatformRootKey(SystemRandom().token_bytes(32), source="/somewhere/else.key")
    with pytest.raises(ConfigurationError, match=r"from /somewhere/else\.key is not the key"):
        verify_root_key(database, other, clock=SystemClock())
