"""Administrator-created pool users (AdminCreateUser: a temporary password, changed at the
first sign-in) and the challenges of 'lakevault login' (new password, MFA code, MFA setup) —
through the API and the CLI, with the denials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from typer.testing import CliRunner

from lakevault.cli import _login
from lakevault.cli._client import ApiClient, load_session
from lakevault.cli._main import app as cli_app
from lakevault.db import Database
from tests.unit.api.test_user_pool_api import World, error, make_world, totp_now

NEW_PASSWORD = "Ch0sen-by-me"


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:
    yield from make_world(database, tmp_path, LAKEVAULT_SIGN_IN_RATE_LIMIT="1000/minute")


def _create(world: World, account: str, admin: dict[str, str], user: str, **extra: Any) -> Any:
    return world.post(
        f"/tenants/{account}/user-pool/users",
        {"userName": user, "email": f"{user}@example.org", **extra},
        headers=admin,
    )


def test_an_admin_created_user_must_choose_a_new_password_at_first_sign_in(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("invite")
    created = _create(world, account, admin, "tia")
    assert created.status_code == 201, created.text
    body = created.json()
    temporary = body["temporaryPassword"]
    world.remember(temporary)
    assert body["userStatus"] == "FORCE_CHANGE_PASSWORD"
    assert body["arn"] == f"arn:aws:iam::{account}:user/userpool/tia"

    # The temporary password gives a challenge, never tokens.
    first = world.post(f"/user-pools/{pool}/sign-in", {"userName": "tia", "password": temporary})
    assert first.status_code == 200, first.text
    assert first.json()["challengeName"] == "NEW_PASSWORD_REQUIRED"
    assert first.json()["accessToken"] is None
    session = first.json()["session"]
    # The answer must be a new password that meets the policy and differs from the old one.
    assert (
        error(world.post("/sessions/challenge", {"session": session, "mfaCode": "123456"}))[1]
        == "InvalidParameterException"
    )
    assert (
        error(world.post("/sessions/challenge", {"session": session, "newPassword": "short"}))[0]
        == 400
    )
    assert error(
        world.post("/sessions/challenge", {"session": session, "newPassword": temporary})
    ) == (400, "InvalidPasswordException")
    answered = world.post("/sessions/challenge", {"session": session, "newPassword": NEW_PASSWORD})
    assert answered.status_code == 200, answered.text
    assert answered.json()["accessToken"]
    world.remember(answered.json()["accessToken"], answered.json()["refreshToken"])
    # The session is used up; the temporary password is gone; the new one signs in directly.
    assert error(
        world.post("/sessions/challenge", {"session": session, "newPassword": "An0ther-one"})
    ) == (403, "NotAuthorizedException")
    assert error(
        world.post(f"/user-pools/{pool}/sign-in", {"userName": "tia", "password": temporary})
    ) == (403, "NotAuthorizedException")
    again = world.post(f"/user-pools/{pool}/sign-in", {"userName": "tia", "password": NEW_PASSWORD})
    assert again.json()["accessToken"]
    world.remember(again.json()["accessToken"], again.json()["refreshToken"])
    # Nothing secret reached the audit log; the creation is recorded with its actor.
    audit = world.audit_text(account)
    assert "AdminCreateUser" in audit
    for secret in world.secrets:
        assert secret not in audit


def test_a_temporary_password_expires_after_seven_days_and_can_be_renewed(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("expiry")
    admin_password = world.secrets[-3]  # tenant_with_pool remembers it before the tokens
    given = "Temp0rary-pass"
    world.remember(given)
    assert _create(world, account, admin, "uma", temporaryPassword=given).status_code == 201
    world.clock.advance(seconds=7 * 86400)
    expired = world.post(f"/user-pools/{pool}/sign-in", {"userName": "uma", "password": given})
    assert error(expired) == (403, "NotAuthorizedException")
    assert "expired" in expired.json()["error"]["message"]
    admin = world.sign_in(account, "admin", admin_password)
    renewed = _create(world, account, admin, "uma", messageAction="RESEND")
    assert renewed.status_code == 201, renewed.text
    fresh = renewed.json()["temporaryPassword"]
    world.remember(fresh)
    assert fresh != given
    answer = world.post(f"/user-pools/{pool}/sign-in", {"userName": "uma", "password": fresh})
    assert answer.json()["challengeName"] == "NEW_PASSWORD_REQUIRED"
    # Only users still waiting for a first sign-in can be renewed.
    assert error(_create(world, account, admin, "nobody", messageAction="RESEND")) == (
        404,
        "UserNotFoundException",
    )


def test_admin_create_user_refusals(world: World) -> None:
    account, admin, _ = world.tenant_with_pool("refusals")
    assert _create(world, account, admin, "vic").status_code == 201
    assert error(_create(world, account, admin, "vic")) == (409, "UsernameExistsException")
    assert error(_create(world, account, admin, "admin")) == (409, "UsernameExistsException")
    weak = _create(world, account, admin, "wes", temporaryPassword="weak")
    assert error(weak)[0] == 400 and "weak" not in weak.text
    assert error(_create(world, account, admin, "bad name!"))[0] == 400
    # Another tenant's administrator is denied, and nothing is created.
    other, other_admin, _ = world.tenant_with_pool("elsewhere")
    assert error(_create(world, account, other_admin, "xena")) == (403, "AccessDenied")
    users = world.client.get(f"/api/v1/tenants/{account}/users", headers=admin).json()
    assert "xena" not in [u["userName"] for u in users]
    # A tenant without a pool has nothing to add users to.
    response = world.post("/tenants", {"name": "poolless"}, headers=world.platform_admin())
    bare = response.json()["tenant"]["accountId"]
    bare_admin = world.sign_in(bare, "admin", response.json()["adminPassword"])
    assert error(_create(world, bare, bare_admin, "yan")) == (404, "ResourceNotFoundException")
    del other


def test_a_forced_password_change_is_followed_by_mfa_setup_when_the_pool_requires_it(
    world: World,
) -> None:
    account, admin, pool = world.tenant_with_pool("strict", mfa="ON")
    temporary = _create(world, account, admin, "zoe").json()["temporaryPassword"]
    session = world.post(
        f"/user-pools/{pool}/sign-in", {"userName": "zoe", "password": temporary}
    ).json()["session"]
    next_step = world.post("/sessions/challenge", {"session": session, "newPassword": NEW_PASSWORD})
    assert next_step.json()["challengeName"] == "MFA_SETUP"
    assert next_step.json()["accessToken"] is None


# --- lakevault login ------------------------------------------------------------------------


@pytest.fixture
def cli(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the CLI against the in-process API; the saved session goes under tmp_path."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    def client(endpoint: str, token: str | None = None) -> ApiClient:
        made = ApiClient(endpoint, token)
        made._client = world.client
        return made

    monkeypatch.setattr(_login, "ApiClient", client)

    def run(*args: str, stdin: str = "") -> Any:
        return CliRunner().invoke(cli_app, list(args), input=stdin)

    return run


def test_login_asks_for_a_new_password_and_then_signs_in(world: World, cli: Any) -> None:
    account, admin, _ = world.tenant_with_pool("clilogin")
    temporary = _create(world, account, admin, "ann").json()["temporaryPassword"]
    result = cli(
        "login", "--account", account, "--user", "ann", "--password-stdin",
        stdin=f"{temporary}\n{NEW_PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "choose a new one" in result.output
    assert temporary not in result.output and NEW_PASSWORD not in result.output
    assert load_session().user_name == "ann"
    # Without the new password the login stops with a usage error, and saves nothing new.
    temporary = _create(world, account, admin, "ben").json()["temporaryPassword"]
    short = cli(
        "login", "--account", account, "--user", "ben", "--password-stdin", stdin=f"{temporary}\n"
    )  # fmt: skip
    assert short.exit_code == 2
    assert load_session().user_name == "ann"


def test_login_asks_for_the_mfa_code_of_a_user_with_an_authenticator(
    world: World, cli: Any
) -> None:
    account, admin, pool = world.tenant_with_pool("climfa")
    world.pool_user(account, admin, pool, "cid", "cid@example.org")
    bearer = world.sign_in(account, "cid", "Str0ng-enough")
    secret = world.post("/sessions/mfa/associate", {}, headers=bearer).json()["secretCode"]
    assert (
        world.post(
            "/sessions/mfa/verify", {"mfaCode": totp_now(world, secret)}, headers=bearer
        ).status_code
        == 204
    )
    world.clock.advance(seconds=30)
    wrong = cli(
        "login", "--account", account, "--user", "cid", "--password-stdin",
        stdin="Str0ng-enough\n000000\n",
    )  # fmt: skip
    assert wrong.exit_code == 1 and "CodeMismatchException" in wrong.output
    world.clock.advance(seconds=30)
    code = totp_now(world, secret)
    result = cli(
        "login", "--account", account, "--user", "cid", "--password-stdin",
        stdin=f"Str0ng-enough\n{code}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    token = load_session().access_token
    me = world.client.get(
        "/api/v1/sts/caller-identity", headers={"Authorization": f"Bearer {token}"}
    )
    assert me.json()["arn"].endswith("/userpool/cid")
    # --mfa-code gives the code up front.
    world.clock.advance(seconds=30)
    upfront = cli(
        "login", "--account", account, "--user", "cid", "--password-stdin",
        "--mfa-code", totp_now(world, secret), stdin="Str0ng-enough\n",
    )  # fmt: skip
    assert upfront.exit_code == 0, upfront.output


def test_login_sets_up_mfa_when_the_pool_requires_it(world: World, cli: Any) -> None:
    account, admin, pool = world.tenant_with_pool("clisetup", mfa="ON")
    world.pool_user(account, admin, pool, "dee", "dee@example.org")

    # The secret is shown on standard error; the user enrols it and answers its first code
    # (here: the code is computed from the secret the server handed out).
    def prompt_code(self: Any) -> str:
        return totp_now(world, secret_holder[0])

    secret_holder: list[str] = []
    original = ApiClient.call

    def spying_call(self: ApiClient, method: str, path: str, body: Any = None, **p: str) -> Any:
        answer = original(self, method, path, body, **p)
        if path == "/sessions/mfa/associate":
            secret_holder.append(answer["secretCode"])
        return answer

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ApiClient, "call", spying_call)
        patch.setattr(_login._Answers, "mfa_code", prompt_code)
        result = cli(
            "login", "--account", account, "--user", "dee", "--password-stdin",
            stdin="Str0ng-enough\n",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "MFA is required" in result.output and secret_holder[0] in result.output
    assert pyotp.TOTP(secret_holder[0]).now()
    assert load_session().user_name == "dee"
