"""``lakevault secrets`` against the real API app (the CLI's HTTP client on the test transport)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lakevault.cli import _secrets as secrets_cli
from lakevault.cli import app
from lakevault.cli._client import ApiClient
from tests.unit.api.conftest import World


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


def test_a_secret_from_the_shell_with_the_value_on_stdin(signed_in: World) -> None:
    code, out, err = run("create", "app/token", "--tag", "team=x", stdin="first-value\n")
    assert code == 0, err
    assert "first-value" not in out
    assert run("put-value", "app/token", stdin="second-value")[0] == 0
    assert run("get-value", "app/token") == (0, "second-value\n", "")
    code, out, _ = run("get-value", "app/token", "--version-stage", "AWSPREVIOUS")
    assert out == "first-value\n"
    code, out, _ = run("describe", "app/token")
    assert json.loads(out)["tags"] == {"team": "x"}
    code, out, _ = run("rotate", "app/token", "--hook", "lakevault-random-password")
    assert code == 0, out
    code, _, err = run("delete", "app/token", "--recovery-window-days", "3")
    assert code == 1 and "InvalidParameterException" in err
    assert run("delete", "app/token", "--recovery-window-days", "7")[0] == 0
    code, _, err = run("get-value", "app/token")
    assert code == 1 and "InvalidRequestException" in err
    assert run("restore", "app/token")[0] == 0
    assert [s["name"] for s in json.loads(run("list")[1])] == ["app/token"]
