"""The audit API: a tenant reads its own log; nobody reads another's unless it is granted.

Every denial is asserted with its code, that nothing was returned or changed, and that the
decision itself is in the audit log (the tenant sees the operator's attempts).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from lakevault.audit import (
    Checkpointer,
    load_signing_key,
    load_verifier,
    open_checkpoint,
    origin_for,
    verify_consistency,
    verify_inclusion,
)
from tests.unit.api.conftest import World, error

PLATFORM = "000000000000"


def _checkpoint(world: World, account: str) -> int:
    settings = world.platform.settings
    signer = load_signing_key(settings.resolved_home)
    checkpointer = Checkpointer(world.platform.database, signer, world.platform.clock)
    return checkpointer.checkpoint(account).checkpoint.tree_size


def _grant(principal: str, account: str, actions: list[str]) -> dict[str, Any]:
    return {
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "LetTheOperatorRead",
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": actions,
                    "Resource": f"arn:aws:lakevault::{account}:audit-log",
                }
            ],
        }
    }


def _decisions(world: World, account: str, name: str) -> list[dict[str, Any]]:
    records = world.platform.audit.read(account, limit=100000)
    return [r for r in records if r["eventName"] == name and "decision" in r]


def test_a_tenant_reads_its_own_log_with_filters_and_pages(world: World) -> None:
    account, admin, _ = world.new_tenant("readers")
    c = world.client
    for name in ("alice", "bob", "carol"):
        assert (
            c.post(
                f"/api/v1/tenants/{account}/users", json={"userName": name}, headers=admin
            ).status_code
            == 201
        )
    page = c.get("/api/v1/audit/events", params={"action": "iam:CreateUser"}, headers=admin)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["accountId"] == account
    created = [e["event"] for e in body["events"]]
    # Each CreateUser is a gate decision and a state change: six events, all in this log.
    assert len(created) == 6
    assert {e["recipientAccountId"] for e in created} == {account}
    decided = [e for e in created if "decision" in e]
    assert [e["decision"]["effect"] for e in decided] == ["Allowed"] * 3

    first = c.get(
        "/api/v1/audit/events",
        params={"action": "iam:CreateUser", "limit": 2, "eventSource": "iam.amazonaws.com"},
        headers=admin,
    ).json()
    assert len(first["events"]) == 2 and first["nextToken"]
    rest = c.get(
        "/api/v1/audit/events",
        params={"action": "iam:CreateUser", "limit": 10, "nextToken": first["nextToken"]},
        headers=admin,
    ).json()
    sequences = [e["sequence"] for e in first["events"] + rest["events"]]
    assert sequences == sorted(sequences) and len(sequences) == 6
    assert (
        c.get(
            "/api/v1/audit/events", params={"eventSource": "kms.amazonaws.com"}, headers=admin
        ).json()["events"]
        == []
    )
    denied = c.get("/api/v1/audit/events", params={"decision": "denied"}, headers=admin)
    assert denied.status_code == 200 and denied.json()["events"] == []


def test_a_token_of_one_log_is_refused_for_another(world: World) -> None:
    account, admin, _ = world.new_tenant("tokens")
    c = world.client
    c.post(f"/api/v1/tenants/{account}/users", json={"userName": "alice"}, headers=admin)
    token = c.get("/api/v1/audit/events", params={"limit": 1}, headers=admin).json()["nextToken"]
    operator = world.platform_admin()
    assert error(c.get("/api/v1/audit/events", params={"nextToken": token}, headers=operator)) == (
        400,
        "InvalidParameterValue",
    )


def test_no_tenant_reads_another_tenants_log(world: World) -> None:
    first, first_admin, _ = world.new_tenant("first")
    second, _, _ = world.new_tenant("second")
    c = world.client
    for path in (
        "/api/v1/audit/events",
        "/api/v1/audit/checkpoints",
        "/api/v1/audit/policy",
        "/api/v1/audit/events/LV0/proof",
    ):
        response = c.get(path, params={"accountId": second}, headers=first_admin)
        assert error(response) == (403, "AccessDenied"), path
        assert "events" not in response.json()
    denied = _decisions(world, second, "GetAuditEvents")
    assert denied and denied[-1]["decision"]["effect"] == "ImplicitlyDenied"
    assert denied[-1]["userIdentity"]["accountId"] == first
    assert error(
        c.put(
            "/api/v1/audit/policy",
            params={"accountId": second},
            json=_grant(f"arn:aws:iam::{first}:root", second, ["lakevault:GetAuditEvents"]),
            headers=first_admin,
        )
    ) == (403, "AccessDenied")
    assert error(c.get("/api/v1/audit/policy", headers=world.new_tenant("third")[1])) == (
        404,
        "NoSuchEntity",
    )


def test_the_platform_admin_reads_the_platform_log_but_not_a_tenants_unless_granted(
    world: World,
) -> None:
    account, admin, _ = world.new_tenant("private")
    c = world.client
    c.post(f"/api/v1/tenants/{account}/users", json={"userName": "alice"}, headers=admin)
    operator = world.platform_admin()
    own = c.get("/api/v1/audit/events", params={"accountId": PLATFORM}, headers=operator)
    assert own.status_code == 200 and own.json()["events"]
    assert c.get("/api/v1/audit/events", headers=operator).json()["accountId"] == PLATFORM

    def operator_reads() -> Any:
        return c.get("/api/v1/audit/events", params={"accountId": account}, headers=operator)

    refused = operator_reads()
    assert error(refused) == (403, "AccessDenied")
    assert "alice" not in refused.text
    # The tenant sees that the operator tried.
    tried = _decisions(world, account, "GetAuditEvents")
    assert tried[-1]["userIdentity"]["arn"] == f"arn:aws:iam::{PLATFORM}:user/admin"
    # Neither can the operator grant itself access.
    operator_arn = f"arn:aws:iam::{PLATFORM}:user/admin"
    grant = _grant(operator_arn, account, ["lakevault:GetAuditEvents"])
    assert error(
        c.put("/api/v1/audit/policy", params={"accountId": account}, json=grant, headers=operator)
    ) == (403, "AccessDenied")
    assert error(operator_reads()) == (403, "AccessDenied")

    # The tenant grants reading events — and nothing else.
    assert c.put("/api/v1/audit/policy", json=grant, headers=admin).status_code == 204
    stored = c.get("/api/v1/audit/policy", headers=admin).json()
    assert json.loads(stored["policyDocument"]) == grant["policyDocument"]
    granted = operator_reads()
    assert granted.status_code == 200, granted.text
    assert any(e["event"]["eventName"] == "CreateUser" for e in granted.json()["events"])
    decided = _decisions(world, account, "GetAuditEvents")[-1]
    assert decided["decision"]["effect"] == "Allowed"
    assert any(s["sid"] == "LetTheOperatorRead" for s in decided["decision"]["statements"])
    assert error(
        c.get("/api/v1/audit/checkpoints", params={"accountId": account}, headers=operator)
    ) == (403, "AccessDenied")
    assert error(
        c.get("/api/v1/audit/policy", params={"accountId": account}, headers=operator)
    ) == (403, "AccessDenied")

    # Revoking the grant ends it at once.
    assert c.delete("/api/v1/audit/policy", headers=admin).status_code == 204
    assert error(operator_reads()) == (403, "AccessDenied")
    assert error(c.delete("/api/v1/audit/policy", headers=admin)) == (404, "NoSuchEntity")


def test_a_tenant_cannot_read_the_platform_log(world: World) -> None:
    _, admin, _ = world.new_tenant("nosy")
    response = world.client.get(
        "/api/v1/audit/events", params={"accountId": PLATFORM}, headers=admin
    )
    assert error(response) == (403, "AccessDenied")


def test_a_user_without_a_policy_cannot_read_its_own_tenants_log(world: World) -> None:
    account, admin, _ = world.new_tenant("least")
    c = world.client
    c.post(f"/api/v1/tenants/{account}/users", json={"userName": "dave"}, headers=admin)
    c.put(
        f"/api/v1/tenants/{account}/users/dave/password",
        json={"password": "Dave-pa55word"},
        headers=admin,
    )
    dave = world.sign_in(account, "dave", "Dave-pa55word")
    for path in ("/api/v1/audit/events", "/api/v1/audit/checkpoints"):
        assert error(c.get(path, headers=dave)) == (403, "AccessDenied")
    assert error(
        c.put(
            "/api/v1/audit/policy",
            json=_grant(f"arn:aws:iam::{account}:user/dave", account, ["lakevault:GetAuditEvents"]),
            headers=dave,
        )
    ) == (403, "AccessDenied")
    assert error(c.get("/api/v1/audit/policy", headers=admin)) == (404, "NoSuchEntity")
    # A narrow policy grants exactly what it names.
    c.put(
        f"/api/v1/tenants/{account}/users/dave/policies/audit",
        json={
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "lakevault:GetAuditCheckpoint",
                        "Resource": f"arn:aws:lakevault::{account}:audit-log",
                    }
                ],
            }
        },
        headers=admin,
    )
    assert c.get("/api/v1/audit/checkpoints", headers=dave).status_code == 200
    assert error(c.get("/api/v1/audit/events", headers=dave)) == (403, "AccessDenied")


def test_anonymous_callers_are_denied(world: World) -> None:
    c = world.client
    assert error(c.get("/api/v1/audit/events")) == (403, "AccessDenied")
    assert error(c.get("/api/v1/audit/events", params={"accountId": PLATFORM})) == (
        403,
        "AccessDenied",
    )
    assert error(c.get("/api/v1/audit/checkpoints", params={"accountId": PLATFORM})) == (
        403,
        "AccessDenied",
    )


def test_malformed_log_policies_are_refused(world: World) -> None:
    _, admin, _ = world.new_tenant("strict")
    response = world.client.put(
        "/api/v1/audit/policy", json={"policyDocument": {"Statement": "nope"}}, headers=admin
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MalformedPolicyDocument"
    assert error(world.client.get("/api/v1/audit/policy", headers=admin)) == (404, "NoSuchEntity")


def test_proofs_and_checkpoints_verify_against_the_signed_checkpoints(world: World) -> None:
    account, admin, _ = world.new_tenant("provable")
    c = world.client
    c.post(f"/api/v1/tenants/{account}/users", json={"userName": "alice"}, headers=admin)
    verifier = load_verifier(world.platform.settings.resolved_home)
    event = c.get("/api/v1/audit/events", params={"action": "iam:CreateUser"}, headers=admin)
    event_id = event.json()["events"][0]["event"]["eventID"]
    # Before any checkpoint covers it, there is no proof.
    assert error(c.get(f"/api/v1/audit/events/{event_id}/proof", headers=admin))[0] == 400
    old_size = _checkpoint(world, account)
    c.post(f"/api/v1/tenants/{account}/users", json={"userName": "bob"}, headers=admin)
    new_size = _checkpoint(world, account)
    assert 0 < old_size < new_size

    proof = c.get(f"/api/v1/audit/events/{event_id}/proof", headers=admin)
    assert proof.status_code == 200, proof.text
    body = proof.json()
    signed = open_checkpoint(
        body["checkpoint"].encode(), verifier, origin=origin_for(account)
    ).checkpoint
    assert signed.tree_size == new_size == body["treeSize"]
    verify_inclusion(
        leaf=base64.b64decode(body["leafHash"]),
        index=body["leafIndex"],
        tree_size=signed.tree_size,
        proof=[base64.b64decode(h) for h in body["proof"]],
        root=signed.root_hash,
    )
    at_old = c.get(
        f"/api/v1/audit/events/{event_id}/proof", params={"treeSize": old_size}, headers=admin
    )
    assert at_old.json()["treeSize"] == old_size
    assert error(c.get("/api/v1/audit/events/LVnothing/proof", headers=admin)) == (
        404,
        "NoSuchEntity",
    )

    consistency = c.get(
        "/api/v1/audit/consistency",
        params={"oldSize": old_size, "newSize": new_size},
        headers=admin,
    ).json()
    old = open_checkpoint(consistency["oldCheckpoint"].encode(), verifier).checkpoint
    new = open_checkpoint(consistency["newCheckpoint"].encode(), verifier).checkpoint
    verify_consistency(
        old_size=old.tree_size,
        new_size=new.tree_size,
        proof=[base64.b64decode(h) for h in consistency["proof"]],
        old_root=old.root_hash,
        new_root=new.root_hash,
    )
    assert error(
        c.get(
            "/api/v1/audit/consistency",
            params={"oldSize": new_size, "newSize": old_size},
            headers=admin,
        )
    ) == (400, "InvalidParameterValue")

    listed = c.get("/api/v1/audit/checkpoints", params={"limit": 1}, headers=admin).json()
    assert [cp["treeSize"] for cp in listed["checkpoints"]] == [old_size]
    assert listed["nextTreeSize"] == new_size
    following = c.get(
        "/api/v1/audit/checkpoints", params={"fromTreeSize": new_size}, headers=admin
    ).json()
    assert [cp["treeSize"] for cp in following["checkpoints"]] == [new_size]
    assert following["nextTreeSize"] is None
    for checkpoint in listed["checkpoints"] + following["checkpoints"]:
        open_checkpoint(checkpoint["note"].encode(), verifier, origin=origin_for(account))
