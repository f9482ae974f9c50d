"""Block-public-access exceptions: only while the tenant's organization allows public buckets
(set by the platform administrator); anonymous callers get exactly what a public policy grants,
each access audited; withdrawing the allowance closes every public bucket at once."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from lakevault.core import PLATFORM_ACCOUNT_ID
from lakevault.db import models
from tests.unit.api.conftest import World, error

PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::{bucket}/*",
        }
    ],
}


def _policy(bucket: str) -> str:
    return json.dumps(PUBLIC_READ).replace("{bucket}", bucket)


def _organization(world: World, name: str) -> str:
    created = world.client.post(
        "/api/v1/organizations", json={"name": name}, headers=world.platform_admin()
    )
    assert created.status_code == 201, created.text
    return str(created.json()["organizationId"])


def _tenant_in(world: World, name: str, organization_id: str | None) -> tuple[str, dict[str, str]]:
    body: dict[str, Any] = {"name": name}
    if organization_id is not None:
        body["organizationId"] = organization_id
    response = world.client.post("/api/v1/tenants", json=body, headers=world.platform_admin())
    assert response.status_code == 201, response.text
    account = response.json()["tenant"]["accountId"]
    return account, world.sign_in(account, "admin", response.json()["adminPassword"])


def _allow(world: World, organization_id: str, allowed: bool) -> Any:
    return world.client.put(
        f"/api/v1/organizations/{organization_id}/public-buckets",
        json={"allowed": allowed},
        headers=world.platform_admin(),
    )


def _block(world: World, headers: dict[str, str], bucket: str, block: bool) -> Any:
    return world.client.put(
        f"/api/v1/buckets/{bucket}/public-access-block",
        json={"blockPublicAccess": block},
        headers=headers,
    )


def _bucket(world: World, admin: dict[str, str], name: str) -> None:
    assert (
        world.client.post("/api/v1/buckets", json={"name": name}, headers=admin).status_code == 201
    )
    put = world.client.put(
        f"/api/v1/buckets/{name}/objects/index.html", content=b"<p>hi</p>", headers=admin
    )
    assert put.status_code == 200


def test_without_the_allowance_a_bucket_cannot_be_made_public(world: World) -> None:
    organization = _organization(world, "closed-org")
    _, admin = _tenant_in(world, "closed-tenant", organization)
    _bucket(world, admin, "closed-site")
    refused = _block(world, admin, "closed-site", False)
    assert error(refused) == (403, "AccessDenied")
    assert "organization does not allow public buckets" in refused.json()["error"]["message"]
    policy = world.client.put(
        "/api/v1/buckets/closed-site/policy", content=_policy("closed-site"), headers=admin
    )
    assert error(policy) == (403, "AccessDenied")
    assert "BlockPublicPolicy" in policy.json()["error"]["message"]
    assert error(world.client.get("/api/v1/buckets/closed-site/objects/index.html")) == (
        403,
        "AccessDenied",
    )
    shown = world.client.get(
        "/api/v1/buckets/closed-site/public-access-block", headers=admin
    ).json()
    assert shown == {
        "bucket": "closed-site",
        "blockPublicAccess": True,
        "organizationAllowsPublicBuckets": False,
    }
    # A tenant outside any organization cannot either.
    _, loner = _tenant_in(world, "loner", None)
    _bucket(world, loner, "loner-site")
    assert error(_block(world, loner, "loner-site", False)) == (403, "AccessDenied")


def test_only_the_platform_administrator_sets_the_allowance(world: World) -> None:
    organization = _organization(world, "self-service")
    _, admin = _tenant_in(world, "self-tenant", organization)
    denied = world.client.put(
        f"/api/v1/organizations/{organization}/public-buckets",
        json={"allowed": True},
        headers=admin,
    )
    assert error(denied) == (403, "AccessDenied")
    assert error(
        world.client.get(f"/api/v1/organizations/{organization}/public-buckets", headers=admin)
    ) == (403, "AccessDenied")
    assert _allow(world, "o-doesnotexist", True).status_code == 404
    with world.platform.database.read_session() as session:
        assert session.scalars(select(models.OrganizationPublicBuckets)).all() == []

    # The administrator's change is recorded against the organization, typed as one.
    assert _allow(world, organization, True).status_code == 200
    changes = [
        e
        for e in world.platform.audit.read(PLATFORM_ACCOUNT_ID, limit=100000)
        if e["eventName"] == "PutOrganizationPublicBuckets"
        and e.get("additionalEventData", {}).get("stateChange")
    ]
    assert [r["type"] for r in changes[-1]["resources"]] == ["Organization"]


def test_with_the_allowance_anonymous_callers_get_exactly_what_the_policy_grants(
    world: World,
) -> None:
    organization = _organization(world, "open-org")
    account, admin = _tenant_in(world, "open-tenant", organization)
    _bucket(world, admin, "open-site")
    assert _allow(world, organization, True).json() == {
        "organizationId": organization,
        "allowed": True,
    }
    opened = _block(world, admin, "open-site", False)
    assert opened.status_code == 200, opened.text
    assert opened.json()["blockPublicAccess"] is False
    policy = world.client.put(
        "/api/v1/buckets/open-site/policy", content=_policy("open-site"), headers=admin
    )
    assert policy.status_code == 204, policy.text
    got = world.client.get("/api/v1/buckets/open-site/objects/index.html")
    assert got.status_code == 200 and got.content == b"<p>hi</p>"
    # Only GetObject was granted: no anonymous PUT, DELETE or listing.
    put = world.client.put("/api/v1/buckets/open-site/objects/index.html", content=b"defaced")
    assert error(put) == (403, "AccessDenied")
    assert error(world.client.delete("/api/v1/buckets/open-site/objects/index.html")) == (
        403,
        "AccessDenied",
    )
    assert error(world.client.get("/api/v1/buckets/open-site/objects")) == (403, "AccessDenied")
    assert world.client.get("/api/v1/buckets/open-site/objects/index.html").content == b"<p>hi</p>"
    # Every anonymous access is in the bucket owner's audit log, allowed or denied.
    events = world.platform.audit.read(account, limit=100000)
    anonymous = [e for e in events if e.get("userIdentity", {}).get("type") == "Anonymous"]
    names = {(e["eventName"], e.get("errorCode")) for e in anonymous}
    assert ("GetObject", None) in names
    assert ("PutObject", "AccessDenied") in names
    assert ("ListBucket", "AccessDenied") in names


def test_withdrawing_the_allowance_closes_public_buckets_at_once(world: World) -> None:
    organization = _organization(world, "was-open")
    _, admin = _tenant_in(world, "was-open-tenant", organization)
    _bucket(world, admin, "was-open-site")
    assert _allow(world, organization, True).status_code == 200
    assert _block(world, admin, "was-open-site", False).status_code == 200
    assert (
        world.client.put(
            "/api/v1/buckets/was-open-site/policy", content=_policy("was-open-site"), headers=admin
        ).status_code
        == 204
    )
    url = "/api/v1/buckets/was-open-site/objects/index.html"
    assert world.client.get(url).status_code == 200
    assert _allow(world, organization, False).json()["allowed"] is False
    assert error(world.client.get(url)) == (403, "AccessDenied")
    shown = world.client.get(
        "/api/v1/buckets/was-open-site/public-access-block", headers=admin
    ).json()
    assert shown["blockPublicAccess"] is True and shown["organizationAllowsPublicBuckets"] is False
    assert error(_block(world, admin, "was-open-site", False)) == (403, "AccessDenied")
    # The owner's own access is unchanged.
    assert world.client.get(url, headers=admin).status_code == 200


def test_turning_block_public_access_back_on_ignores_a_stored_public_policy(world: World) -> None:
    organization = _organization(world, "toggle-org")
    _, admin = _tenant_in(world, "toggle-tenant", organization)
    _bucket(world, admin, "toggle-site")
    assert _allow(world, organization, True).status_code == 200
    assert _block(world, admin, "toggle-site", False).status_code == 200
    assert (
        world.client.put(
            "/api/v1/buckets/toggle-site/policy", content=_policy("toggle-site"), headers=admin
        ).status_code
        == 204
    )
    assert world.client.get("/api/v1/buckets/toggle-site/objects/index.html").status_code == 200
    assert _block(world, admin, "toggle-site", True).status_code == 200
    assert error(world.client.get("/api/v1/buckets/toggle-site/objects/index.html")) == (
        403,
        "AccessDenied",
    )
    assert world.client.get("/api/v1/buckets/toggle-site/policy", headers=admin).status_code == 200


def test_another_tenant_cannot_open_a_bucket_or_use_the_allowance(world: World) -> None:
    organization = _organization(world, "shared-org")
    _, owner = _tenant_in(world, "owner-tenant", organization)
    _, neighbour = _tenant_in(world, "neighbour-tenant", organization)
    other_org = _organization(world, "other-org")
    _, stranger = _tenant_in(world, "stranger-tenant", other_org)
    _bucket(world, owner, "owner-site")
    _bucket(world, stranger, "stranger-site")
    assert _allow(world, organization, True).status_code == 200
    # Another tenant, even in the same organization, cannot change the owner's bucket.
    assert error(_block(world, neighbour, "owner-site", False)) == (403, "AccessDenied")
    # The allowance of one organization does not reach another's tenants.
    assert error(_block(world, stranger, "stranger-site", False)) == (403, "AccessDenied")
    with world.platform.database.read_session() as session:
        row = session.get(models.Bucket, "owner-site")
        assert row is not None and row.block_public_access is True
