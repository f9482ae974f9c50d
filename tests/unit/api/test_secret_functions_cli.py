"""Rotation functions over HTTP and from the shell, run by the platform's own sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakevault.cli import _secret_functions as functions_cli
from lakevault.cli import _secrets as secrets_cli
from lakevault.cli import app
from lakevault.cli._client import ApiClient
from lakevault.sandbox import probe_layers
from tests.unit.api.conftest import World

ROTATOR = """
def handler(event, context):
    if event["Step"] == "createSecret":
        return {"SecretString": "rotated-by-" + context["function_name"]}
    return None
"""


@pytest.fixture
def signed_in(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    report = probe_layers()
    if report.missing:
        reasons = "; ".join(f"{s.layer}: {s.detail}" for s in report.missing)
        pytest.skip(f"this kernel/host lacks sandbox layers ({reasons})")
    _, admin, _ = world.new_tenant("cli")
    world.client.headers.update(admin)
    client = ApiClient("http://testserver")
    client._client = world.client
    monkeypatch.setattr(secrets_cli, "_client", lambda: client)
    monkeypatch.setattr(functions_cli, "_client", lambda: client)
    return world


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["secrets", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_a_function_registered_from_the_shell_rotates_a_secret(
    signed_in: World, tmp_path: Path
) -> None:
    source = tmp_path / "rotator.py"
    source.write_text(ROTATOR, encoding="utf-8")
    code, out, err = run(
        "rotation-function", "put", "rotator", str(source), "--allow-endpoint", "db.example:5432"
    )
    assert code == 0, err
    registered = json.loads(out)
    assert registered["endpoints"] == ["db.example:5432"] and registered["source"] is None
    code, out, _ = run("rotation-function", "list")
    assert [f["name"] for f in json.loads(out)] == ["rotator"]
    code, out, _ = run("rotation-function", "get", "rotator", "--source")
    assert json.loads(out)["source"] == ROTATOR

    assert run("create", "db", stdin="initial")[0] == 0
    code, out, err = run("rotate", "db", "--function", "rotator")
    assert code == 0, err
    code, out, _ = run("get-value", "db")
    assert out == "rotated-by-rotation_function\n"
    assert json.loads(run("describe", "db")[1])["rotationHook"] == registered["arn"]

    code, _, err = run("rotation-function", "delete", "rotator")
    assert code == 1 and "still rotates" in err


def test_another_tenant_cannot_read_or_use_a_function_over_http(world: World) -> None:
    _, admin_a, _ = world.new_tenant("acme")
    _, admin_b, _ = world.new_tenant("other")
    put = world.client.put(
        "/api/v1/secrets/rotation-functions/rotator", json={"source": ROTATOR}, headers=admin_a
    )
    assert put.status_code == 200, put.text
    arn = put.json()["arn"]
    read = world.client.get(f"/api/v1/secrets/rotation-functions/{arn}", headers=admin_b)
    assert read.status_code == 403
    world.client.post("/api/v1/secrets", json={"name": "s", "secretString": "x"}, headers=admin_b)
    rotate = world.client.post(
        "/api/v1/secrets/rotate",
        json={"secretId": "s", "rotationLambdaArn": arn},
        headers=admin_b,
    )
    assert rotate.status_code == 400
    assert rotate.json()["error"]["code"] == "InvalidParameterException"
    bad = world.client.put(
        "/api/v1/secrets/rotation-functions/x",
        json={"source": ROTATOR, "endpoints": ["nope"]},
        headers=admin_a,
    )
    assert bad.status_code == 400
