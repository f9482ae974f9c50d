"""STS beyond AssumeRole basics: GetSessionToken (with and without MFA), transitive session
tags down a role chain, and the key id of the credentials in audit events — with the denials."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest

from lakevault import identity
from lakevault.db import models
from tests.unit.api.conftest import World, error
from tests.unit.api.test_credentials_api import ASSUME_FROM, signed_call, trust

MFA_ONLY_LIST_USERS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "iam:ListUsers",
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ],
}


def _session_call(world: World, creds: dict[str, Any], method: str, path: str, **kw: Any) -> Any:
    return signed_call(
        world,
        method,
        path,
        key_id=creds["accessKeyId"],
        secret=creds["secretAccessKey"],
        token=creds["sessionToken"],
        **kw,
    )


def _user_with_policy(
    world: World, account: str, admin: dict[str, str], name: str, document: dict[str, Any]
) -> tuple[dict[str, str], str]:
    password = "Str0ng-enough-1"
    assert (
        world.client.post(
            f"/api/v1/tenants/{account}/users", json={"userName": name}, headers=admin
        ).status_code
        == 201
    )
    world.client.put(
        f"/api/v1/tenants/{account}/users/{name}/password",
        json={"password": password},
        headers=admin,
    )
    world.client.put(
        f"/api/v1/tenants/{account}/users/{name}/policies/inline",
        json={"policyDocument": document},
        headers=admin,
    )
    return world.sign_in(account, name, password), password


# --- GetSessionToken ---------------------------------------------------------------------


def test_a_session_token_acts_as_its_user_until_it_expires(world: World) -> None:
    account, admin, _ = world.new_tenant("sessions")
    issued = world.client.post("/api/v1/sts/session-token", json={}, headers=admin)
    assert issued.status_code == 200, issued.text
    creds = issued.json()
    # The default is 12 hours, as in AWS.
    expires = creds["expiration"].replace("Z", "+00:00")
    assert expires == (world.clock.now().replace(microsecond=0) + timedelta(hours=12)).isoformat()
    me = _session_call(world, creds, "GET", "/api/v1/sts/caller-identity").json()
    assert me["arn"] == f"arn:aws:iam::{account}:user/admin"
    assert _session_call(world, creds, "GET", f"/api/v1/tenants/{account}/users").status_code == 200
    # The audit names the session's key id (never its secret or token).
    log = world.audit_text(account)
    assert creds["accessKeyId"] in log
    assert creds["secretAccessKey"] not in log and creds["sessionToken"] not in log
    listed = [
        e for e in world.platform.audit.read(account, limit=1000) if e["eventName"] == "ListUsers"
    ]
    assert listed[-1]["userIdentity"]["accessKeyId"] == creds["accessKeyId"]

    world.clock.advance(seconds=12 * 3600)
    assert error(_session_call(world, creds, "GET", f"/api/v1/tenants/{account}/users")) == (
        403,
        "ExpiredToken",
    )


@pytest.mark.parametrize("seconds", [899, 129_601])
def test_session_token_durations_are_15_minutes_to_36_hours(world: World, seconds: int) -> None:
    _, admin, _ = world.new_tenant("durations")
    answer = world.client.post(
        "/api/v1/sts/session-token", json={"durationSeconds": seconds}, headers=admin
    )
    assert error(answer) == (400, "ValidationError")
    assert "between 900 and 129600" in answer.json()["error"]["message"]


def test_the_settings_cap_session_token_durations(world: World) -> None:
    world.platform.directory.session_token_max_seconds = 3600
    _, admin, _ = world.new_tenant("capped")
    answer = world.client.post(
        "/api/v1/sts/session-token", json={"durationSeconds": 3601}, headers=admin
    )
    assert error(answer) == (400, "ValidationError")
    assert "between 900 and 3600" in answer.json()["error"]["message"]
    assert (
        world.client.post(
            "/api/v1/sts/session-token", json={"durationSeconds": 3600}, headers=admin
        ).status_code
        == 200
    )


def test_a_deleted_users_session_token_stops_at_once(world: World) -> None:
    account, admin, _ = world.new_tenant("gone")
    bob, _ = _user_with_policy(
        world,
        account,
        admin,
        "bob",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}],
        },
    )
    creds = world.client.post("/api/v1/sts/session-token", json={}, headers=bob).json()
    path = f"/api/v1/tenants/{account}/users"
    assert _session_call(world, creds, "GET", path).status_code == 200
    world.client.delete(f"/api/v1/tenants/{account}/users/bob/policies/inline", headers=admin)
    assert world.client.delete(f"{path}/bob", headers=admin).status_code == 204
    assert _session_call(world, creds, "GET", path).status_code == 403


def test_an_explicit_deny_stops_get_session_token(world: World) -> None:
    account, admin, _ = world.new_tenant("denied")
    eve, _ = _user_with_policy(
        world,
        account,
        admin,
        "eve",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "sts:GetSessionToken", "Resource": "*"}],
        },
    )
    before = len(world.platform.audit.read(account, limit=100000))
    assert error(world.client.post("/api/v1/sts/session-token", json={}, headers=eve)) == (
        403,
        "AccessDenied",
    )
    events = world.platform.audit.read(account, limit=100000)[before:]
    assert [e["eventName"] for e in events] == ["GetSessionToken"]
    assert events[0]["errorCode"] == "AccessDenied"


def test_temporary_credentials_and_api_keys_cannot_get_a_session_token(world: World) -> None:
    account, admin, _ = world.new_tenant("nested")
    creds = world.client.post("/api/v1/sts/session-token", json={}, headers=admin).json()
    again = _session_call(world, creds, "POST", "/api/v1/sts/session-token", body={})
    assert error(again) == (403, "AccessDenied")
    role_arn = world.client.post(
        f"/api/v1/tenants/{account}/roles",
        json={
            "roleName": "Chain",
            "assumeRolePolicyDocument": trust(ASSUME_FROM.format(account=account)),
        },
        headers=admin,
    ).json()["arn"]
    role = world.client.post(
        "/api/v1/sts/assume-role",
        json={"roleArn": role_arn, "roleSessionName": "r1"},
        headers=admin,
    ).json()
    assert error(_session_call(world, role, "POST", "/api/v1/sts/session-token", body={})) == (
        403,
        "AccessDenied",
    )
    key = world.client.post(
        f"/api/v1/tenants/{account}/api-keys",
        json={"name": "ingest", "actions": ["sts:GetSessionToken"], "resources": ["*"]},
        headers=admin,
    )
    assert key.status_code == 201, key.text
    assert error(
        world.client.post(
            "/api/v1/sts/session-token", json={}, headers={"X-Api-Key": key.json()["apiKey"]}
        )
    ) == (403, "AccessDenied")


def test_an_mfa_code_makes_the_session_mfa_authenticated(world: World) -> None:
    account, admin, _ = world.new_tenant("mfa")
    carol, password = _user_with_policy(world, account, admin, "carol", MFA_ONLY_LIST_USERS)
    secret = world.client.post("/api/v1/sessions/mfa/associate", json={}, headers=carol).json()[
        "secretCode"
    ]
    totp = pyotp.TOTP(secret)
    code = totp.at(world.clock.now().timestamp())
    assert (
        world.client.post(
            "/api/v1/sessions/mfa/verify", json={"mfaCode": code}, headers=carol
        ).status_code
        == 204
    )
    serial = identity.mfa_device_arn(account, "carol")
    path = f"/api/v1/tenants/{account}/users"

    plain = world.client.post("/api/v1/sts/session-token", json={}, headers=carol).json()
    assert error(_session_call(world, plain, "GET", path)) == (403, "AccessDenied")

    world.clock.advance(seconds=30)
    wrong = world.client.post(
        "/api/v1/sts/session-token",
        json={"serialNumber": serial, "tokenCode": "000000"},
        headers=carol,
    )
    assert error(wrong) == (403, "AccessDenied")
    other_device = world.client.post(
        "/api/v1/sts/session-token",
        json={
            "serialNumber": identity.mfa_device_arn(account, "admin"),
            "tokenCode": totp.at(world.clock.now().timestamp()),
        },
        headers=carol,
    )
    assert error(other_device) == (403, "AccessDenied")
    half = world.client.post(
        "/api/v1/sts/session-token", json={"serialNumber": serial}, headers=carol
    )
    assert error(half) == (400, "InvalidParameterValue")

    good_code = totp.at(world.clock.now().timestamp())
    with_mfa = world.client.post(
        "/api/v1/sts/session-token",
        json={"serialNumber": serial, "tokenCode": good_code},
        headers=carol,
    )
    assert with_mfa.status_code == 200, with_mfa.text
    assert _session_call(world, with_mfa.json(), "GET", path).status_code == 200
    # A code is good once.
    replay = world.client.post(
        "/api/v1/sts/session-token",
        json={"serialNumber": serial, "tokenCode": good_code},
        headers=carol,
    )
    assert error(replay) == (403, "AccessDenied")
    assert good_code not in world.audit_text(account)
    del password


# --- transitive session tags ---------------------------------------------------------------


TAG_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "iam:ListUsers",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}},
        },
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "*"},
    ],
}


def _chain_roles(world: World, account: str, admin: dict[str, str]) -> tuple[str, str]:
    first = world.client.post(
        f"/api/v1/tenants/{account}/roles",
        json={
            "roleName": "First",
            "assumeRolePolicyDocument": trust(ASSUME_FROM.format(account=account)),
        },
        headers=admin,
    ).json()["arn"]
    world.client.put(
        f"/api/v1/tenants/{account}/roles/First/policies/chain",
        json={"policyDocument": TAG_READ},
        headers=admin,
    )
    second = world.client.post(
        f"/api/v1/tenants/{account}/roles",
        json={"roleName": "Second", "assumeRolePolicyDocument": trust(first)},
        headers=admin,
    ).json()["arn"]
    world.client.put(
        f"/api/v1/tenants/{account}/roles/Second/policies/chain",
        json={"policyDocument": TAG_READ},
        headers=admin,
    )
    return first, second


def test_transitive_tags_carry_down_a_role_chain_and_cannot_be_overridden(world: World) -> None:
    account, admin, _ = world.new_tenant("chain")
    first, second = _chain_roles(world, account, admin)
    one = world.client.post(
        "/api/v1/sts/assume-role",
        json={
            "roleArn": first,
            "roleSessionName": "one",
            "tags": {"team": "blue", "cost": "42"},
            "transitiveTagKeys": ["team"],
        },
        headers=admin,
    )
    assert one.status_code == 200, one.text
    creds = one.json()
    path = f"/api/v1/tenants/{account}/users"
    assert _session_call(world, creds, "GET", path).status_code == 200

    # Chained: the transitive tag comes along (and still decides), the other does not.
    two = _session_call(
        world,
        creds,
        "POST",
        "/api/v1/sts/assume-role",
        body={"roleArn": second, "roleSessionName": "two"},
    )
    assert two.status_code == 200, two.text
    assert _session_call(world, two.json(), "GET", path).status_code == 200
    with world.platform.database.read_session() as session:
        row = session.get(models.RoleSession, two.json()["accessKeyId"])
        assert row is not None
        assert row.tags == {"team": "blue"} and row.transitive_tag_keys == ["team"]

    # Overriding a transitive tag is refused, in any letter case, and issues nothing.
    for key in ("team", "TEAM"):
        override = _session_call(
            world,
            creds,
            "POST",
            "/api/v1/sts/assume-role",
            body={"roleArn": second, "roleSessionName": "three", "tags": {key: "red"}},
        )
        assert error(override) == (400, "InvalidParameterValue")
        assert "cannot be overridden" in override.json()["error"]["message"]

    # A role chain lasts at most one hour.
    long_chain = _session_call(
        world,
        creds,
        "POST",
        "/api/v1/sts/assume-role",
        body={"roleArn": second, "roleSessionName": "four", "durationSeconds": 3601},
    )
    assert error(long_chain) == (400, "ValidationError")
    assert "role chaining" in long_chain.json()["error"]["message"]


def test_transitive_keys_must_name_session_tags(world: World) -> None:
    account, admin, _ = world.new_tenant("transitive")
    first, _ = _chain_roles(world, account, admin)
    answer = world.client.post(
        "/api/v1/sts/assume-role",
        json={
            "roleArn": first,
            "roleSessionName": "one",
            "tags": {"team": "blue"},
            "transitiveTagKeys": ["project"],
        },
        headers=admin,
    )
    assert error(answer) == (400, "InvalidParameterValue")
    duplicate = world.client.post(
        "/api/v1/sts/assume-role",
        json={
            "roleArn": first,
            "roleSessionName": "one",
            "tags": {"team": "blue", "Team": "red"},
        },
        headers=admin,
    )
    assert error(duplicate) == (400, "InvalidParameterValue")


def test_chain_session_tags_rules() -> None:
    chained = identity.chain_session_tags(
        requested={"project": "p1"},
        transitive_keys=["project"],
        inherited={"team": "blue", "cost": "1"},
        inherited_transitive_keys=["team"],
    )
    assert dict(chained.tags) == {"team": "blue", "project": "p1"}
    assert chained.transitive_keys == ("team", "project")
    too_many = {f"k{i}": "v" for i in range(50)}
    with pytest.raises(Exception, match="at most 50 session tags"):
        identity.chain_session_tags(
            requested=too_many,
            transitive_keys=[],
            inherited={"team": "blue"},
            inherited_transitive_keys=["team"],
        )


# --- API keys in audit events --------------------------------------------------------------


def test_audit_events_of_an_api_key_name_its_key_id_never_its_secret(world: World) -> None:
    account, admin, _ = world.new_tenant("apikeys")
    created = world.client.post(
        f"/api/v1/tenants/{account}/api-keys",
        json={"name": "ingest", "actions": ["iam:ListUsers"], "resources": ["*"]},
        headers=admin,
    ).json()
    key = created["apiKey"]
    answer = world.client.get(f"/api/v1/tenants/{account}/users", headers={"X-Api-Key": key})
    assert answer.status_code == 200, answer.text
    denied = world.client.get(f"/api/v1/tenants/{account}/roles", headers={"X-Api-Key": key})
    assert error(denied) == (403, "AccessDenied")
    events = [
        e
        for e in world.platform.audit.read(account, limit=100000)
        if e["eventName"] in {"ListUsers", "ListRoles"}
    ]
    assert {e["eventName"] for e in events} == {"ListUsers", "ListRoles"}
    assert all(e["userIdentity"]["accessKeyId"] == created["keyId"] for e in events)
    # lvk_<id>_<secret>: the secret is base64url and may itself hold "_", so split twice only.
    secret = key.split("_", 2)[2]
    assert len(secret) == 43
    assert key not in json.dumps(events) and secret not in world.audit_text(account)


def test_signed_requests_name_the_access_key_in_audit_events(world: World) -> None:
    account, admin, _ = world.new_tenant("signed")
    made = world.client.post(
        f"/api/v1/tenants/{account}/users/admin/access-keys", headers=admin
    ).json()
    answer = signed_call(
        world,
        "GET",
        f"/api/v1/tenants/{account}/users",
        key_id=made["accessKeyId"],
        secret=made["secretAccessKey"],
    )
    assert isinstance(answer, httpx.Response) and answer.status_code == 200
    last = [
        e for e in world.platform.audit.read(account, limit=100000) if e["eventName"] == "ListUsers"
    ][-1]
    assert last["userIdentity"]["accessKeyId"] == made["accessKeyId"]
    assert made["secretAccessKey"] not in world.audit_text(account)


# --- rate limits on the federation endpoints -------------------------------------------------


def test_federation_endpoints_are_rate_limited_per_client(world: World) -> None:
    account, _, _ = world.new_tenant("federated")
    world.platform.directory.federation_limiter = identity.AttemptLimiter(
        "3/minute", per="per client address"
    )
    start = f"/api/v1/federation/{account}/op-unknown/sign-in"
    callback = "/api/v1/federation/callback?state=never-issued&code=x"
    exchange = {
        "roleArn": f"arn:aws:iam::{account}:role/Web",
        "roleSessionName": "web",
        "webIdentityToken": "not-a-token",
    }
    # Within the limit each answers for itself (no such provider, no such sign-in, bad token).
    assert error(world.client.get(start, follow_redirects=False))[0] == 404
    assert error(world.client.get(callback))[0] == 403
    assert error(world.client.post("/api/v1/sts/assume-role-with-web-identity", json=exchange)) == (
        400,
        "InvalidIdentityToken",
    )
    # Beyond it, every federation entry point of this client is throttled before any work.
    before = len(world.platform.audit.read(account, limit=100000))
    for answer in (
        world.client.get(start, follow_redirects=False),
        world.client.get(callback),
        world.client.post("/api/v1/sts/assume-role-with-web-identity", json=exchange),
    ):
        assert error(answer) == (429, "TooManyRequestsException")
        assert "3/minute" in answer.json()["error"]["message"]
    assert len(world.platform.audit.read(account, limit=100000)) == before
