"""Operator-blind mode, end to end: what the operator holds decrypts nothing of the tenant.

The issue's test (issue 5, item 6). A real installation in a temporary ``LAKEVAULT_HOME``
(SQLite metadata database, object directory, platform root key file, settings, a log file of
every record the platform logged), two tenants made through the HTTP API, and a real key agent
process for one of them. Then, with the agent stopped:

* the key service of freshly built platform objects (a restart) refuses the tenant's Decrypt
  with ``KMSInvalidStateException``, while the other tenant works;
* the platform root key cannot unwrap any of the tenant's stored key material;
* no file anywhere under the data directory holds the tenant's plaintext or key material.

And with the agent running again, the tenant's own requests work.

SQLite only: the brute-force read needs the database to be a file in the data directory.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lakevault import identity, kms
from lakevault.api import create_app
from lakevault.core import Settings, load_settings
from lakevault.db import models
from lakevault.keys import KeyCall, KeyService
from lakevault.runtime import Platform, initialise
from lakevault.storage import Caller
from tests.unit.kms.agent_process import make_agent_directory, start_agent, with_url

SECRET = b"the tenant's quarterly numbers: 4 8 15 16 23 42"
OTHER_SECRET = b"a tenant that trusts the operator"
OBJECT = b"".join(b"confidential row %06d of the tenant's ledger\n" % n for n in range(5000))


def _aad(account: str, key_id: str, version: int) -> bytes:
    """What the key service binds a key version's wrapped material to (kms.material_aad)."""
    return f"arn:aws:kms:local:{account}:key/{key_id}#{version}".encode()


@dataclass
class Installation:
    settings: Settings
    home: Path
    admin_password: str


def _context() -> kms.EncryptionContext:
    return kms.EncryptionContext.from_mapping({"purpose": "operator-blind-test"})


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[Installation]:
    home = tmp_path / "home"
    settings = load_settings({"LAKEVAULT_HOME": str(home)})
    platform = Platform.build(settings)
    credentials = initialise(platform).credentials
    platform.close()
    assert credentials is not None
    # Everything the platform logs goes to a file in the data directory, as an operator's
    # log collection would keep it.
    (home / "logs").mkdir()
    handler = logging.FileHandler(home / "logs" / "lakevault.log")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield Installation(settings, home, credentials.password)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()


