"""``HEAD`` through a server-minted GET URL (docs/decisions/0184): the GET's metadata, decided
as the signer, never consuming a single-use URL; every refusal of a GET refuses it too."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lakevault.db import models
from tests.unit.api.conftest import World
from tests.unit.api.test_storage_presign_server import (
    BUCKET,
    _grant,
    _mint_sigv4,
    _target,
    _url,
    _user_with_password,
)

Tenant = tuple[str, dict[str, str]]


@pytest.fixture
def tenant(world: World) -> Tenant:
    account, admin, _ = world.new_tenant("presign-head")
    assert world.client.post("/api/v1/buckets", json={"name": BUCKET}, headers=admin)
    put = world.client.put(
        f"/api/v1/buckets/{BUCKET}/objects/report.csv", content=b"a,b\n1,2\n", headers=admin
    )
    assert put.status_code == 200
    return account, admin


def _used_at(world: World) -> list[object]:
    with world.platform.database.read_session() as session:
        return [row.used_at for row in session.scalars(select(models.PresignedUrl))]


def test_head_with_a_get_url_answers_the_objects_headers(world: World, tenant: Tenant) -> None:
    _, admin = tenant
    url = _url(world, admin, method="GET", key="report.csv", expiresIn=60)
    head = world.client.head(url)
    assert head.status_code == 200
    assert head.headers["content-length"] == "8"
    assert head.headers["etag"].startswith('"')
    assert head.headers["x-amz-server-side-encryption"] == "aws:kms"
    assert head.content == b""
    assert world.client.get(url).content == b"a,b\n1,2\n"


def test_head_never_consumes_a_single_use_url(world: World, tenant: Tenant) -> None:
    _, admin = tenant
    url = _url(world, admin, method="GET", key="report.csv", singleUse=True)
    for _ in range(3):
        assert world.client.head(url).status_code == 200
    assert _used_at(world) == [None]
    assert world.client.get(url).content == b"a,b\n1,2\n"
    assert _used_at(world) != [None]
    # Once the GET has used it, a HEAD is refused like a second GET.
    assert world.client.head(url).status_code == 403
    assert world.client.get(url).status_code == 403


def test_head_with_a_put_url_is_refused(world: World, tenant: Tenant) -> None:
    _, admin = tenant
    url = _url(world, admin, method="PUT", key="report.csv", expiresIn=60, singleUse=True)
    refused = world.client.head(url)
    assert refused.status_code == 403
    assert _used_at(world) == [None]


def test_head_with_an_expired_or_tampered_url_is_refused(world: World, tenant: Tenant) -> None:
    _, admin = tenant
    url = _url(world, admin, method="GET", key="report.csv", expiresIn=60)
    tampered = url.replace("report.csv", "other.csv")
    assert world.client.head(tampered).status_code == 403
    world.clock.advance(seconds=61)
    assert world.client.head(url).status_code == 403


def test_head_is_decided_as_the_signer_now(world: World, tenant: Tenant) -> None:
    account, admin = tenant
    reader = _user_with_password(world, account, admin, "reader", _grant(BUCKET, "s3:GetObject"))
    url = _target(
        _mint_sigv4(world, reader, method="GET", key="report.csv", expiresIn=3600).json()["url"]
    )
    assert world.client.head(url).status_code == 200
    base = f"/api/v1/tenants/{account}/users/reader"
    assert world.client.delete(f"{base}/policies/p", headers=admin).status_code == 204
    assert world.client.head(url).status_code == 403
    events = world.platform.audit.read(account, limit=100000)
    denials = [
        e
        for e in events
        if e.get("errorCode") == "AccessDenied" and e.get("eventName") == "GetObject"
    ]
    assert denials and "reader" in json.dumps(denials[-1]["userIdentity"])
