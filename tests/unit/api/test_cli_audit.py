"""``lakevault audit alarms ...`` against the in-process API: each command does what its route
does, and a refusal exits 1 with the server's code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from lakevault.cli import _client
from lakevault.cli._client import ApiClient, SavedSession
from lakevault.cli._main import app as cli_app
from tests.unit.api.conftest import World


def _use(
    world: World, monkeypatch: pytest.MonkeyPatch, account: str, headers: dict[str, str]
) -> None:
    class InProcess(ApiClient):
        """The CLI's client, answering through the in-process API with ``headers``."""

        def __init__(self, endpoint: str = "http://testserver", token: str | None = None) -> None:
            super().__init__(endpoint, token)
            self._client = world.client
            world.client.headers.clear()
            world.client.headers.update(headers)

    saved = SavedSession(
        endpoint="http://testserver", account_id=account, user_name="admin",
        access_token="unused", expires_at="",
    )  # fmt: skip
    monkeypatch.setattr(_client, "load_session", lambda: saved)
    monkeypatch.setattr(ApiClient, "from_saved_session", classmethod(lambda cls: InProcess()))


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli_app, ["audit", "alarms", *args])


def test_alarm_subscriptions_from_the_command_line(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, admin, _ = world.new_tenant("cli-alarms")
    _use(world, monkeypatch, account, dict(admin))
    created = _cli(
        "create", "--protocol", "email", "--endpoint", "soc@example.com",
        "--detector", "denied-burst", "--detector", "sign-in-failures",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    subscription = json.loads(created.stdout)["subscription"]
    assert subscription["detectors"] == ["denied-burst", "sign-in-failures"]
    listed = _cli("list")
    assert listed.exit_code == 0, listed.output
    assert [s["subscriptionId"] for s in json.loads(listed.stdout)] == [
        subscription["subscriptionId"]
    ]
    refused = _cli("create", "--protocol", "webhook", "--endpoint", "http://example.com/x")
    assert refused.exit_code == 1 and "InvalidParameterValue" in refused.output
    deleted = _cli("delete", subscription["subscriptionId"])
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(_cli("list").stdout) == []


def test_another_tenants_subscriptions_are_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, _, _ = world.new_tenant("victim")
    _, intruder, _ = world.new_tenant("intruder")
    _use(world, monkeypatch, account, dict(intruder))
    result = _cli("list", "--account", account)
    assert result.exit_code == 1 and "AccessDenied" in result.output
    result = _cli("create", "--protocol", "email", "--endpoint", "x@example.com",
                  "--account", account)  # fmt: skip
    assert result.exit_code == 1 and "AccessDenied" in result.output


def test_events_through_the_api_are_permission_checked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, admin, _ = world.new_tenant("cli-events")
    world.client.post(f"/api/v1/tenants/{account}/users", json={"userName": "zoe"}, headers=admin)
    _use(world, monkeypatch, account, dict(admin))
    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        ["audit", "events", "--api", "--action", "iam:CreateUser", "--limit", "1", "--json"],
    )
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert [e["eventName"] for e in page["events"]] == ["CreateUser"] and page["nextToken"]
    table = runner.invoke(cli_app, ["audit", "events", "--api", "--decision", "allowed"])
    assert table.exit_code == 0 and "Allowed" in table.output
    refused = runner.invoke(cli_app, ["audit", "events", "--api", "--tenant", "000000000000"])
    assert refused.exit_code == 1 and "AccessDenied" in refused.output
    # Without --api the database is read directly, which needs the log named.
    missing = runner.invoke(cli_app, ["audit", "events"])
    assert missing.exit_code != 0 and "--tenant is required" in missing.output
