"""Per-bucket streaming limits: set and read through the gate, enforced while streaming (413,
nothing stored, no orphan blob), a platform default from settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from lakevault import identity
from lakevault.api import create_app
from lakevault.core import FixedClock, load_settings
from lakevault.db import Database, models
from lakevault.runtime import Platform, initialise
from tests.unit.api.conftest import World, error

BUCKET = "limited-data"


def _setup(world: World) -> tuple[str, dict[str, str]]:
    account, admin, _ = world.new_tenant("limits")
    assert (
        world.client.post("/api/v1/buckets", json={"name": BUCKET}, headers=admin).status_code
        == 201
    )
    return account, admin


def _set(world: World, headers: dict[str, str], value: Any, bucket: str = BUCKET) -> Any:
    return world.client.put(
        f"/api/v1/buckets/{bucket}/limits", json={"maxObjectBytes": value}, headers=headers
    )


def _chunks(*pieces: bytes) -> Iterator[bytes]:
    yield from pieces


def _blob_files(world: World) -> list[Path]:
    root = Path(world.platform.settings.home) / "objects"
    return [path for path in root.rglob("*") if path.is_file() and BUCKET in str(path)]


def test_a_bucket_limit_is_set_read_and_cleared(world: World) -> None:
    _, admin = _setup(world)
    default = world.client.get(f"/api/v1/buckets/{BUCKET}/limits", headers=admin).json()
    assert default["maxObjectBytes"] is None
    assert default["effectiveMaxObjectBytes"] == default["platformMaxObjectBytes"] == 5 * 1024**4
    assert _set(world, admin, 10).json()["effectiveMaxObjectBytes"] == 10
    assert (
        world.client.get(f"/api/v1/buckets/{BUCKET}/limits", headers=admin).json()["maxObjectBytes"]
        == 10
    )
    cleared = _set(world, admin, None).json()
    assert cleared["maxObjectBytes"] is None and cleared["effectiveMaxObjectBytes"] == 5 * 1024**4
    for bad in (0, -1, 5 * 1024**4 + 1):
        assert error(_set(world, admin, bad)) == (400, "InvalidArgument")


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(world: World) -> None:
    _, admin = _setup(world)
    assert _set(world, admin, 10).status_code == 200
    url = f"/api/v1/buckets/{BUCKET}/objects/file"
    declared = world.client.put(url, content=b"x" * 11, headers=admin)
    assert error(declared) == (413, "EntityTooLarge")
    assert "10 bytes" in declared.json()["error"]["message"]
    streamed = world.client.put(
        url, content=_chunks(b"x" * 8, b"y" * 8, b"z" * 1000), headers=admin
    )
    assert error(streamed) == (413, "EntityTooLarge")
    assert world.client.head(url, headers=admin).status_code == 404
    with world.platform.database.read_session() as session:
        assert session.scalars(select(models.BlobJournal)).all() == []
        assert session.scalars(select(models.ObjectVersion)).all() == []
    assert _blob_files(world) == []
    assert world.client.put(url, content=b"x" * 10, headers=admin).status_code == 200
    assert (
        world.client.put(url, content=_chunks(b"x" * 5, b"y" * 5), headers=admin).status_code == 200
    )


def test_a_copy_over_the_destination_limit_is_refused(world: World) -> None:
    _, admin = _setup(world)
    assert (
        world.client.post("/api/v1/buckets", json={"name": "big-source"}, headers=admin).status_code
        == 201
    )
    world.client.put("/api/v1/buckets/big-source/objects/big", content=b"x" * 20, headers=admin)
    assert _set(world, admin, 10).status_code == 200
    copied = world.client.put(
        f"/api/v1/buckets/{BUCKET}/objects/copy",
        headers={**admin, "x-amz-copy-source": "/big-source/big"},
    )
    assert error(copied) == (413, "EntityTooLarge")
    assert (
        world.client.head(f"/api/v1/buckets/{BUCKET}/objects/copy", headers=admin).status_code
        == 404
    )


def test_setting_a_limit_needs_the_lakevault_action_not_s3_star(world: World) -> None:
    account, admin = _setup(world)
    base = f"/api/v1/tenants/{account}"
    c = world.client
    assert c.post(f"{base}/users", json={"userName": "s3user"}, headers=admin).status_code == 201
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    c.put(f"{base}/users/s3user/policies/p", json={"policyDocument": policy}, headers=admin)
    created = c.post(
        f"{base}/api-keys",
        json={"name": "k", "actions": ["s3:*", "lakevault:*"], "resources": ["*"]},
        headers=admin,
    ).json()
    assert created["apiKey"]
    # A user with only s3:* cannot: the action is lakevault's.
    key = c.post(f"{base}/users/s3user/access-keys", headers=admin).json()
    raw = b'{"maxObjectBytes": 5}'
    target = f"/api/v1/buckets/{BUCKET}/limits"
    signed = identity.sign_request(
        identity.SigV4Request.from_target("PUT", target, [("host", "testserver")], raw),
        access_key_id=key["accessKeyId"],
        secret_access_key=key["secretAccessKey"],
        region="local",
        service="lakevault",
        now=world.clock.now(),
    )
    headers = {k: v for k, v in signed.request.headers if k.lower() != "host"}
    denied = c.put(target, content=raw, headers={**headers, "content-type": "application/json"})
    assert error(denied) == (403, "AccessDenied")
    # An API key of the administrator scoped to lakevault:* can.
    admin_key = {"X-Api-Key": created["apiKey"]}
    assert _set(world, admin_key, 100).status_code == 200
    _, other_admin, _ = world.new_tenant("limits-other")
    assert error(_set(world, other_admin, 5)) == (403, "AccessDenied")
    assert error(world.client.get(f"/api/v1/buckets/{BUCKET}/limits", headers=other_admin)) == (
        403,
        "AccessDenied",
    )
    assert (
        world.client.get(f"/api/v1/buckets/{BUCKET}/limits", headers=admin).json()["maxObjectBytes"]
        == 100
    )
    events = world.audit_text(account)
    assert "PutBucketStreamingLimits" in events


def test_a_deleted_bucket_takes_its_limit_with_it(world: World) -> None:
    _, admin = _setup(world)
    assert _set(world, admin, 10).status_code == 200
    assert world.client.delete(f"/api/v1/buckets/{BUCKET}", headers=admin).status_code == 204
    assert (
        world.client.post("/api/v1/buckets", json={"name": BUCKET}, headers=admin).status_code
        == 201
    )
    again = world.client.get(f"/api/v1/buckets/{BUCKET}/limits", headers=admin).json()
    assert again["maxObjectBytes"] is None


def test_the_platform_default_comes_from_settings(database: Database, tmp_path: Path) -> None:
    settings = load_settings(
        {
            "LAKEVAULT_HOME": str(tmp_path),
            "LAKEVAULT_DATABASE_URL": database.url,
            "LAKEVAULT_STORAGE_MAX_OBJECT_BYTES": "8",
        }
    )
    platform = Platform.build(settings, clock=FixedClock())
    credentials = initialise(platform).credentials
    assert credentials is not None
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        world = World(client, platform, FixedClock(), credentials.password)
        _, admin = _setup(world)
        limits = client.get(f"/api/v1/buckets/{BUCKET}/limits", headers=admin).json()
        assert limits["platformMaxObjectBytes"] == 8
        url = f"/api/v1/buckets/{BUCKET}/objects/f"
        assert error(client.put(url, content=b"x" * 9, headers=admin)) == (413, "EntityTooLarge")
        assert client.put(url, content=b"x" * 8, headers=admin).status_code == 200
        # A bucket may set its own limit, above the default too.
        assert _set(world, admin, 100).status_code == 200
        assert client.put(url, content=b"x" * 50, headers=admin).status_code == 200
