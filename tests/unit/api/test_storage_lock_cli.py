"""``lakevault mb --object-lock``, ``object-lock``, ``lifecycle``, ``versions`` and
``rm --bypass-governance`` against the real API app (the storage client on the test client)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lakevault.cli import _storage as cli_storage
from lakevault.cli import app
from tests.unit.api.conftest import World


@pytest.fixture
def tenant(world: World, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    _, admin, _ = world.new_tenant("lock-cli")

    class InProcessStorage:
        """The storage client's HTTP calls, answered by the in-process API as the tenant."""

        base_url = "http://testserver/api/v1"

        def request(self, method: str, path: str, **options: Any) -> Any:
            headers = dict(admin) | dict(options.pop("headers", None) or {})
            return world.client.request(method, "/api/v1" + path, headers=headers, **options)

    monkeypatch.setattr(
        cli_storage.StorageClient,
        "__init__",
        lambda self: setattr(self, "_client", InProcessStorage()),
    )
    return admin


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_worm_bucket_from_the_shell(world: World, tenant: dict[str, str]) -> None:
    assert run("mb", "lv://cli-vault", "--object-lock")[0] == 0
    code, out = run("object-lock", "set", "cli-vault", "--mode", "GOVERNANCE", "--days", "5")
    assert code == 0, out
    assert json.loads(out)["rule"]["defaultRetention"] == {"mode": "GOVERNANCE", "days": 5}
    put = world.client.put("/api/v1/buckets/cli-vault/objects/doc", content=b"x", headers=tenant)
    version = put.json()["versionId"]
    code, out = run("object-lock", "retention", "lv://cli-vault/doc")
    assert code == 0 and json.loads(out)["mode"] == "GOVERNANCE"
    code, out = run("rm", "lv://cli-vault/doc", "--version-id", version)
    assert code != 0 and "WORM protected" in out
    assert run("object-lock", "legal-hold", "lv://cli-vault/doc", "--on")[0] == 0
    code, out = run("object-lock", "legal-hold", "lv://cli-vault/doc")
    assert json.loads(out) == {"status": "ON"}
    code, out = run("rm", "lv://cli-vault/doc", "--version-id", version, "--bypass-governance")
    assert code != 0 and "legal hold" in out
    assert run("object-lock", "legal-hold", "lv://cli-vault/doc", "--off")[0] == 0
    code, out = run("rm", "lv://cli-vault/doc", "--version-id", version, "--bypass-governance")
    assert code == 0, out
    code, out = run("object-lock", "set", "cli-vault", "--days", "5")
    assert code != 0 and "--mode" in out


def test_compliance_retention_cannot_be_removed_from_the_shell(
    world: World, tenant: dict[str, str]
) -> None:
    assert run("mb", "lv://cli-strict", "--object-lock")[0] == 0
    world.client.put("/api/v1/buckets/cli-strict/objects/doc", content=b"x", headers=tenant)
    code, out = run(
        "object-lock",
        "set-retention",
        "lv://cli-strict/doc",
        "--mode",
        "COMPLIANCE",
        "--until",
        "2026-03-01T00:00:00Z",
    )
    assert code == 0, out
    code, out = run("object-lock", "remove-retention", "lv://cli-strict/doc", "--bypass-governance")
    assert code != 0 and "COMPLIANCE" in out
    code, out = run(
        "object-lock",
        "set-retention",
        "lv://cli-strict/doc",
        "--mode",
        "COMPLIANCE",
        "--until",
        "2026-04-01T00:00:00Z",
    )
    assert code == 0 and json.loads(out)["retainUntilDate"] == "2026-04-01T00:00:00Z"


def test_lifecycle_and_versions_from_the_shell(
    world: World, tenant: dict[str, str], tmp_path: Path
) -> None:
    assert run("mb", "lv://cli-lc")[0] == 0
    world.client.put(
        "/api/v1/buckets/cli-lc/versioning", json={"status": "Enabled"}, headers=tenant
    )
    world.client.put("/api/v1/buckets/cli-lc/objects/a", content=b"1", headers=tenant)
    world.client.put("/api/v1/buckets/cli-lc/objects/a", content=b"2", headers=tenant)
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "Rules": [
                    {
                        "ID": "old",
                        "Status": "Enabled",
                        "Filter": {},
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                    }
                ]
            }
        )
    )
    code, out = run("lifecycle", "set", "cli-lc", str(rules))
    assert code == 0, out
    code, out = run("lifecycle", "show", "lv://cli-lc")
    assert json.loads(out)["Rules"][0]["ID"] == "old"
    code, out = run("versions", "lv://cli-lc")
    assert code == 0 and out.count(" a") >= 2
    assert run("lifecycle", "delete", "cli-lc")[0] == 0
    code, out = run("lifecycle", "show", "cli-lc")
    assert code != 0 and "NoSuchLifecycleConfiguration" in out
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    code, out = run("lifecycle", "set", "cli-lc", str(broken))
    assert code != 0 and "cannot read" in out
