"""Access keys, SigV4-signed API calls and STS role sessions, end to end — and their denials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lakevault import identity
from tests.unit.api.conftest import World, error

ASSUME_FROM = "arn:aws:iam::{account}:root"


def trust(principal: str, **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def signed_call(
    world: World,
    method: str,
    path: str,
    *,
    key_id: str,
    secret: str,
    token: str | None = None,
    body: Any = None,
    tamper: bool = False,
) -> httpx.Response:
    data = json.dumps(body).encode() if body is not None else b""
    headers = [("host", "testserver")]
    if body is not None:
        headers.append(("content-type", "application/json"))
    request = identity.SigV4Request.from_target(method, path, headers, data)
    signed = identity.sign_request(
        request,
        access_key_id=key_id,
        secret_access_key=secret,
        region="local",
        service="lakevault",
        now=world.clock.now(),
        session_token=token,
    )
    sent = dict(signed.request.headers)
    if tamper:
        data = data.replace(b"alice", b"mallo")
    return world.client.request(method, path, content=data, headers=sent)


@pytest.fixture
def tenant(world: World) -> Iterator[tuple[str, dict[str, str]]]:
    account, admin, _ = world.new_tenant("keys")
    yield account, admin


def test_an_access_key_signs_requests_until_it_is_deactivated_or_deleted(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    created = world.client.post(f"/api/v1/tenants/{account}/users/admin/access-keys", headers=admin)
    assert created.status_code == 201, created.text
    key = created.json()
    key_id, secret = key["accessKeyId"], key["secretAccessKey"]
    assert key_id.startswith("LKIA") and len(secret) == 40

    def list_users() -> httpx.Response:
        return signed_call(
            world, "GET", f"/api/v1/tenants/{account}/users", key_id=key_id, secret=secret
        )

    assert list_users().status_code == 200
    listed = world.client.get(f"/api/v1/tenants/{account}/users/admin/access-keys", headers=admin)
    assert secret not in listed.text and listed.json()[0]["lastUsedDate"] is not None
    assert secret not in json.dumps(world.platform.audit.read(account, limit=100000))

    world.client.put(
        f"/api/v1/tenants/{account}/users/admin/access-keys/{key_id}",
        json={"status": "Inactive"},
        headers=admin,
    )
    assert error(list_users()) == (403, "InvalidAccessKeyId")
    world.client.put(
        f"/api/v1/tenants/{account}/users/admin/access-keys/{key_id}",
        json={"status": "Active"},
        headers=admin,
    )
    assert list_users().status_code == 200
    world.client.delete(
        f"/api/v1/tenants/{account}/users/admin/access-keys/{key_id}", headers=admin
    )
    assert error(list_users()) == (403, "InvalidAccessKeyId")


def test_signatures_that_do_not_match_are_refused(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    key = world.client.post(
        f"/api/v1/tenants/{account}/users/admin/access-keys", headers=admin
    ).json()
    wrong_secret = signed_call(
        world, "GET", f"/api/v1/tenants/{account}/users", key_id=key["accessKeyId"], secret="x" * 40
    )
    assert error(wrong_secret) == (403, "SignatureDoesNotMatch")
    tampered = signed_call(
        world,
        "POST",
        f"/api/v1/tenants/{account}/users",
        key_id=key["accessKeyId"],
        secret=key["secretAccessKey"],
        body={"userName": "alice"},
        tamper=True,
    )
    assert error(tampered) == (403, "SignatureDoesNotMatch")
    users = [
        u["userName"]
        for u in world.client.get(f"/api/v1/tenants/{account}/users", headers=admin).json()
    ]
    assert users == ["admin"]
    world.clock.advance(seconds=16 * 60)
    late = signed_call(
        world,
        "GET",
        f"/api/v1/tenants/{account}/users",
        key_id=key["accessKeyId"],
        secret=key["secretAccessKey"],
    )
    assert late.status_code == 200  # signed at the new time: fine
    unknown = signed_call(
        world, "GET", "/api/v1/tenants", key_id="LKIAAAAAAAAAAAAAAAAA", secret="y" * 40
    )
    assert error(unknown) == (403, "InvalidAccessKeyId")


def test_at_most_two_access_keys_per_user(world: World, tenant: tuple[str, dict[str, str]]) -> None:
    account, admin = tenant
    url = f"/api/v1/tenants/{account}/users/admin/access-keys"
    assert world.client.post(url, headers=admin).status_code == 201
    assert world.client.post(url, headers=admin).status_code == 201
    assert error(world.client.post(url, headers=admin)) == (409, "LimitExceeded")


def _role(
    world: World, account: str, admin: dict[str, str], name: str, trust_policy: dict[str, Any]
) -> str:
    response = world.client.post(
        f"/api/v1/tenants/{account}/roles",
        json={
            "roleName": name,
            "assumeRolePolicyDocument": trust_policy,
            "maxSessionDuration": 7200,
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    policy = world.client.post(
        f"/api/v1/tenants/{account}/policies",
        json={
            "policyName": f"{name}Read",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}
                ],
            },
        },
        headers=admin,
    ).json()
    world.client.put(
        f"/api/v1/tenants/{account}/roles/{name}/attached-policies",
        json={"policyArn": policy["arn"]},
        headers=admin,
    )
    return str(response.json()["arn"])


def test_assumed_role_credentials_act_with_the_role_policies_narrowed_by_the_session_policy(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    role_arn = _role(world, account, admin, "Reader", trust(ASSUME_FROM.format(account=account)))
    issued = world.client.post(
        "/api/v1/sts/assume-role",
        json={"roleArn": role_arn, "roleSessionName": "batch-1", "durationSeconds": 900},
        headers=admin,
    )
    assert issued.status_code == 200, issued.text
    creds = issued.json()
    assert creds["assumedRoleArn"] == f"arn:aws:sts::{account}:assumed-role/Reader/batch-1"

    def call(path: str, **kwargs: Any) -> httpx.Response:
        return signed_call(
            world,
            "GET",
            path,
            key_id=creds["accessKeyId"],
            secret=creds["secretAccessKey"],
            token=creds["sessionToken"],
            **kwargs,
        )

    assert call(f"/api/v1/tenants/{account}/users").status_code == 200
    me = call("/api/v1/sts/caller-identity").json()
    assert me["arn"] == creds["assumedRoleArn"]
    denied = signed_call(
        world,
        "POST",
        f"/api/v1/tenants/{account}/users",
        key_id=creds["accessKeyId"],
        secret=creds["secretAccessKey"],
        token=creds["sessionToken"],
        body={"userName": "x"},
    )
    assert error(denied) == (403, "AccessDenied")
    missing_token = signed_call(
        world,
        "GET",
        f"/api/v1/tenants/{account}/users",
        key_id=creds["accessKeyId"],
        secret=creds["secretAccessKey"],
    )
    assert missing_token.status_code == 403

    narrowed = world.client.post(
        "/api/v1/sts/assume-role",
        json={
            "roleArn": role_arn,
            "roleSessionName": "narrow",
            "policy": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}],
            },
        },
        headers=admin,
    ).json()
    listing = signed_call(
        world,
        "GET",
        f"/api/v1/tenants/{account}/users",
        key_id=narrowed["accessKeyId"],
        secret=narrowed["secretAccessKey"],
        token=narrowed["sessionToken"],
    )
    assert error(listing) == (403, "AccessDenied")

    world.clock.advance(seconds=901)
    assert error(call(f"/api/v1/tenants/{account}/users")) == (403, "ExpiredToken")


def test_revoking_a_roles_sessions_stops_them_at_once(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    role_arn = _role(world, account, admin, "Ops", trust(ASSUME_FROM.format(account=account)))
    creds = world.client.post(
        "/api/v1/sts/assume-role",
        json={"roleArn": role_arn, "roleSessionName": "s1"},
        headers=admin,
    ).json()
    path = f"/api/v1/tenants/{account}/users"
    assert (
        signed_call(
            world,
            "GET",
            path,
            key_id=creds["accessKeyId"],
            secret=creds["secretAccessKey"],
            token=creds["sessionToken"],
        ).status_code
        == 200
    )
    world.clock.advance(seconds=1)
    assert (
        world.client.post(
            f"/api/v1/tenants/{account}/roles/Ops/revoke-sessions", headers=admin
        ).status_code
        == 204
    )
    assert error(
        signed_call(
            world,
            "GET",
            path,
            key_id=creds["accessKeyId"],
            secret=creds["secretAccessKey"],
            token=creds["sessionToken"],
        )
    ) == (403, "ExpiredToken")


def test_external_id_and_trust_decide_who_may_assume(world: World) -> None:
    owner, owner_admin, _ = world.new_tenant("owner")
    partner, partner_admin, _ = world.new_tenant("partner")
    role_arn = _role(
        world,
        owner,
        owner_admin,
        "PartnerAccess",
        trust(ASSUME_FROM.format(account=partner), StringEquals={"sts:ExternalId": "contract-42"}),
    )
    body = {"roleArn": role_arn, "roleSessionName": "partner"}
    # Cross-tenant: the partner's own policy allows sts:AssumeRole (its admin has "*"), and the
    # trust policy names the partner — with the right ExternalId only.
    assert error(
        world.client.post("/api/v1/sts/assume-role", json=body, headers=partner_admin)
    ) == (403, "AccessDenied")
    wrong = {**body, "externalId": "guess"}
    assert error(
        world.client.post("/api/v1/sts/assume-role", json=wrong, headers=partner_admin)
    ) == (403, "AccessDenied")
    right = {**body, "externalId": "contract-42"}
    assert (
        world.client.post("/api/v1/sts/assume-role", json=right, headers=partner_admin).status_code
        == 200
    )
    # A third tenant, not named in the trust policy, is refused whatever it sends.
    _, stranger_admin, _ = world.new_tenant("stranger")
    assert error(
        world.client.post("/api/v1/sts/assume-role", json=right, headers=stranger_admin)
    ) == (403, "AccessDenied")
    # The owner's own admin is not named either: same-tenant callers need the trust policy too.
    assert error(world.client.post("/api/v1/sts/assume-role", json=right, headers=owner_admin)) == (
        403,
        "AccessDenied",
    )


def test_a_missing_role_is_indistinguishable_from_a_forbidden_one(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    body = {"roleArn": f"arn:aws:iam::{account}:role/Nope", "roleSessionName": "x"}
    assert error(world.client.post("/api/v1/sts/assume-role", json=body, headers=admin)) == (
        403,
        "AccessDenied",
    )


def test_session_parameters_are_validated(world: World, tenant: tuple[str, dict[str, str]]) -> None:
    account, admin = tenant
    role_arn = _role(world, account, admin, "Short", trust(ASSUME_FROM.format(account=account)))
    too_long = {"roleArn": role_arn, "roleSessionName": "s", "durationSeconds": 900}
    assert error(world.client.post("/api/v1/sts/assume-role", json=too_long, headers=admin)) == (
        400,
        "ValidationError",
    )
    beyond_max = {"roleArn": role_arn, "roleSessionName": "ok-name", "durationSeconds": 7201}
    assert error(world.client.post("/api/v1/sts/assume-role", json=beyond_max, headers=admin)) == (
        400,
        "ValidationError",
    )


def test_a_signed_request_body_is_bounded_before_anyone_is_authenticated(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    """The signature covers the body, so it is read before authentication: an unauthenticated
    sender must not be able to make the server hold an unbounded body in memory."""
    path = "/api/v1/buckets/any-bucket/objects/key"  # a streaming route: no 6 MB JSON limit
    forged = {"authorization": "AWS4-HMAC-SHA256 Credential=LKIAFORGED/20260101/local/x/aws4"}

    def chunks() -> Iterator[bytes]:
        yield b"{"
        yield b"}"

    assert error(world.client.put(path, content=chunks(), headers=forged)) == (
        411,
        "MissingContentLength",
    )
    too_large = world.client.put(path, content=b"x" * (64 * 1024 * 1024 + 1), headers=forged)
    assert error(too_large) == (413, "EntityTooLarge")
    assert "at most 67108864 bytes" in too_large.json()["error"]["message"]
