"""The secrets API: every operation over HTTP, decided by the gate, values only where asked."""

from __future__ import annotations

import base64

from tests.unit.api.conftest import World, error

VALUE = "api-canary-value-5c1e"


def test_a_secret_lives_its_whole_life_over_http(world: World) -> None:
    account, admin, _ = world.new_tenant("acme")
    client = world.client

    created = client.post(
        "/api/v1/secrets",
        json={"name": "app/db", "secretString": VALUE, "tags": {"team": "data"}},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    arn = created.json()["arn"]
    assert arn.startswith("arn:aws:secretsmanager:") and f":{account}:secret:app/db-" in arn
    assert VALUE not in created.text

    got = client.get("/api/v1/secrets/value", params={"secretId": "app/db"}, headers=admin)
    assert got.status_code == 200, got.text
    assert got.json()["secretString"] == VALUE
    assert got.headers["cache-control"] == "no-store"

    put = client.put(
        "/api/v1/secrets/value",
        json={"secretId": arn, "secretBinary": base64.b64encode(b"\x00bin").decode()},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    got = client.get("/api/v1/secrets/value", params={"secretId": arn}, headers=admin).json()
    assert base64.b64decode(got["secretBinary"]) == b"\x00bin"

    described = client.get(
        "/api/v1/secrets/describe", params={"secretId": "app/db"}, headers=admin
    ).json()
    stages = sorted(s for v in described["versionIdsToStages"].values() for s in v)
    assert stages == ["AWSCURRENT", "AWSPREVIOUS"]
    listed = client.get("/api/v1/secrets", headers=admin).json()["secretList"]
    assert [s["name"] for s in listed] == ["app/db"]
    assert VALUE not in str(listed)

    rotated = client.post(
        "/api/v1/secrets/rotate",
        json={"secretId": "app/db", "rotationHook": "lakevault-random-password"},
        headers=admin,
    )
    assert rotated.status_code == 200, rotated.text

    deleted = client.delete(
        "/api/v1/secrets",
        params={"secretId": "app/db", "recoveryWindowInDays": 7},
        headers=admin,
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deletionDate"] is not None
    refused = client.get("/api/v1/secrets/value", params={"secretId": "app/db"}, headers=admin)
    assert error(refused) == (400, "InvalidRequestException")
    restored = client.post("/api/v1/secrets/restore", json={"secretId": arn}, headers=admin)
    assert restored.status_code == 200, restored.text

    audit = world.audit_text(account)
    assert '"eventSource": "secretsmanager.amazonaws.com"' in audit
    assert VALUE not in audit


def test_another_tenant_is_denied_and_learns_nothing(world: World) -> None:
    _, admin_a, _ = world.new_tenant("acme")
    _, admin_b, _ = world.new_tenant("other")
    arn = world.client.post(
        "/api/v1/secrets", json={"name": "s", "secretString": VALUE}, headers=admin_a
    ).json()["arn"]

    read = world.client.get("/api/v1/secrets/value", params={"secretId": arn}, headers=admin_b)
    assert error(read) == (403, "AccessDenied")
    assert VALUE not in read.text
    anonymous = world.client.get("/api/v1/secrets/value", params={"secretId": arn})
    assert anonymous.status_code in (401, 403)
    assert VALUE not in anonymous.text
    missing = world.client.get("/api/v1/secrets/value", params={"secretId": "s"}, headers=admin_b)
    assert error(missing) == (404, "ResourceNotFoundException")


def test_bad_parameters_are_refused_with_aws_codes(world: World) -> None:
    _, admin, _ = world.new_tenant("acme")
    world.client.post("/api/v1/secrets", json={"name": "s", "secretString": "x"}, headers=admin)
    window = world.client.delete(
        "/api/v1/secrets", params={"secretId": "s", "recoveryWindowInDays": 3}, headers=admin
    )
    assert error(window) == (400, "InvalidParameterException")
    policy = world.client.put(
        "/api/v1/secrets/policy", json={"secretId": "s", "resourcePolicy": "{"}, headers=admin
    )
    assert error(policy) == (400, "MalformedPolicyDocumentException")
