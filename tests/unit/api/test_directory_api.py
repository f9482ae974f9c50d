"""The management API end to end: sign-in, tenants, IAM entities — and every way to be refused.

Security tests assert the denial and its code, that nothing changed, and that no password
reaches a response or the audit log.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.api.conftest import World, error

READ_OWN_USER = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "SeeSelf",
            "Effect": "Allow",
            "Action": "iam:GetUser",
            "Resource": "arn:aws:iam::*:user/${aws:username}",
        }
    ],
}


def test_tenant_admin_manages_users_groups_and_policies(world: World) -> None:
    account, admin, _ = world.new_tenant("research")
    c = world.client
    assert (
        c.post(
            f"/api/v1/tenants/{account}/users", json={"userName": "alice"}, headers=admin
        ).status_code
        == 201
    )
    assert (
        c.post(
            f"/api/v1/tenants/{account}/groups", json={"groupName": "analysts"}, headers=admin
        ).status_code
        == 201
    )
    created = c.post(
        f"/api/v1/tenants/{account}/policies",
        json={"policyName": "SeeSelf", "policyDocument": READ_OWN_USER},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    policy_arn = created.json()["arn"]
    assert (
        c.put(
            f"/api/v1/tenants/{account}/groups/analysts/attached-policies",
            json={"policyArn": policy_arn},
            headers=admin,
        ).status_code
        == 204
    )
    assert (
        c.put(f"/api/v1/tenants/{account}/groups/analysts/members/alice", headers=admin).status_code
        == 204
    )
    assert (
        c.put(
            f"/api/v1/tenants/{account}/users/alice/password",
            json={"password": "Corr3ct-horse"},
            headers=admin,
        ).status_code
        == 204
    )
    alice = world.sign_in(account, "alice", "Corr3ct-horse")
    assert c.get(f"/api/v1/tenants/{account}/users/alice", headers=alice).status_code == 200
    assert error(c.get(f"/api/v1/tenants/{account}/users/admin", headers=alice)) == (
        403,
        "AccessDenied",
    )
    assert error(
        c.post(f"/api/v1/tenants/{account}/users", json={"userName": "mallory"}, headers=alice)
    ) == (403, "AccessDenied")
    names = [u["userName"] for u in c.get(f"/api/v1/tenants/{account}/users", headers=admin).json()]
    assert names == ["admin", "alice"]
    audit = world.audit_text(account)
    assert "Corr3ct-horse" not in audit and "CreateLoginProfile" in audit


ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
#: A request body for each body model of a tenant-scoped route; a new model needs one here.
BODIES: dict[str, Any] = {
    "PolicyReference": {"policyArn": "arn:aws:iam::{account}:policy/AdministratorAccess"},
    "NewUser": {"userName": "mallory"},
    "NewPassword": {"password": "Hijack3d-password"},
    "NewGroup": {"groupName": "intruders"},
    "NewRole": {
        "roleName": "Backdoor",
        "assumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ],
        },
    },
    "TrustPolicy": {
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ],
        }
    },
    "NewPolicy": {"policyName": "p", "policyDocument": ALLOW_ALL},
    "NewPolicyVersion": {"policyDocument": ALLOW_ALL, "setAsDefault": True},
    "DefaultVersion": {"versionId": "v1"},
    "InlinePolicy": {"policyDocument": ALLOW_ALL},
    "AccessKeyStatusUpdate": {"status": "Inactive"},
    "NewApiKey": {"name": "exfil", "actions": ["*"], "resources": ["*"]},
    "RotateApiKey": {"newName": "ingest-2"},
    "NewUserPool": {"poolName": "hijacked", "mfaConfiguration": "OFF"},
    "UserPoolUpdate": {
        "mfaConfiguration": "OFF",
        "allowSelfSignUp": True,
        "passwordPolicy": {"minimumLength": 8},
    },
    "NewPoolGroup": {"groupName": "intruders"},
    "AdminCreateUser": {"userName": "mallory", "email": "mallory@example.org"},
    "CreateOIDCProvider": {
        "issuerUrl": "https://idp.attacker.example",
        "clientId": "lakevault",
        "redirectUri": "https://lakevault.example/api/v1/federation/callback",
        "teamRoles": [{"team": "everyone", "roleName": "Ops"}],
    },
}
#: Routes whose path names no tenant, and routes that are public on purpose, each with why
#: the cross-tenant rule is checked elsewhere. A route in neither list fails the test below.
NOT_BY_PATH = {
    "/healthz": "liveness, no data",
    "/readyz": "readiness, no data",
    "/api/v1/sessions": "sign-in: the credentials name the account",
    "/api/v1/.well-known/": "public keys",
    "/api/v1/organizations": "platform administration (the platform account only)",
    "/api/v1/tenants": "platform administration: list and create tenants",
    "/api/v1/sts/": "the caller's own credentials, or the role's trust policy "
    "(test_credentials_api.py, test_federation_api.py, test_sts_api.py)",
    "/api/v1/user-pools/": "public Cognito-style flows of one pool (test_user_pool_api.py)",
    "/api/v1/federation/": "public sign-in entry points; the role's trust policy decides "
    "(test_federation_api.py::test_a_tenants_provider_never_opens_another_tenants_role)",
    "/api/v1/kms/": "the key's ARN names the tenant (the KMS tests)",
    "/api/v1/secrets": "the secret's ARN names the tenant (the secrets tests)",
    "/api/v1/buckets": "the bucket belongs to the caller's tenant (the storage tests)",
    "/api/v1/presigned/": "a pre-signed URL acts as its signer on one object; the gate decides "
    "(test_storage_presign_server.py::test_a_tenant_cannot_mint_for_another_tenants_bucket)",
    "/api/v1/audit/": "the caller's own account's log (the audit tests)",
    "/api/v1/sandbox/": "platform administration: the runtime's metrics, a resource of the "
    "platform account (test_sandbox_api.py)",
}


def tenant_routes(world: World) -> list[tuple[str, str, str, list[str]]]:
    """Every ``(method, path, body model, required query parameters)`` of the API whose path
    names a tenant; fails on a route that is neither that nor listed in NOT_BY_PATH."""
    routes = []
    unclassified = []
    for path, operations in world.client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method, operation in operations.items():
            if "{account_id}" not in path or path.startswith("/api/v1/federation/"):
                if not any(path.startswith(prefix) for prefix in NOT_BY_PATH):
                    unclassified.append(f"{method.upper()} {path}")
                continue
            content = operation.get("requestBody", {}).get("content", {})
            reference = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            query = [
                p["name"]
                for p in operation.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            ]
            routes.append((method, path, reference.rsplit("/", 1)[-1], query))
    assert not unclassified, (
        "routes that name no tenant and have no cross-tenant rule recorded in NOT_BY_PATH: "
        f"{unclassified}"
    )
    return routes


def _victim_world(world: World) -> tuple[str, dict[str, str], str, dict[str, str]]:
    """A victim tenant with one of everything a route can name, and the ids to name them."""
    victim, admin, password = world.new_tenant("victim")
    c, base = world.client, f"/api/v1/tenants/{victim}"
    for url, body in (
        (f"{base}/groups", {"groupName": "team"}),
        (
            f"{base}/roles",
            {
                "roleName": "Ops",
                "assumeRolePolicyDocument": BODIES["TrustPolicy"]["policyDocument"],
            },
        ),
        (f"{base}/user-pool", {"poolName": "victims", "mfaConfiguration": "OPTIONAL"}),
        (f"{base}/user-pool/groups", {"groupName": "students"}),
        (f"{base}/api-keys", {"name": "ingest", "actions": ["iam:ListUsers"], "resources": ["*"]}),
    ):
        assert c.post(url, json=body, headers=admin).status_code == 201, url
    c.put(f"{base}/users/admin/policies/inline", json={"policyDocument": ALLOW_ALL}, headers=admin)
    key = c.post(f"{base}/users/admin/access-keys", headers=admin).json()["accessKeyId"]
    names = {
        "key_id": key,
        "version_id": "v1",
        "policy_name": "inline",
        "kind": "users",
        "group_name": "students",
        "user_name": "admin",
        "provider_id": "op-unknown",
    }
    return victim, admin, password, names


def _fill(path: str, victim: str, names: dict[str, str]) -> str:
    by_collection = {
        "users": "admin",
        "groups": "team",
        "roles": "Ops",
        "policies": "AdministratorAccess",
        "api-keys": "ingest",
    }
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part == "{name}":
            parent = parts[index - 1]
            parts[index] = by_collection.get(parent, "admin")
    filled = "/".join(parts).replace("{account_id}", victim)
    for key, value in names.items():
        filled = filled.replace("{" + key + "}", value)
    assert "{" not in filled, f"no value for a parameter of {path}"
    return filled


def _snapshot(world: World, victim: str, admin: dict[str, str]) -> list[Any]:
    base = f"/api/v1/tenants/{victim}"
    return [
        world.client.get(base + path, headers=admin).json()
        for path in ("/users", "/groups", "/roles", "/policies", "/api-keys",
                     "/users/admin/access-keys", "/user-pool", "/user-pool/groups",
                     "/oidc-providers", "/users/admin/policies",
                     "/users/admin/attached-policies", "/policies/AdministratorAccess/versions")
    ]  # fmt: skip


def test_no_tenant_can_act_on_another_tenant(world: World) -> None:
    """Every route of the API that names a tenant, called by another tenant's administrator,
    is refused by the gate (an audited denial in the victim's log) and changes nothing. The
    routes are read from the app itself, so a new route is covered (or fails) automatically.
    (One test over all routes: tenants are costly to create — argon2 on purpose.)"""
    victim, victim_admin, victim_password, names = _victim_world(world)
    _attacker, attacker_admin, _ = world.new_tenant("attacker")
    before = _snapshot(world, victim, victim_admin)
    routes = tenant_routes(world)
    assert len(routes) >= 60
    outcomes = {}
    for method, path, model, query in routes:
        assert model == "" or model in BODIES, f"no cross-tenant request body for {model}"
        body = BODIES.get(model)
        if body is not None:
            body = json.loads(json.dumps(body).replace("{account}", victim))
        params = {"policyArn": f"arn:aws:iam::{victim}:policy/AdministratorAccess"}
        # The decision is recorded where the resource lives: the victim's log, or the
        # platform's for the tenant itself (its record, its guardrails).
        logs = (victim, "000000000000")
        logged = [len(world.platform.audit.read(account, limit=100000)) for account in logs]
        answer = world.client.request(
            method,
            _fill(path, victim, names),
            json=body,
            params={name: params[name] for name in query},
            headers=attacker_admin,
        )
        events = [
            event
            for account, start in zip(logs, logged, strict=True)
            for event in world.platform.audit.read(account, limit=100000)[start:]
        ]
        denied_by_gate = any(e.get("errorCode") == "AccessDenied" for e in events)
        outcomes[f"{method.upper()} {path}"] = (*error(answer), denied_by_gate)
    assert outcomes == {key: (403, "AccessDenied", True) for key in outcomes}
    assert _snapshot(world, victim, victim_admin) == before
    world.sign_in(victim, "admin", victim_password)  # the victim's admin still signs in


def test_the_platform_operator_holds_no_identity_inside_a_tenant(world: World) -> None:
    account, _, _ = world.new_tenant("private")
    operator = world.platform_admin()
    assert error(world.client.get(f"/api/v1/tenants/{account}/users", headers=operator)) == (
        403,
        "AccessDenied",
    )
    assert error(
        world.client.post(
            f"/api/v1/tenants/{account}/users", json={"userName": "spy"}, headers=operator
        )
    ) == (403, "AccessDenied")


def test_a_denial_is_audited_with_the_decision(world: World) -> None:
    account, _, _ = world.new_tenant("audited")
    _, attacker, _ = world.new_tenant("nosy")
    world.client.get(f"/api/v1/tenants/{account}/users", headers=attacker)
    events = world.platform.audit.read(account, limit=1000)
    denied = [
        e for e in events if e.get("errorCode") == "AccessDenied" and e["eventName"] == "ListUsers"
    ]
    assert denied and denied[-1]["decision"]["effect"] == "ImplicitlyDenied"


def test_anonymous_callers_are_denied(world: World) -> None:
    assert error(world.client.get("/api/v1/tenants")) == (403, "AccessDenied")
    assert error(world.client.post("/api/v1/tenants", json={"name": "x"})) == (403, "AccessDenied")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-jwt",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "Basic YWRtaW46cGFzcw==",
        "Bearer ",
    ],
    ids=["garbage", "alg-none", "basic-auth", "empty"],
)
def test_bad_credentials_are_refused_not_downgraded_to_anonymous(world: World, header: str) -> None:
    status, code = error(world.client.get("/api/v1/tenants", headers={"Authorization": header}))
    assert status == 403
    assert code in {"InvalidToken", "IncompleteSignature"}


def test_expired_tokens_are_refused(world: World) -> None:
    admin = world.platform_admin()
    world.clock.advance(seconds=3600 + 31)
    assert error(world.client.get("/api/v1/tenants", headers=admin)) == (403, "ExpiredToken")


def test_a_deleted_users_token_stops_working_at_once(world: World) -> None:
    account, admin, _ = world.new_tenant("churn")
    c = world.client
    c.post(f"/api/v1/tenants/{account}/users", json={"userName": "temp"}, headers=admin)
    c.put(
        f"/api/v1/tenants/{account}/users/temp/password",
        json={"password": "Temp0rary-pass"},
        headers=admin,
    )
    c.put(
        f"/api/v1/tenants/{account}/users/temp/policies/self",
        json={"policyDocument": READ_OWN_USER},
        headers=admin,
    )
    temp = world.sign_in(account, "temp", "Temp0rary-pass")
    assert c.get(f"/api/v1/tenants/{account}/users/temp", headers=temp).status_code == 200
    assert (
        c.delete(f"/api/v1/tenants/{account}/users/temp/policies/self", headers=admin).status_code
        == 204
    )
    assert c.delete(f"/api/v1/tenants/{account}/users/temp", headers=admin).status_code == 204
    assert error(c.get(f"/api/v1/tenants/{account}/users/temp", headers=temp)) == (
        403,
        "InvalidToken",
    )


def test_sign_in_failures_are_uniform_and_audited_without_the_password(world: World) -> None:
    account, _, _ = world.new_tenant("signin")
    attempts = [
        {"accountId": account, "userName": "admin", "password": "Wrong-passw0rd"},
        {"accountId": account, "userName": "ghost", "password": "Wrong-passw0rd"},
        {"accountId": "999999999999", "userName": "admin", "password": "Wrong-passw0rd"},
    ]
    messages = set()
    for attempt in attempts:
        response = world.client.post("/api/v1/sessions", json=attempt)
        assert response.status_code == 403
        messages.add(response.json()["error"]["message"])
    assert len(messages) == 1
    audit = world.audit_text(account) + world.audit_text("000000000000")
    assert "Wrong-passw0rd" not in audit
    assert audit.count('"ConsoleLogin": "Failure"') == 3


def test_tenant_creation_returns_the_admin_password_once_and_never_records_it(world: World) -> None:
    response = world.client.post(
        "/api/v1/tenants", json={"name": "once"}, headers=world.platform_admin()
    )
    password = response.json()["adminPassword"]
    listed = world.client.get("/api/v1/tenants", headers=world.platform_admin()).text
    assert password not in listed
    assert password not in world.audit_text("000000000000")


def test_invalid_documents_and_names_get_precise_errors(world: World) -> None:
    account, admin, _ = world.new_tenant("strict")
    bad_policy = world.client.post(
        f"/api/v1/tenants/{account}/policies",
        json={
            "policyName": "Bad",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}],
            },
        },
        headers=admin,
    )
    assert error(bad_policy) == (400, "MalformedPolicyDocument")
    bad_name = world.client.post(
        f"/api/v1/tenants/{account}/users", json={"userName": "a b"}, headers=admin
    )
    assert error(bad_name) == (400, "ValidationError")
    unknown_field = world.client.post(
        f"/api/v1/tenants/{account}/users", json={"userName": "ok", "admin": True}, headers=admin
    )
    assert error(unknown_field) == (400, "ValidationError")
    assert [
        p["policyName"]
        for p in world.client.get(f"/api/v1/tenants/{account}/policies", headers=admin).json()
    ] == ["AdministratorAccess"]
