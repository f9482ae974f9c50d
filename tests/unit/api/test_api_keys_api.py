"""API keys: scoped, hashed at rest, origin- and network-bound, rotating — and their denials."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.api.conftest import World, error


def _create(world: World, account: str, admin: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "ingest",
        "actions": ["iam:ListUsers"],
        "resources": [f"arn:aws:iam::{account}:user/*"],
    }
    body.update(overrides)
    response = world.client.post(f"/api/v1/tenants/{account}/api-keys", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_key_can_do_what_its_scope_allows_and_nothing_more(world: World) -> None:
    account, admin, _ = world.new_tenant("ingest")
    created = _create(world, account, admin)
    key = {"X-Api-Key": created["apiKey"]}
    assert world.client.get(f"/api/v1/tenants/{account}/users", headers=key).status_code == 200
    # The creator is an administrator, but the key's scope does not include creating users.
    denied = world.client.post(
        f"/api/v1/tenants/{account}/users", json={"userName": "x"}, headers=key
    )
    assert error(denied) == (403, "AccessDenied")
    names = [
        u["userName"]
        for u in world.client.get(f"/api/v1/tenants/{account}/users", headers=admin).json()
    ]
    assert names == ["admin"]
    listed = world.client.get(f"/api/v1/tenants/{account}/api-keys", headers=admin).text
    assert created["apiKey"] not in listed
    secret = created["apiKey"].rsplit("_", 1)[1]
    assert secret not in json.dumps(world.platform.audit.read(account, limit=100000))
    with world.platform.database.read_session() as session:
        from sqlalchemy import text

        stored = session.execute(text("SELECT secret_sha256 FROM api_keys")).scalar_one()
    assert secret not in stored and len(stored) == 64


@pytest.mark.parametrize(
    "value",
    ["lvk_AAAAAAAAAAAAAAAA_" + "a" * 43, "nonsense", "", "lvk_"],
    ids=["unknown", "garbage", "empty", "prefix-only"],
)
def test_unknown_or_malformed_keys_get_one_answer(world: World, value: str) -> None:
    assert error(world.client.get("/api/v1/tenants", headers={"X-Api-Key": value})) == (
        403,
        "InvalidApiKey",
    )


def test_a_tampered_secret_is_refused(world: World) -> None:
    account, admin, _ = world.new_tenant("tamper")
    created = _create(world, account, admin)
    key = created["apiKey"]
    flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert error(
        world.client.get(f"/api/v1/tenants/{account}/users", headers={"X-Api-Key": flipped})
    ) == (403, "InvalidApiKey")


def test_origins_and_source_networks_bind_the_key(world: World) -> None:
    account, admin, _ = world.new_tenant("bound")
    created = _create(
        world,
        account,
        admin,
        allowedOrigins=["https://upload.example.org"],
        sourceCidrs=["192.0.2.0/24"],
    )
    key = {"X-Api-Key": created["apiKey"]}
    url = f"/api/v1/tenants/{account}/users"
    # The test client connects from "testclient", outside 192.0.2.0/24: the condition fails.
    assert error(world.client.get(url, headers=key)) == (403, "AccessDenied")
    foreign_origin = {**key, "Origin": "https://evil.example.com"}
    assert error(world.client.get(url, headers=foreign_origin)) == (403, "InvalidApiKey")


def test_expired_deleted_and_rotated_keys(world: World) -> None:
    account, admin, _ = world.new_tenant("lifecycle")
    created = _create(world, account, admin, ttlDays=1)
    key = {"X-Api-Key": created["apiKey"]}
    url = f"/api/v1/tenants/{account}/users"
    rotated = world.client.post(
        f"/api/v1/tenants/{account}/api-keys/ingest/rotate",
        json={"newName": "ingest-2", "graceSeconds": 60},
        headers=admin,
    )
    assert rotated.status_code == 201, rotated.text
    new_key = {"X-Api-Key": rotated.json()["apiKey"]}
    assert world.client.get(url, headers=key).status_code == 200  # within the grace period
    world.clock.advance(seconds=61)
    assert error(world.client.get(url, headers=key)) == (403, "InvalidApiKey")
    assert world.client.get(url, headers=new_key).status_code == 200
    assert (
        world.client.delete(
            f"/api/v1/tenants/{account}/api-keys/ingest-2", headers=admin
        ).status_code
        == 204
    )
    assert error(world.client.get(url, headers=new_key)) == (403, "InvalidApiKey")


def test_keys_need_a_valid_scope_and_a_user_creator(world: World) -> None:
    account, admin, _ = world.new_tenant("scopes")
    bad = world.client.post(
        f"/api/v1/tenants/{account}/api-keys",
        json={"name": "x", "actions": ["not an action"], "resources": ["*"]},
        headers=admin,
    )
    assert error(bad) == (400, "ValidationError")
    bad_cidr = world.client.post(
        f"/api/v1/tenants/{account}/api-keys",
        json={
            "name": "x",
            "actions": ["s3:PutObject"],
            "resources": ["*"],
            "sourceCidrs": ["10.0.0.0/33"],
        },
        headers=admin,
    )
    assert error(bad_cidr) == (400, "ValidationError")
    created = _create(
        world, account, admin, actions=["lakevault:CreateApiKey"], resources=["*"], name="meta"
    )
    chained = world.client.post(
        f"/api/v1/tenants/{account}/api-keys",
        json={"name": "child", "actions": ["*"], "resources": ["*"]},
        headers={"X-Api-Key": created["apiKey"]},
    )
    # A key cannot mint a broader key (nor access keys or passwords), whatever its scope says.
    assert error(chained) == (403, "AccessDenied")
    minted = world.client.post(
        f"/api/v1/tenants/{account}/users/admin/access-keys",
        headers={
            "X-Api-Key": _create(
                world, account, admin, name="wide", actions=["*"], resources=["*"]
            )["apiKey"]
        },
    )
    assert error(minted) == (403, "AccessDenied")
