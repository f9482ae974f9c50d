"""``UpdateSecret`` and ``ListSecretVersionIds`` over HTTP and from the shell."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lakevault.cli import _secrets as secrets_cli
from lakevault.cli import app
from lakevault.cli._client import ApiClient
from tests.unit.api.conftest import World, error


@pytest.fixture
def signed_in(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    _, admin, _ = world.new_tenant("cli")
    world.client.headers.update(admin)
    client = ApiClient("http://testserver")
    client._client = world.client
    monkeypatch.setattr(secrets_cli, "_client", lambda: client)
    return world


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["secrets", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_update_and_list_versions_from_the_shell(signed_in: World) -> None:
    assert run("create", "s", stdin="v1")[0] == 0
    code, out, err = run("update", "s", "--description", "the db password")
    assert code == 0, err
    assert json.loads(run("describe", "s")[1])["description"] == "the db password"
    code, out, err = run("update", "s", "--value", stdin="v2")
    assert code == 0 and "v2" not in out, err
    assert run("get-value", "s") == (0, "v2\n", "")
    code, out, _ = run("list-versions", "s")
    assert [v["versionStages"] for v in json.loads(out)["versions"]] in (
        [["AWSPREVIOUS"], ["AWSCURRENT"]],
        [["AWSCURRENT"], ["AWSPREVIOUS"]],
    )
    code, _, err = run("update", "s")
    assert code == 1 and "InvalidParameterException" in err


def test_another_tenant_cannot_update_or_list_versions(world: World) -> None:
    _, admin_a, _ = world.new_tenant("acme")
    _, admin_b, _ = world.new_tenant("other")
    arn = world.client.post(
        "/api/v1/secrets", json={"name": "s", "secretString": "x"}, headers=admin_a
    ).json()["arn"]
    update = world.client.post(
        "/api/v1/secrets/update", json={"secretId": arn, "description": "mine"}, headers=admin_b
    )
    assert error(update) == (403, "AccessDenied")
    versions = world.client.get(
        "/api/v1/secrets/versions", params={"secretId": arn}, headers=admin_b
    )
    assert error(versions) == (403, "AccessDenied")
