"""A tenant attaches its own key agent through the API (operator-blind mode; ADR 0217).

A real ``lakevault key-agent run`` process, a real platform and app: the tenant's admin
attaches the agent over HTTP, new keys are wrapped by it, the change is in the tenant's audit
log, and every refusal (no permission, an agent of another tenant, an agent that does not
answer, a bad bundle) changes nothing.
"""

from __future__ import annotations

import base64
from pathlib import Path

from lakevault.db import models
from lakevault.kms import AgentConnection, certificate_fingerprint
from tests.unit.api.conftest import World, error
from tests.unit.kms.agent_process import make_agent_directory, start_agent, with_url


def _bundle(connection: AgentConnection) -> dict[str, str]:
    return {
        "url": connection.url,
        "caCertificate": connection.ca_certificate.decode(),
        "clientCertificate": connection.client_certificate.decode(),
        "clientKey": connection.client_key.decode(),
    }


def test_a_tenant_attaches_its_agent_and_new_keys_are_wrapped_by_it(
    world: World, tmp_path: Path
) -> None:
    account, admin, _ = world.new_tenant("blind")
    _, other_admin, _ = world.new_tenant("other")
    c = world.client
    c.post(f"/api/v1/tenants/{account}/users", json={"userName": "dave"}, headers=admin)
    c.put(
        f"/api/v1/tenants/{account}/users/dave/password",
        json={"password": "Dave-pa55word"},
        headers=admin,
    )
    dave = world.sign_in(account, "dave", "Dave-pa55word")

    directory = tmp_path / "tenant-machine" / "agent"
    connection = make_agent_directory(directory, tenant_id=account)
    agent = start_agent(directory)
    connection = with_url(connection, agent.url)
    bundle = _bundle(connection)
    try:
        # Denied: a user without a policy, and the other tenant (the agent serves `account`).
        assert error(c.post("/api/v1/kms/put-key-agent", json=bundle, headers=dave)) == (
            403,
            "AccessDenied",
        )
        foreign = c.post("/api/v1/kms/put-key-agent", json=bundle, headers=other_admin)
        assert error(foreign) == (400, "InvalidParameterValue")
        assert "serves tenant" in foreign.json()["error"]["message"]
        # Refused: an agent that does not answer, a bundle that is not PEM.
        closed = {**bundle, "url": "https://127.0.0.1:1"}
        assert error(c.post("/api/v1/kms/put-key-agent", json=closed, headers=admin)) == (
            400,
            "InvalidParameterValue",
        )
        broken = {**bundle, "clientCertificate": "not a certificate"}
        assert error(c.post("/api/v1/kms/put-key-agent", json=broken, headers=admin)) == (
            400,
            "InvalidParameterValue",
        )
        with world.platform.database.read_session() as session:
            assert session.query(models.TenantKeyAgent).count() == 0

        attached = c.post("/api/v1/kms/put-key-agent", json=bundle, headers=admin)
        assert attached.status_code == 200, attached.text
        answer = attached.json()["keyAgent"]
        assert answer["url"] == agent.url
        fingerprint = certificate_fingerprint(connection.client_certificate)
        assert answer["clientCertificateFingerprint"] == fingerprint
        assert "clientKey" not in attached.text and "PRIVATE KEY" not in attached.text
        got = c.post("/api/v1/kms/get-key-agent", json={}, headers=admin).json()["keyAgent"]
        assert got["url"] == agent.url
        assert c.post("/api/v1/kms/get-key-agent", json={}, headers=other_admin).json() == {
            "keyAgent": None
        }
        missing = c.post("/api/v1/kms/delete-key-agent", json={}, headers=other_admin)
        assert missing.status_code == 404

        # New keys of the tenant are wrapped by its agent, and work while it runs.
        key_id = c.post("/api/v1/kms/keys", json={}, headers=admin).json()["keyMetadata"]["keyId"]
        with world.platform.database.read_session() as session:
            wrapped = session.get(models.KMSKeyVersion, (key_id, 1))
            assert wrapped is not None and wrapped.wrapped_material[0] == 0xA1
        body = {"keyId": key_id, "plaintext": base64.b64encode(b"numbers").decode()}
        encrypted = c.post("/api/v1/kms/encrypt", json=body, headers=admin)
        assert encrypted.status_code == 200, encrypted.text
        blob = encrypted.json()["ciphertextBlob"]

        audit = world.audit_text(account)
        assert "PutKeyAgent" in audit and fingerprint in audit
        assert "PRIVATE KEY" not in audit
    finally:
        agent.stop()

    # The agent stopped: nothing of the tenant decrypts in a process that has not cached it.
    world.platform.keys.materials.clear()
    refused = c.post("/api/v1/kms/decrypt", json={"ciphertextBlob": blob}, headers=admin)
    assert error(refused) == (503, "KMSInvalidStateException")

    # Detaching is the tenant's too, and recorded.
    assert c.post("/api/v1/kms/delete-key-agent", json={}, headers=admin).status_code == 204
    assert c.post("/api/v1/kms/get-key-agent", json={}, headers=admin).json() == {"keyAgent": None}
    assert "DeleteKeyAgent" in world.audit_text(account)
