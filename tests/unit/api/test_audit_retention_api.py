"""PUT/GET /api/v1/audit/retention: a tenant turns its audit bucket export on and extends it;
the bucket is the tenant's to read and nobody's to change (docs/audit.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lakevault.api import create_app
from lakevault.cli import _storage as cli_storage
from lakevault.cli._main import app as cli_app
from lakevault.core import FixedClock, load_settings
from lakevault.db import Database
from lakevault.runtime import Platform, initialise
from lakevault.trail import EXPORT_BUCKET_TASK
from tests.unit.api.conftest import World
from tests.unit.api.test_cli_audit import _use


def test_a_tenant_exports_its_log_into_its_own_locked_bucket(world: World) -> None:
    account, admin, _ = world.new_tenant("exports")
    _, other_admin, _ = world.new_tenant("neighbour")
    c = world.client
    put = c.put("/api/v1/audit/retention", json={"retentionDays": 90}, headers=admin)
    assert put.status_code == 200, put.text
    body = put.json()
    bucket = body["bucketName"]
    assert (bucket, body["retentionDays"], body["logRoot"]) == (
        f"lakevault-audit-{account}",
        90,
        f"audit/{account}/",
    )
    assert c.get("/api/v1/audit/retention", headers=admin).json()["retentionDays"] == 90

    # Shorter is refused, out of range is refused, longer is accepted.
    shorter = c.put("/api/v1/audit/retention", json={"retentionDays": 30}, headers=admin)
    assert shorter.status_code == 400
    assert shorter.json()["error"]["code"] == "InvalidRetentionPeriod"
    too_long = c.put("/api/v1/audit/retention", json={"retentionDays": 2558}, headers=admin)
    assert too_long.status_code == 400
    longer = c.put("/api/v1/audit/retention", json={"retentionDays": 365}, headers=admin)
    assert longer.status_code == 200 and longer.json()["retentionDays"] == 365

    # Another tenant and the platform administrator cannot configure or read it.
    for outsider in (other_admin, world.platform_admin()):
        for method in ("GET", "PUT"):
            response = c.request(
                method,
                "/api/v1/audit/retention",
                params={"accountId": account},
                json={"retentionDays": 400} if method == "PUT" else None,
                headers=outsider,
            )
            assert response.status_code == 403, (method, response.text)

    # The platform's job exports; the tenant reads its bucket, the neighbour does not.
    with world.platform.database.session() as session:
        world.platform.jobs.enqueue(session, EXPORT_BUCKET_TASK, {})
    world.platform.jobs.run_worker(name="t", until_idle=True)
    status = c.get("/api/v1/audit/retention", headers=admin).json()
    assert status["treeSize"] > 0 and status["lastError"] is None, status
    listing = c.get(
        f"/api/v1/buckets/{bucket}/objects", params={"prefix": f"audit/{account}/"}, headers=admin
    )
    assert listing.status_code == 200, listing.text
    keys = [item["key"] for item in listing.json()["contents"]]
    segment = next(k for k in keys if k.endswith(".jsonl"))
    path = f"/api/v1/buckets/{bucket}/objects/{quote(segment, safe='/')}"
    assert c.get(path, headers=admin).status_code == 200
    assert c.get(path, headers=other_admin).status_code == 403
    assert c.get(f"/api/v1/buckets/{bucket}/objects", headers=other_admin).status_code == 403
    # Neither the tenant nor anyone else deletes or replaces it.
    assert c.delete(path, headers=admin).status_code == 403
    assert c.put(path, content=b"forged\n", headers=admin).status_code == 403
    assert c.delete(f"/api/v1/buckets/{bucket}/policy", headers=admin).status_code == 403
    assert c.get(path, headers=admin).status_code == 200


def test_the_command_line_configures_and_verifies_a_bucket_export(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, admin, _ = world.new_tenant("cli-exports")
    _use(world, monkeypatch, account, dict(admin))

    class InProcessStorage:
        """The storage client's HTTP calls, answered by the in-process API as the tenant."""

        base_url = "http://testserver/api/v1"

        def request(self, method: str, path: str, **options: Any) -> Any:
            return world.client.request(method, "/api/v1" + path, headers=admin, **options)

    monkeypatch.setattr(
        cli_storage.StorageClient,
        "__init__",
        lambda self: setattr(self, "_client", InProcessStorage()),
    )
    runner = CliRunner()
    configured = runner.invoke(cli_app, ["audit", "retention", "set", "--days", "120"])
    assert configured.exit_code == 0, configured.output
    bucket = json.loads(configured.stdout)["bucketName"]
    shown = runner.invoke(cli_app, ["audit", "retention", "show"])
    assert json.loads(shown.stdout)["retentionDays"] == 120
    shorter = runner.invoke(cli_app, ["audit", "retention", "set", "--days", "7"])
    assert shorter.exit_code == 1 and "InvalidRetentionPeriod" in shorter.output
    with world.platform.database.session() as session:
        world.platform.jobs.enqueue(session, EXPORT_BUCKET_TASK, {})
    world.platform.jobs.run_worker(name="t", until_idle=True)
    for location in (f"lv://{bucket}/audit/{account}/", f"lv://{bucket}/audit/"):
        verified = runner.invoke(cli_app, ["audit", "verify", location])
        assert verified.exit_code == 0, verified.output
        assert f"{account}: OK" in verified.stdout
    missing = runner.invoke(cli_app, ["audit", "verify", f"lv://{bucket}/elsewhere/"])
    assert missing.exit_code == 1 and "no manifest" in missing.output


def test_retention_defaults_to_the_platforms_audit_retention_days(
    database: Database, tmp_path: Path
) -> None:
    settings = load_settings(
        {
            "LAKEVAULT_HOME": str(tmp_path),
            "LAKEVAULT_DATABASE_URL": database.url,
            "LAKEVAULT_AUDIT_RETENTION_DAYS": "400",
        }
    )
    clock = FixedClock()
    platform = Platform.build(settings, clock=clock)
    credentials = initialise(platform).credentials
    assert credentials is not None
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        world = World(client, platform, clock, credentials.password)
        _, admin, _ = world.new_tenant("defaults")
        put = client.put("/api/v1/audit/retention", json={}, headers=admin)
        assert put.status_code == 200, put.text
        assert put.json()["retentionDays"] == 400
