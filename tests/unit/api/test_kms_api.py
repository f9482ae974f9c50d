"""The KMS API over HTTP: a tenant admin uses its keys; other tenants and bad input are refused."""

from __future__ import annotations

import base64

from tests.unit.api.conftest import World, error

SECRET = b"the launch code"


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def test_a_tenant_creates_a_key_and_encrypts_and_decrypts(world: World) -> None:
    account, admin, _ = world.new_tenant("red")
    created = world.client.post("/api/v1/kms/keys", json={"description": "red"}, headers=admin)
    assert created.status_code == 201, created.text
    key_id = created.json()["keyMetadata"]["keyId"]
    assert created.json()["keyMetadata"]["keyState"] == "Enabled"
    alias = world.client.post(
        "/api/v1/kms/create-alias",
        json={"aliasName": "alias/red", "targetKeyId": key_id},
        headers=admin,
    )
    assert alias.status_code == 201, alias.text
    encrypted = world.client.post(
        "/api/v1/kms/encrypt",
        json={"keyId": "alias/red", "plaintext": b64(SECRET), "encryptionContext": {"app": "x"}},
        headers=admin,
    )
    assert encrypted.status_code == 200, encrypted.text
    blob = encrypted.json()["ciphertextBlob"]
    decrypted = world.client.post(
        "/api/v1/kms/decrypt",
        json={"ciphertextBlob": blob, "encryptionContext": {"app": "x"}},
        headers=admin,
    )
    assert decrypted.status_code == 200, decrypted.text
    assert base64.b64decode(decrypted.json()["plaintext"]) == SECRET
    listed = world.client.get("/api/v1/kms/keys", headers=admin).json()
    assert [k["keyId"] for k in listed] == [key_id]
    assert b64(SECRET) not in world.audit_text(account)
    assert SECRET.decode() not in world.audit_text(account)

    # A wrong encryption context does not decrypt.
    wrong = world.client.post(
        "/api/v1/kms/decrypt",
        json={"ciphertextBlob": blob, "encryptionContext": {"app": "y"}},
        headers=admin,
    )
    assert error(wrong) == (400, "InvalidCiphertextException")

    # Another tenant can neither see nor use the key.
    _, other, _ = world.new_tenant("blue")
    assert error(
        world.client.post("/api/v1/kms/describe-key", json={"keyId": key_id}, headers=other)
    ) == (404, "NotFoundException")
    stolen = world.client.post(
        "/api/v1/kms/decrypt",
        json={"ciphertextBlob": blob, "encryptionContext": {"app": "x"}},
        headers=other,
    )
    assert error(stolen) == (403, "AccessDenied")

    # A disabled key refuses, after the gate allowed the caller.
    disabled = world.client.post("/api/v1/kms/disable-key", json={"keyId": key_id}, headers=admin)
    assert disabled.json()["keyMetadata"]["keyState"] == "Disabled"
    refused = world.client.post(
        "/api/v1/kms/decrypt",
        json={"ciphertextBlob": blob, "encryptionContext": {"app": "x"}},
        headers=admin,
    )
    assert error(refused) == (400, "DisabledException")
    assert "DisabledException" in world.audit_text(account)


def test_deletion_rotation_and_grants_over_http(world: World) -> None:
    account, admin, _ = world.new_tenant("green")
    key_id = world.client.post("/api/v1/kms/keys", json={}, headers=admin).json()["keyMetadata"][
        "keyId"
    ]
    rotated = world.client.post(
        "/api/v1/kms/rotate-key-on-demand", json={"keyId": key_id}, headers=admin
    )
    assert rotated.json()["keyMetadata"]["currentKeyVersion"] == 2
    bad_days = world.client.post(
        "/api/v1/kms/schedule-key-deletion",
        json={"keyId": key_id, "pendingWindowInDays": 3},
        headers=admin,
    )
    assert error(bad_days) == (400, "InvalidParameterValue")
    grant = world.client.post(
        "/api/v1/kms/create-grant",
        json={
            "keyId": key_id,
            "granteePrincipal": f"arn:aws:iam::{account}:user/someone",
            "operations": ["Decrypt"],
            "constraints": {"encryptionContextSubset": {"app": "x"}},
        },
        headers=admin,
    )
    assert grant.status_code == 201, grant.text
    grants = world.client.post("/api/v1/kms/list-grants", json={"keyId": key_id}, headers=admin)
    assert grants.json()[0]["constraints"] == {
        "encryptionContextEquals": None,
        "encryptionContextSubset": {"app": "x"},
    }
    scheduled = world.client.post(
        "/api/v1/kms/schedule-key-deletion",
        json={"keyId": key_id, "pendingWindowInDays": 7},
        headers=admin,
    )
    assert scheduled.json()["keyMetadata"]["keyState"] == "PendingDeletion"
    anonymous = world.client.post("/api/v1/kms/cancel-key-deletion", json={"keyId": key_id})
    # An anonymous caller names no tenant, so a bare key id names nothing; nothing changes.
    assert error(anonymous) == (404, "NotFoundException")
    described = world.client.post("/api/v1/kms/describe-key", json={"keyId": key_id}, headers=admin)
    assert described.json()["keyMetadata"]["keyState"] == "PendingDeletion"
    cancelled = world.client.post(
        "/api/v1/kms/cancel-key-deletion", json={"keyId": key_id}, headers=admin
    )
    assert cancelled.json()["keyMetadata"]["keyState"] == "Disabled"
