"""Grant tokens over HTTP: CreateGrant answers one; cryptographic calls accept and check them."""

from __future__ import annotations

import base64

from tests.unit.api.conftest import World, error


def test_create_grant_answers_a_token_that_encrypt_accepts(world: World) -> None:
    account, admin, _ = world.new_tenant("red")
    key_id = world.client.post("/api/v1/kms/keys", json={}, headers=admin).json()["keyMetadata"][
        "keyId"
    ]
    grant = world.client.post(
        "/api/v1/kms/create-grant",
        json={
            "keyId": key_id,
            "granteePrincipal": f"arn:aws:iam::{account}:user/reader",
            "operations": ["Encrypt", "Decrypt"],
        },
        headers=admin,
    )
    assert grant.status_code == 201, grant.text
    token = grant.json()["grantToken"]
    assert token
    body = {
        "keyId": key_id,
        "plaintext": base64.b64encode(b"x").decode(),
        "grantTokens": [token],
    }
    encrypted = world.client.post("/api/v1/kms/encrypt", json=body, headers=admin)
    assert encrypted.status_code == 200, encrypted.text
    refused = world.client.post(
        "/api/v1/kms/encrypt", json={**body, "grantTokens": ["forged"]}, headers=admin
    )
    assert error(refused) == (400, "InvalidGrantTokenException")
    listed = world.client.post("/api/v1/kms/list-grants", json={"keyId": key_id}, headers=admin)
    assert listed.json()[0]["grantToken"] is None  # only CreateGrant answers the token
