"""The management commands beyond create and list (get, delete, versions, attachments, trust
policies, sessions, the pool's administration, AssumeRoleWithWebIdentity), run against the
in-process API: each does what its API route does, and refusals exit with the server's code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from lakevault.cli import _client, _entities
from lakevault.cli._client import ApiClient, SavedSession
from lakevault.cli._main import app as cli_app
from tests.unit.api.conftest import World

ALLOW_GET = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::{a}:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def test_the_cli_reads_changes_and_deletes_what_the_api_manages(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, admin, _ = world.new_tenant("cli")
    headers: dict[str, str] = dict(admin)

    class InProcess(ApiClient):
        """The CLI's client, answering through the in-process API with ``headers``."""

        def __init__(self, endpoint: str = "http://testserver", token: str | None = None) -> None:
            super().__init__(endpoint, token)
            self._client = world.client
            world.client.headers.clear()
            world.client.headers.update(headers)

        @classmethod
        def from_saved_session(cls) -> ApiClient:
            return cls()

    saved = SavedSession(
        endpoint="http://testserver", account_id=account, user_name="admin",
        access_token="unused", expires_at="",
    )  # fmt: skip
    monkeypatch.setattr(_client, "load_session", lambda: saved)
    monkeypatch.setattr(_entities, "ApiClient", InProcess)
    monkeypatch.setattr(ApiClient, "from_saved_session", classmethod(lambda cls: InProcess()))

    def cli(*args: str, stdin: str = "") -> Any:
        return CliRunner().invoke(cli_app, [*args], input=stdin)

    def ok(*args: str, stdin: str = "") -> Any:
        result = cli(*args, stdin=stdin)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout) if result.stdout.strip().startswith(("{", "[")) else None

    api = world.client
    base = f"/api/v1/tenants/{account}"
    trust = json.loads(json.dumps(TRUST).replace("{a}", account))
    # Groups and roles.
    api.post(f"{base}/groups", json={"groupName": "team"}, headers=admin)
    assert ok("iam", "groups", "get", "team")["group"]["groupName"] == "team"
    ok("iam", "groups", "delete", "team")
    assert api.get(f"{base}/groups/team", headers=admin).status_code == 404
    api.post(f"{base}/roles", json={"roleName": "Ops", "assumeRolePolicyDocument": trust},
             headers=admin)  # fmt: skip
    assert ok("iam", "roles", "get", "Ops")["roleName"] == "Ops"
    narrower = json.loads(json.dumps(trust).replace(":root", ":user/admin"))
    ok("iam", "roles", "update-trust-policy", "Ops", "--document", json.dumps(narrower))
    assert ":user/admin" in json.dumps(api.get(f"{base}/roles/Ops", headers=admin).json())
    ok("iam", "roles", "revoke-sessions", "Ops")
    ok("iam", "roles", "delete", "Ops")
    assert api.get(f"{base}/roles/Ops", headers=admin).status_code == 404

    # Managed policies and their versions.
    api.post(f"{base}/policies", json={"policyName": "Read", "policyDocument": ALLOW_GET},
             headers=admin)  # fmt: skip
    api.post(f"{base}/policies/Read/versions", json={"policyDocument": ALLOW_GET}, headers=admin)
    assert [v["versionId"] for v in ok("iam", "policies", "list-versions", "Read")] == ["v1", "v2"]
    ok("iam", "policies", "set-default-version", "Read", "v2")
    assert ok("iam", "policies", "get", "Read")["defaultVersionId"] == "v2"
    assert ok("iam", "policies", "get-version", "Read", "v1")["versionId"] == "v1"
    ok("iam", "policies", "delete-version", "Read", "v1")
    assert [v["versionId"] for v in ok("iam", "policies", "list-versions", "Read")] == ["v2"]
    refused = cli("iam", "policies", "delete-version", "Read", "v2")
    assert refused.exit_code == 1 and "DeleteConflict" in refused.output

    # Attachments, inline policies, permissions boundaries.
    api.post(f"{base}/users", json={"userName": "carol"}, headers=admin)
    policy_arn = f"arn:aws:iam::{account}:policy/Read"
    ok("iam", "attach-policy", policy_arn, "--user", "carol")
    attached = ok("iam", "list-attached-policies", "--user", "carol")
    assert [p["arn"] for p in attached] == [policy_arn]
    ok("iam", "put-inline-policy", "own", "--user", "carol", "--document", json.dumps(ALLOW_GET))
    assert ok("iam", "list-inline-policies", "--user", "carol") == ["own"]
    assert ok("iam", "get-inline-policy", "own", "--user", "carol")["policyName"] == "own"
    ok("iam", "delete-inline-policy", "own", "--user", "carol")
    assert ok("iam", "list-inline-policies", "--user", "carol") == []
    assert cli("iam", "list-inline-policies", "--user", "carol", "--role", "x").exit_code == 2
    ok("iam", "users", "set-permissions-boundary", "carol", policy_arn)
    assert ok("iam", "users", "get", "carol")["permissionsBoundary"] == policy_arn
    ok("iam", "users", "delete-permissions-boundary", "carol")
    assert ok("iam", "users", "get", "carol")["permissionsBoundary"] is None
    ok("iam", "detach-policy", policy_arn, "--user", "carol")
    ok("iam", "policies", "delete", "Read")
    assert api.get(f"{base}/policies/Read", headers=admin).status_code == 404

    # The user pool's administration.
    api.post(f"{base}/user-pool", json={"poolName": "p"}, headers=admin)
    api.post(f"{base}/user-pool/groups", json={"groupName": "student"}, headers=admin)
    assert [g["groupName"] for g in ok("userpool", "list-groups")] == ["student"]
    ok("userpool", "add-member", "--group", "student", "--user", "carol")
    ok("userpool", "remove-member", "--group", "student", "--user", "carol")
    members = api.get(f"{base}/groups/student", headers=admin).json()["users"]
    assert members == []
    assert ok("userpool", "update", "--mfa", "ON", "--no-self-sign-up")["mfaConfiguration"] == "ON"
    ok("userpool", "sign-out-user", "--user", "carol")
    ok("userpool", "unlock-user", "--user", "carol")

    # Tenants (platform administrators) and refusals.
    denied = cli("tenants", "get", account)
    assert denied.exit_code == 1 and "AccessDenied" in denied.output
    headers.clear()
    headers.update(world.platform_admin())
    assert ok("tenants", "get", account)["accountId"] == account
    assert cli("tenants", "detach-guardrail", "arn:aws:iam::000000000000:policy/x").exit_code == 2
    both = ("--tenant", account, "--organization", "o-x")
    assert (
        cli("tenants", "attach-guardrail", "arn:aws:iam::000000000000:policy/x", *both).exit_code
        == 2
    )

    # AssumeRoleWithWebIdentity is unsigned; a token that is not one is refused.
    exchange = cli(
        "sts", "assume-role-with-web-identity", f"arn:aws:iam::{account}:role/Web",
        "--session-name", "web", stdin="not-a-token\n",
    )  # fmt: skip
    assert exchange.exit_code == 1 and "InvalidIdentityToken" in exchange.output