def _new_tenant(platform: Platform, admin_password: str, name: str) -> tuple[str, KeyCall]:
    with TestClient(create_app(platform)) as client:
        token = client.post(
            "/api/v1/sessions",
            json={"accountId": "000000000000", "userName": "admin", "password": admin_password},
        ).json()["accessToken"]
        response = client.post(
            "/api/v1/tenants", json={"name": name}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
    account = body["tenant"]["accountId"]
    principal = identity.authenticate_password(
        platform.database, account_id=account, user_name="admin", password=body["adminPassword"]
    )
    return account, KeyCall(principal=principal, request_id=f"req-{name}")


def _files(home: Path) -> list[Path]:
    return [path for path in sorted(home.rglob("*")) if path.is_file()]


def _encodings(value: bytes) -> list[bytes]:
    return [value, value.hex().encode(), base64.b64encode(value), base64.b64encode(value)[:-2]]


def test_the_operator_holds_nothing_that_decrypts_an_operator_blind_tenant(
    installation: Installation, tmp_path: Path
) -> None:
    # --- the tenant sets up its agent on its own machine; the operator attaches it ----------
    platform = Platform.build(installation.settings)
    blind_account, blind = _new_tenant(platform, installation.admin_password, "blind")
    other_account, other = _new_tenant(platform, installation.admin_password, "trusting")
    agent_directory = tmp_path / "tenant-machine" / "agent"
    connection = make_agent_directory(agent_directory, tenant_id=blind_account)
    agent = start_agent(agent_directory)
    connection = with_url(connection, agent.url)
    try:
        kms.TenantKeyAgents(
            platform.database,
            root_key=platform.root_key,
            clock=platform.clock,
            random=platform.random,
        ).attach(
            blind_account,
            url=connection.url,
            ca_certificate=connection.ca_certificate,
            client_certificate=connection.client_certificate,
            client_key=connection.client_key,
        )

        # --- the tenant's own requests work while its agent runs ------------------------------
        key = platform.keys.create_key(blind, description="operator-blind")
        platform.keys.rotate_key_on_demand(blind, key.key_id)
        ciphertext = platform.keys.encrypt(blind, key.key_id, SECRET, context=_context())
        plaintext, _, _ = platform.keys.decrypt(blind, ciphertext.blob, context=_context())
        assert plaintext == SECRET
        other_key = platform.keys.create_key(other)
        other_ciphertext = platform.keys.encrypt(
            other, other_key.key_id, OTHER_SECRET, context=_context()
        )
        # An object in the tenant's bucket: stored by the storage service in the object
        # directory, under a data key its bucket's KMS key wraps.
        caller = Caller(principal=blind.principal, request_id="req-storage")
        platform.storage.buckets.create_bucket(caller, "blind-data")
        platform.storage.objects.put_object(
            caller, "blind-data", "report.txt", io.BytesIO(OBJECT), content_length=len(OBJECT)
        )
        assert (
            platform.storage.objects.open_object(caller, "blind-data", "report.txt").read_all()
            == OBJECT
        )
        # And the Encrypt ciphertext, kept in the data directory as a client would keep it.
        (installation.home / "blind-ciphertext").write_bytes(ciphertext.blob)
        (installation.home / "other-ciphertext").write_bytes(other_ciphertext.blob)

        with platform.database.read_session() as session:
            versions = [
                (row.key_id, row.version, row.wrapped_material)
                for row in session.query(models.KMSKeyVersion)
                .join(models.KMSKey, models.KMSKey.key_id == models.KMSKeyVersion.key_id)
                .filter(models.KMSKey.account_id == blind_account)
            ]
        # The key made above (two versions) and the bucket's key (one).
        assert len(versions) == 3
        assert all(wrapped[0] == 0xA1 for _, _, wrapped in versions)
        # The test (not the operator) asks the tenant's agent for the material itself, to
        # search the operator's files for it below.
        tenant_side = kms.AgentKeyWrapper(connection)
        materials = [
            tenant_side.unwrap(blind_account, wrapped, aad=_aad(blind_account, key_id, version))
            for key_id, version, wrapped in versions
        ]
        tenant_side.close()
        platform.close()
    finally:
        agent.stop()

    # --- the agent is stopped; the operator restarts the platform with everything it has ----
    restarted = Platform.build(installation.settings)
    try:
        with pytest.raises(kms.KeyAgentUnavailable) as caught:
            restarted.keys.decrypt(blind, ciphertext.blob, context=_context())
        assert caught.value.code == "KMSInvalidStateException"
        assert blind_account in caught.value.message
        with pytest.raises(kms.KeyAgentUnavailable):
            restarted.keys.encrypt(blind, key.key_id, b"new data", context=_context())
        # The tenant that trusts the operator is not affected.
        assert (
            restarted.keys.decrypt(other, other_ciphertext.blob, context=_context())[0]
            == OTHER_SECRET
        )

        # The platform root key (the operator's most powerful secret) opens none of it.
        operator_wrapper = kms.PlatformTenantKeyWrapper(restarted.root_key, random=restarted.random)
        for key_id, version, wrapped in versions:
            with pytest.raises(kms.IntegrityError):
                operator_wrapper.unwrap(
                    blind_account, wrapped, aad=_aad(blind_account, key_id, version)
                )
        # Nor does the object in the tenant's bucket open.
        with pytest.raises(kms.KeyAgentUnavailable):
            restarted.storage.objects.open_object(
                Caller(principal=blind.principal, request_id="req-after"),
                "blind-data",
                "report.txt",
            ).read_all()
    finally:
        restarted.close()

    # --- brute force: no file of the operator's holds the plaintext or the key material -----
    files = _files(installation.home)
    names = {path.name for path in files}
    assert {"metadata.db", "platform-root.key", "lakevault.log"} <= names
    assert (installation.home / "logs" / "lakevault.log").stat().st_size > 0
    stored_blobs = [path for path in files if path.is_relative_to(installation.home / "objects")]
    assert sum(path.stat().st_size for path in stored_blobs) > len(OBJECT)
    needles = [
        *_encodings(SECRET),
        *_encodings(OBJECT[:64]),
        *(e for m in materials for e in _encodings(m)),
    ]
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"{path} holds tenant plaintext or key material"
    # The control: the same search finds what the operator may read (the other tenant's data
    # is encrypted too, so search for its key id, which is metadata).
    assert any(other_key.key_id.encode() in path.read_bytes() for path in files)

    # --- the tenant starts its agent again: its requests work, after another restart --------
    again = start_agent(agent_directory)
    try:
        # The agent listens on a new port; the tenant tells the operator, who re-attaches.
        platform = Platform.build(installation.settings)
        kms.TenantKeyAgents(
            platform.database,
            root_key=platform.root_key,
            clock=platform.clock,
            random=platform.random,
        ).attach(
            blind_account,
            url=again.url,
            ca_certificate=connection.ca_certificate,
            client_certificate=connection.client_certificate,
            client_key=connection.client_key,
        )
        assert platform.keys.decrypt(blind, ciphertext.blob, context=_context())[0] == SECRET
        download = platform.storage.objects.open_object(
            Caller(principal=blind.principal, request_id="req-again"), "blind-data", "report.txt"
        )
        assert download.read_all() == OBJECT
        platform.close()
    finally:
        again.stop()
    assert other_account != blind_account


def test_a_running_service_stops_decrypting_once_its_short_cache_expires(
    installation: Installation, tmp_path: Path
) -> None:
    """The interaction with the key service's material cache (docs/keys.md, "Caching"):
    after the agent stops, a running process keeps only what it unwrapped within the TTL."""
    platform = Platform.build(installation.settings)
    account, call = _new_tenant(platform, installation.admin_password, "cached")
    agent_directory = tmp_path / "agent"
    connection = make_agent_directory(agent_directory, tenant_id=account)
    agent = start_agent(agent_directory)
    clock = {"now": 0.0}
    try:
        agents = kms.TenantKeyAgents(
            platform.database,
            root_key=platform.root_key,
            clock=platform.clock,
            random=platform.random,
        )
        agents.attach(
            account,
            url=agent.url,
            ca_certificate=connection.ca_certificate,
            client_certificate=connection.client_certificate,
            client_key=connection.client_key,
        )
        service = KeyService(
            database=platform.database,
            gate=platform.gate,
            audit=platform.audit,
            wrapper=kms.OperatorBlindTenantKeyWrapper(
                default=kms.PlatformTenantKeyWrapper(platform.root_key, random=platform.random),
                agents=agents,
            ),
            clock=platform.clock,
            random=platform.random,
            region=installation.settings.region,
            material_ttl_seconds=30.0,
        )
        # The cache's clock, injected (MaterialCache takes one; the service builds its own).
        service.materials._monotonic = lambda: clock["now"]
        key = service.create_key(call)
        ciphertext = service.encrypt(call, key.key_id, SECRET, context=_context())
        assert service.decrypt(call, ciphertext.blob, context=_context())[0] == SECRET
        agent.stop()
        clock["now"] = 29.0
        assert service.decrypt(call, ciphertext.blob, context=_context())[0] == SECRET
        clock["now"] = 31.0
        with pytest.raises(kms.KeyAgentUnavailable):
            service.decrypt(call, ciphertext.blob, context=_context())
    finally:
        agent.stop()
        platform.close()
