"""The key-policy lockout safety check over HTTP and from the shell."""

from __future__ import annotations

import json

from tests.unit.api.conftest import World, error


def test_put_key_policy_refuses_a_lockout_unless_bypassed(world: World) -> None:
    account, admin, _ = world.new_tenant("red")
    key_id = world.client.post("/api/v1/kms/keys", json={}, headers=admin).json()["keyMetadata"][
        "keyId"
    ]
    locking = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": ["kms:Encrypt", "kms:Decrypt"],
                    "Resource": "*",
                }
            ],
        }
    )
    refused = world.client.post(
        "/api/v1/kms/put-key-policy", json={"keyId": key_id, "policy": locking}, headers=admin
    )
    assert error(refused) == (400, "MalformedPolicyDocument")
    created = world.client.post("/api/v1/kms/keys", json={"policy": locking}, headers=admin)
    assert error(created) == (400, "MalformedPolicyDocument")

    bypassed = world.client.post(
        "/api/v1/kms/put-key-policy",
        json={"keyId": key_id, "policy": locking, "bypassPolicyLockoutSafetyCheck": True},
        headers=admin,
    )
    assert bypassed.status_code in (200, 204), bypassed.text
    again = world.client.post(
        "/api/v1/kms/put-key-policy",
        json={"keyId": key_id, "policy": locking, "bypassPolicyLockoutSafetyCheck": True},
        headers=admin,
    )
    assert error(again) == (403, "AccessDenied")
