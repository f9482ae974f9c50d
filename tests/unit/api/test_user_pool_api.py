"""The user pool end to end on SQLite and PostgreSQL: sign-up, codes, sign-in with lockout and
MFA, refresh rotation and reuse detection, sign-out everywhere, password reset, rate limits —
and that no code, password, TOTP secret or token leaks into logs, audit events or answers.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lakevault.api import create_app
from lakevault.cli._main import app as cli_app
from lakevault.core import FixedClock, load_settings
from lakevault.db import Database
from lakevault.identity import _passwords
from lakevault.runtime import Platform, initialise

PASSWORD = "Str0ng-enough"
MFA_ONLY_LIST_USERS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ListUsersWithMFA",
            "Effect": "Allow",
            "Action": "iam:ListUsers",
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ],
}


@dataclass
class World:
    client: TestClient
    platform: Platform
    clock: FixedClock
    admin_password: str
    settings_env: dict[str, str]
    secrets: list[str] = field(default_factory=list)

    def remember(self, *values: str | None) -> None:
        """Note secrets that must never appear anywhere but in the answer that issued them."""
        self.secrets.extend(value for value in values if value)

    def post(self, path: str, body: Any = None, headers: Any = None) -> Any:
        return self.client.post("/api/v1" + path, json=body, headers=headers)

    def sign_in(self, account: str, user: str, password: str) -> dict[str, str]:
        response = self.post(
            "/sessions", {"accountId": account, "userName": user, "password": password}
        )
        assert response.status_code == 200, response.text
        self.remember(response.json()["accessToken"], response.json()["refreshToken"])
        return {"Authorization": f"Bearer {response.json()['accessToken']}"}

    def platform_admin(self) -> dict[str, str]:
        return self.sign_in("000000000000", "admin", self.admin_password)

    def tenant_with_pool(
        self, name: str, *, mfa: str = "OPTIONAL"
    ) -> tuple[str, dict[str, str], str]:
        response = self.post("/tenants", {"name": name}, headers=self.platform_admin())
        assert response.status_code == 201, response.text
        account = response.json()["tenant"]["accountId"]
        self.remember(response.json()["adminPassword"])
        admin = self.sign_in(account, "admin", response.json()["adminPassword"])
        created = self.post(
            f"/tenants/{account}/user-pool",
            {"poolName": f"{name} pool", "mfaConfiguration": mfa},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        return account, admin, created.json()["userPoolId"]

    def outbox_code(
        self, account: str, admin: dict[str, str], user: str, *, kind: str = "verification"
    ) -> str:
        """The code of the newest mail of ``kind`` ("verification" or "password reset")."""
        messages = self.client.get(
            f"/api/v1/tenants/{account}/user-pool/outbox", headers=admin
        ).json()
        for message in messages:
            if f"Hello {user}," in message["body"] and f"{kind} code" in message["subject"]:
                code = re.search(r"code is (\d{6})", message["body"])
                assert code is not None
                self.remember(code.group(1))
                return code.group(1)
        raise AssertionError(f"no mail for {user} in {messages}")

    def pool_user(
        self, account: str, admin: dict[str, str], pool: str, user: str, email: str
    ) -> None:
        self.remember(PASSWORD)
        answer = self.post(
            f"/user-pools/{pool}/sign-up", {"userName": user, "password": PASSWORD, "email": email}
        )
        assert answer.status_code == 200, answer.text
        code = self.outbox_code(account, admin, user)
        confirmed = self.post(
            f"/user-pools/{pool}/confirm-sign-up", {"userName": user, "code": code}
        )
        assert confirmed.status_code == 204, confirmed.text

    def audit_text(self, *accounts: str) -> str:
        return "".join(
            json.dumps(self.platform.audit.read(account, limit=100000))
            for account in (*accounts, "000000000000")
        )


def make_world(database: Database, tmp_path: Path, **extra: str) -> Iterator[World]:
    env = {"LAKEVAULT_HOME": str(tmp_path), "LAKEVAULT_DATABASE_URL": database.url, **extra}
    clock = FixedClock()
    platform = Platform.build(load_settings(env), clock=clock)
    credentials = initialise(platform).credentials
    assert credentials is not None
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        world = World(client, platform, clock, credentials.password, env)
        world.remember(credentials.password)
        yield world


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:
    yield from make_world(
        database,
        tmp_path,
        LAKEVAULT_LOCKOUT_THRESHOLD="3",
        LAKEVAULT_LOCKOUT_BASE_SECONDS="30",
        LAKEVAULT_LOCKOUT_MAX_SECONDS="120",
        LAKEVAULT_SIGN_IN_RATE_LIMIT="1000/minute",
    )


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def totp_now(world: World, secret: str, *, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(world.clock.now().timestamp() + 30 * steps_ahead)


# --- the whole flow ----------------------------------------------------------------------


def test_sign_up_confirm_sign_in_refresh_with_groups_claim(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("school")
    assert (
        world.post(
            f"/tenants/{account}/user-pool/groups", {"groupName": "student"}, headers=admin
        ).json()["iamGroupArn"]
        == f"arn:aws:iam::{account}:group/student"
    )
    world.pool_user(account, admin, pool, "ada", "ada@example.org")
    assert (
        world.client.put(
            f"/api/v1/tenants/{account}/user-pool/groups/student/members/ada", headers=admin
        ).status_code
        == 204
    )

    signed_in = world.post(f"/user-pools/{pool}/sign-in", {"userName": "ada", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    tokens = signed_in.json()
    world.remember(tokens["accessToken"], tokens["idToken"], tokens["refreshToken"])
    id_claims = world.platform.tokens.verify_id_token(tokens["idToken"], audience=pool)
    assert id_claims.groups == ("student",)
    assert id_claims.email == "ada@example.org" and id_claims.email_verified
    bearer = {"Authorization": f"Bearer {tokens['accessToken']}"}
    me = world.client.get("/api/v1/sts/caller-identity", headers=bearer).json()
    assert me["arn"] == f"arn:aws:iam::{account}:user/userpool/ada"
    # An ID token is not an access token.
    assert error(
        world.client.get(
            "/api/v1/sts/caller-identity", headers={"Authorization": f"Bearer {tokens['idToken']}"}
        )
    ) == (403, "InvalidToken")

    world.clock.advance(seconds=10)
    refreshed = world.post("/sessions/refresh", {"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    successor = refreshed.json()
    world.remember(successor["accessToken"], successor["refreshToken"], successor["idToken"])
    assert successor["refreshToken"] != tokens["refreshToken"]
    assert successor["refreshTokenExpiresAt"] == tokens["refreshTokenExpiresAt"]

    # Reuse of the first token: refused, and the whole family (the successor too) is revoked.
    assert error(world.post("/sessions/refresh", {"refreshToken": tokens["refreshToken"]})) == (
        403,
        "NotAuthorizedException",
    )
    assert error(world.post("/sessions/refresh", {"refreshToken": successor["refreshToken"]})) == (
        403,
        "NotAuthorizedException",
    )
    assert "RefreshTokenReuseDetected" in world.audit_text(account)


def test_unconfirmed_users_cannot_sign_in_and_codes_die_after_five_tries(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("unconfirmed")
    world.post(
        f"/user-pools/{pool}/sign-up",
        {"userName": "bob", "password": PASSWORD, "email": "bob@example.org"},
    )
    assert error(
        world.post(f"/user-pools/{pool}/sign-in", {"userName": "bob", "password": PASSWORD})
    ) == (403, "UserNotConfirmedException")
    code = world.outbox_code(account, admin, "bob")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert error(
            world.post(f"/user-pools/{pool}/confirm-sign-up", {"userName": "bob", "code": wrong})
        ) == (400, "CodeMismatchException")
    # The right code no longer works: five wrong tries killed it.
    assert error(
        world.post(f"/user-pools/{pool}/confirm-sign-up", {"userName": "bob", "code": code})
    ) == (400, "CodeMismatchException")


# --- no enumeration ----------------------------------------------------------------------


class CountingHasher:
    """Counts argon2 hashes and verifications, to compare the work of two answers."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[str] = []

    def hash(self, password: str) -> str:
        self.calls.append("hash")
        return str(self.real.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        self.calls.append("verify")
        return bool(self.real.verify(password_hash, password))


def test_answers_and_work_do_not_reveal_who_exists(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, admin, pool = world.tenant_with_pool("enumeration")
    world.pool_user(account, admin, pool, "carol", "carol@example.org")
    counter = CountingHasher(_passwords._HASHER)
    monkeypatch.setattr(_passwords, "_HASHER", counter)

    def observe(path: str, body: dict[str, str]) -> tuple[int, str, list[str]]:
        counter.calls.clear()
        response = world.post(path, body)
        return response.status_code, response.text.split('"requestId"')[0], list(counter.calls)

    sign_up = [
        observe(
            f"/user-pools/{pool}/sign-up",
            {"userName": name, "password": PASSWORD, "email": "x@example.org"},
        )
        for name in ("carol", "newcomer")
    ]
    assert sign_up[0] == sign_up[1]
    sign_in = [
        observe(f"/user-pools/{pool}/sign-in", {"userName": name, "password": "Wr0ng-password"})
        for name in ("carol", "nobody")
    ]
    assert sign_in[0] == sign_in[1] and sign_in[0][2] == ["verify"]
    forgot = [
        observe(f"/user-pools/{pool}/forgot-password", {"userName": name})
        for name in ("carol", "nobody")
    ]
    assert forgot[0] == forgot[1]
    reset = [
        observe(
            f"/user-pools/{pool}/confirm-forgot-password",
            {"userName": name, "code": "123456", "newPassword": "N3w-password"},
        )
        for name in ("carol", "nobody")
    ]
    assert reset[0] == reset[1] and reset[0][0] == 400
    confirm = [
        observe(f"/user-pools/{pool}/confirm-sign-up", {"userName": name, "code": "123456"})
        for name in ("carol", "nobody")
    ]
    assert confirm[0] == confirm[1]


# --- lockout -----------------------------------------------------------------------------


def test_lockout_backs_off_exponentially_and_ends_by_itself(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("lockout")
    world.pool_user(account, admin, pool, "dan", "dan@example.org")

    def attempt(password: str) -> int:
        response = world.post(
            f"/user-pools/{pool}/sign-in", {"userName": "dan", "password": password}
        )
        return int(response.status_code)

    for _ in range(3):
        assert attempt("Wr0ng-password") == 403
    # Locked for 30 s: the right password gets the wrong-password answer.
    locked = world.post(f"/user-pools/{pool}/sign-in", {"userName": "dan", "password": PASSWORD})
    assert error(locked) == (403, "NotAuthorizedException")
    for wait in (31, 61, 121):  # each failure after a lockout doubles it, up to 120 s
        world.clock.advance(seconds=wait - 2)
        assert attempt(PASSWORD) == 403
        world.clock.advance(seconds=2)
        assert attempt("Wr0ng-password") == 403
    world.clock.advance(seconds=119)
    assert attempt(PASSWORD) == 403  # still within the capped 120 s
    world.clock.advance(seconds=2)
    assert attempt(PASSWORD) == 200
    audit = world.audit_text(account)
    assert '"failureReason": "locked"' in audit


def test_the_platform_administrator_is_never_locked_out_for_good(world: World) -> None:
    """Recovery of docs/user-pool.md: the lockout ends by itself, and the operator can end it
    at once with 'lakevault userpool unlock' — which needs no sign-in."""
    body = {"accountId": "000000000000", "userName": "admin", "password": "Wr0ng-password"}
    for _ in range(6):
        world.post("/sessions", body)
    right = {**body, "password": world.admin_password}
    assert error(world.post("/sessions", right)) == (403, "AccessDenied")
    result = CliRunner().invoke(
        cli_app,
        ["userpool", "unlock", "--account", "000000000000", "--user", "admin"],
        env=world.settings_env,
    )
    assert result.exit_code == 0, result.output
    assert world.post("/sessions", right).status_code == 200
    assert "OperatorRecoverUser" in world.audit_text("000000000000")


def test_a_tenant_admin_unlocks_and_signs_out_a_user(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("helpdesk")
    world.pool_user(account, admin, pool, "erin", "erin@example.org")
    tokens = world.post(
        f"/user-pools/{pool}/sign-in", {"userName": "erin", "password": PASSWORD}
    ).json()
    for _ in range(3):
        world.post(f"/user-pools/{pool}/sign-in", {"userName": "erin", "password": "Wr0ng-pass1"})
    assert world.post(f"/tenants/{account}/users/erin/unlock", headers=admin).status_code == 204
    assert (
        world.post(
            f"/user-pools/{pool}/sign-in", {"userName": "erin", "password": PASSWORD}
        ).status_code
        == 200
    )
    assert world.post(f"/tenants/{account}/users/erin/sign-out", headers=admin).status_code == 204
    bearer = {"Authorization": f"Bearer {tokens['accessToken']}"}
    assert error(world.client.get("/api/v1/sts/caller-identity", headers=bearer)) == (
        403,
        "InvalidToken",
    )
    # Another tenant's administrator may do neither.
    _other, other_admin, _ = world.tenant_with_pool("elsewhere")
    assert error(world.post(f"/tenants/{account}/users/erin/unlock", headers=other_admin)) == (
        403,
        "AccessDenied",
    )


# --- MFA ---------------------------------------------------------------------------------


def test_mfa_required_by_a_group_sets_up_totp_and_reaches_the_gate(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("mfa")
    world.post(
        f"/tenants/{account}/user-pool/groups",
        {"groupName": "instructor", "mfaRequired": True},
        headers=admin,
    )
    world.post(f"/tenants/{account}/user-pool/groups", {"groupName": "student"}, headers=admin)
    policy = world.post(
        f"/tenants/{account}/policies",
        {"policyName": "ListWithMFA", "policyDocument": MFA_ONLY_LIST_USERS},
        headers=admin,
    ).json()["arn"]
    for group in ("instructor", "student"):
        world.client.put(
            f"/api/v1/tenants/{account}/groups/{group}/attached-policies",
            json={"policyArn": policy},
            headers=admin,
        )
    world.pool_user(account, admin, pool, "grace", "grace@example.org")
    world.pool_user(account, admin, pool, "sam", "sam@example.org")
    world.client.put(
        f"/api/v1/tenants/{account}/user-pool/groups/instructor/members/grace", headers=admin
    )
    world.client.put(
        f"/api/v1/tenants/{account}/user-pool/groups/student/members/sam", headers=admin
    )

    # A student signs in with a password only: the MFA condition denies.
    sam = world.post(f"/user-pools/{pool}/sign-in", {"userName": "sam", "password": PASSWORD})
    sam_bearer = {"Authorization": f"Bearer {sam.json()['accessToken']}"}
    assert error(world.client.get(f"/api/v1/tenants/{account}/users", headers=sam_bearer)) == (
        403,
        "AccessDenied",
    )

    # An instructor must set up MFA before getting any token.
    first = world.post(f"/user-pools/{pool}/sign-in", {"userName": "grace", "password": PASSWORD})
    assert first.json()["challengeName"] == "MFA_SETUP" and first.json()["accessToken"] is None
    session = first.json()["session"]
    associated = world.post("/sessions/mfa/associate", {"session": session}).json()
    secret = associated["secretCode"]
    world.remember(secret, session)
    assert error(world.post("/sessions/challenge", {"session": session, "mfaCode": "000000"}))[
        1
    ] == ("CodeMismatchException")
    done = world.post(
        "/sessions/challenge", {"session": session, "mfaCode": totp_now(world, secret)}
    )
    assert done.status_code == 200, done.text
    world.remember(done.json()["accessToken"], done.json()["refreshToken"], done.json()["idToken"])
    bearer = {"Authorization": f"Bearer {done.json()['accessToken']}"}
    assert world.client.get(f"/api/v1/tenants/{account}/users", headers=bearer).status_code == 200

    # Next time: a SOFTWARE_TOKEN_MFA challenge; the code just used cannot be replayed.
    used = totp_now(world, secret)
    again = world.post(f"/user-pools/{pool}/sign-in", {"userName": "grace", "password": PASSWORD})
    assert again.json()["challengeName"] == "SOFTWARE_TOKEN_MFA"
    replay = world.post(
        "/sessions/challenge", {"session": again.json()["session"], "mfaCode": used}
    )
    assert error(replay) == (400, "CodeMismatchException")
    world.clock.advance(seconds=30)
    one_step = world.post(
        f"/user-pools/{pool}/sign-in",
        {"userName": "grace", "password": PASSWORD, "mfaCode": totp_now(world, secret)},
    )
    assert one_step.status_code == 200 and one_step.json()["accessToken"]
    world.remember(one_step.json()["accessToken"], one_step.json()["refreshToken"])
    # A refreshed token keeps the MFA fact of its sign-in.
    refreshed = world.post("/sessions/refresh", {"refreshToken": one_step.json()["refreshToken"]})
    world.remember(refreshed.json()["accessToken"], refreshed.json()["refreshToken"])
    claims = world.platform.tokens.verify(refreshed.json()["accessToken"])
    assert claims.mfa_authenticated


def test_password_sign_in_honours_a_users_authenticator(world: World) -> None:
    account, admin, _pool = world.tenant_with_pool("iam-mfa")
    world.client.post(f"/api/v1/tenants/{account}/users", json={"userName": "ivan"}, headers=admin)
    world.client.put(
        f"/api/v1/tenants/{account}/users/ivan/password", json={"password": PASSWORD}, headers=admin
    )
    ivan = world.sign_in(account, "ivan", PASSWORD)
    secret = world.post("/sessions/mfa/associate", {}, headers=ivan).json()["secretCode"]
    world.remember(secret)
    assert (
        world.post(
            "/sessions/mfa/verify", {"mfaCode": totp_now(world, secret)}, headers=ivan
        ).status_code
        == 204
    )
    # A password-only token may not replace the authenticator.
    assert error(world.post("/sessions/mfa/associate", {}, headers=ivan)) == (
        403,
        "NotAuthorizedException",
    )
    world.clock.advance(seconds=30)
    answer = world.post(
        "/sessions", {"accountId": account, "userName": "ivan", "password": PASSWORD}
    )
    assert answer.json()["challengeName"] == "SOFTWARE_TOKEN_MFA"
    world.remember(answer.json()["session"])
    direct = world.post(
        "/sessions",
        {
            "accountId": account,
            "userName": "ivan",
            "password": PASSWORD,
            "mfaCode": totp_now(world, secret),
        },
    )
    assert direct.status_code == 200 and direct.json()["accessToken"]
    world.remember(direct.json()["accessToken"], direct.json()["refreshToken"])


# --- revocation, reset -------------------------------------------------------------------


def test_sign_out_everywhere_stops_every_token_at_once(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("signout")
    world.pool_user(account, admin, pool, "judy", "judy@example.org")
    sessions = [
        world.post(f"/user-pools/{pool}/sign-in", {"userName": "judy", "password": PASSWORD}).json()
        for _ in range(2)
    ]
    for tokens in sessions:
        world.remember(tokens["accessToken"], tokens["refreshToken"], tokens["idToken"])
    bearer = {"Authorization": f"Bearer {sessions[0]['accessToken']}"}
    assert world.post("/sessions/sign-out-everywhere", headers=bearer).status_code == 204
    for tokens in sessions:
        assert error(
            world.client.get(
                "/api/v1/sts/caller-identity",
                headers={"Authorization": f"Bearer {tokens['accessToken']}"},
            )
        ) == (403, "InvalidToken")
        assert error(world.post("/sessions/refresh", {"refreshToken": tokens["refreshToken"]})) == (
            403,
            "NotAuthorizedException",
        )
    # A new sign-in works again.
    fresh = world.post(f"/user-pools/{pool}/sign-in", {"userName": "judy", "password": PASSWORD})
    assert (
        world.client.get(
            "/api/v1/sts/caller-identity",
            headers={"Authorization": f"Bearer {fresh.json()['accessToken']}"},
        ).status_code
        == 200
    )
    world.remember(fresh.json()["accessToken"], fresh.json()["refreshToken"])


def test_reset_codes_expire_and_work_once(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("reset")
    world.pool_user(account, admin, pool, "ken", "ken@example.org")
    world.post(f"/user-pools/{pool}/forgot-password", {"userName": "ken"})
    stale = world.outbox_code(account, admin, "ken", kind="password reset")
    world.clock.advance(seconds=3601)
    new_password = "Ch4nged-password"
    world.remember(new_password)
    body = {"userName": "ken", "code": stale, "newPassword": new_password}
    assert error(world.post(f"/user-pools/{pool}/confirm-forgot-password", body)) == (
        400,
        "CodeMismatchException",
    )
    world.post(f"/user-pools/{pool}/forgot-password", {"userName": "ken"})
    code = world.outbox_code(account, admin, "ken", kind="password reset")
    body["code"] = code
    assert world.post(f"/user-pools/{pool}/confirm-forgot-password", body).status_code == 204
    assert error(world.post(f"/user-pools/{pool}/confirm-forgot-password", body)) == (
        400,
        "CodeMismatchException",
    )
    assert (
        world.post(
            f"/user-pools/{pool}/sign-in", {"userName": "ken", "password": new_password}
        ).status_code
        == 200
    )


def test_weak_passwords_are_refused_by_the_pools_policy(world: World) -> None:
    _account, _admin, pool = world.tenant_with_pool("policy")
    answer = world.post(
        f"/user-pools/{pool}/sign-up",
        {"userName": "weak", "password": "alllowercase", "email": "w@example.org"},
    )
    assert error(answer) == (400, "InvalidPasswordException")
    assert "an upper-case letter" in answer.json()["error"]["message"]
    assert "alllowercase" not in answer.text


# --- rate limits -------------------------------------------------------------------------


def test_password_checks_are_rate_limited(database: Database, tmp_path: Path) -> None:
    for world in make_world(database, tmp_path, LAKEVAULT_SIGN_IN_RATE_LIMIT="3/minute"):
        body = {"accountId": "000000000000", "userName": "nobody", "password": "Wr0ng-password"}
        codes = [world.post("/sessions", body).status_code for _ in range(4)]
        assert codes == [403, 403, 403, 429]
        assert error(world.post("/sessions", body)) == (429, "TooManyRequestsException")


# --- nothing secret leaks ----------------------------------------------------------------


def test_secrets_never_reach_logs_audit_events_or_other_answers(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account, admin, pool = world.tenant_with_pool("leaks")
    world.pool_user(account, admin, pool, "leo", "leo@example.org")
    tokens = world.post(
        f"/user-pools/{pool}/sign-in", {"userName": "leo", "password": PASSWORD}
    ).json()
    world.remember(tokens["accessToken"], tokens["refreshToken"], tokens["idToken"])
    bearer = {"Authorization": f"Bearer {tokens['accessToken']}"}
    secret = world.post("/sessions/mfa/associate", {}, headers=bearer).json()["secretCode"]
    world.remember(secret)
    world.post("/sessions/mfa/verify", {"mfaCode": totp_now(world, secret)}, headers=bearer)
    refreshed = world.post("/sessions/refresh", {"refreshToken": tokens["refreshToken"]}).json()
    world.remember(refreshed["accessToken"], refreshed["refreshToken"])
    world.post("/sessions/refresh", {"refreshToken": tokens["refreshToken"]})  # reuse
    world.post(f"/user-pools/{pool}/forgot-password", {"userName": "leo"})
    world.outbox_code(account, admin, "leo", kind="password reset")
    world.platform.jobs.run_worker(name="test", until_idle=True)

    # Answers other than the issuing ones: everything an administrator can read.
    readable = [
        world.client.get(f"/api/v1/tenants/{account}/users", headers=admin).text,
        world.client.get(f"/api/v1/tenants/{account}/users/leo", headers=admin).text,
        world.client.get(f"/api/v1/tenants/{account}/user-pool", headers=admin).text,
    ]
    haystacks = {
        "audit": world.audit_text(account),
        "logs": caplog.text,
        "answers": "".join(readable),
        "jobs": json.dumps(
            [job.payload for job in world.platform.jobs.list_jobs(limit=1000)], default=str
        ),
    }
    assert len(world.secrets) > 10
    for where, text in haystacks.items():
        leaked = [value for value in set(world.secrets) if value in text]
        assert leaked == [], f"secrets found in {where}"


def test_outbox_is_the_administrators_only_and_the_mail_job_delivers(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("mail")
    world.post(
        f"/user-pools/{pool}/sign-up",
        {"userName": "mia", "password": PASSWORD, "email": "mia@example.org"},
    )
    world.platform.jobs.run_worker(name="test", until_idle=True)
    messages = world.client.get(f"/api/v1/tenants/{account}/user-pool/outbox", headers=admin).json()
    assert [(m["recipient"], m["state"]) for m in messages] == [("mia@example.org", "outbox")]
    _other, other_admin, _ = world.tenant_with_pool("mail-other")
    assert error(
        world.client.get(f"/api/v1/tenants/{account}/user-pool/outbox", headers=other_admin)
    ) == (403, "AccessDenied")


def test_a_pool_with_mfa_on_gives_no_token_without_a_second_factor(world: World) -> None:
    account, admin, pool = world.tenant_with_pool("strict", mfa="ON")
    world.pool_user(account, admin, pool, "olga", "olga@example.org")
    answer = world.post(f"/user-pools/{pool}/sign-in", {"userName": "olga", "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    world.remember(body["session"])
    assert body["challengeName"] == "MFA_SETUP"
    assert body["accessToken"] is None and body["refreshToken"] is None
    # The setup session cannot be answered without associating an authenticator first.
    refused = world.post("/sessions/challenge", {"session": body["session"], "mfaCode": "123456"})
    assert error(refused) == (400, "InvalidParameterException")
