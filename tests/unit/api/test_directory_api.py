"""The management API end to end: sign-in, tenants, IAM entities — and every way to be refused.

Security tests assert the denial and its code, that nothing changed, and that no password
reaches a response or the audit log.
"""

from __future__ import annotations

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


MUTATIONS = [
    ("post", "/users", {"userName": "intruder"}),
    ("delete", "/users/admin", None),
    ("put", "/users/admin/password", {"password": "Taken0ver-now"}),
    ("post", "/groups", {"groupName": "g"}),
    (
        "post",
        "/roles",
        {
            "roleName": "r",
            "assumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                ],
            },
        },
    ),
    (
        "post",
        "/policies",
        {
            "policyName": "p",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            },
        },
    ),
    (
        "put",
        "/users/admin/policies/backdoor",
        {
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        },
    ),
    (
        "delete",
        "/users/admin/attached-policies?policyArn=arn:aws:iam::{account}:policy/AdministratorAccess",
        None,
    ),
    ("get", "/users", None),
    ("get", "/users/admin", None),
    ("get", "/policies/AdministratorAccess/versions", None),
]


def test_no_tenant_can_act_on_another_tenant(world: World) -> None:
    """Every IAM action of one tenant's administrator on another tenant is refused, and changes
    nothing. (One test over all actions: tenants are costly to create — argon2 on purpose.)"""
    victim, victim_admin, victim_password = world.new_tenant("victim")
    _attacker, attacker_admin, _ = world.new_tenant("attacker")
    before = world.client.get(f"/api/v1/tenants/{victim}/users", headers=victim_admin).json()
    outcomes = {}
    for method, path, body in MUTATIONS:
        url = f"/api/v1/tenants/{victim}" + path.format(account=victim)
        outcomes[f"{method} {path}"] = error(
            world.client.request(method, url, json=body, headers=attacker_admin)
        )
    assert outcomes == {key: (403, "AccessDenied") for key in outcomes}
    after = world.client.get(f"/api/v1/tenants/{victim}/users", headers=victim_admin).json()
    assert after == before
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
