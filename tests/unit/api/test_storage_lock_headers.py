"""``x-amz-object-lock-*`` on GET and HEAD through the HTTP API (docs/decisions/0183)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from tests.unit.api.conftest import World

LOCK_HEADERS = (
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
)


def _locked(world: World, name: str) -> tuple[str, dict[str, str]]:
    account, headers, _ = world.new_tenant("lockhdr-" + name)
    c = world.client
    assert (
        c.post(
            "/api/v1/buckets", json={"name": name, "objectLockEnabled": True}, headers=headers
        ).status_code
        == 201
    )
    put = c.put(
        f"/api/v1/buckets/{name}/objects/doc",
        content=b"held",
        headers=headers
        | {
            "x-amz-object-lock-mode": "GOVERNANCE",
            "x-amz-object-lock-retain-until-date": "2031-02-03T04:05:06Z",
            "x-amz-object-lock-legal-hold": "ON",
        },
    )
    assert put.status_code == 200, put.text
    return account, headers


def test_get_and_head_show_the_lock_to_an_allowed_caller(world: World) -> None:
    _, headers = _locked(world, "lock-hdr-ok")
    url = "/api/v1/buckets/lock-hdr-ok/objects/doc"
    for response in (
        world.client.head(url, headers=headers),
        world.client.get(url, headers=headers),
    ):
        assert response.status_code == 200
        assert response.headers["x-amz-object-lock-mode"] == "GOVERNANCE"
        assert response.headers["x-amz-object-lock-retain-until-date"] == "2031-02-03T04:05:06Z"
        assert response.headers["x-amz-object-lock-legal-hold"] == "ON"
    presign = world.client.post(
        "/api/v1/buckets/lock-hdr-ok/presign",
        json={"method": "GET", "key": "doc", "expiresIn": 600},
        headers=headers,
    )
    assert presign.status_code == 201, presign.text
    parts = urlsplit(presign.json()["url"])
    through_url = world.client.get(f"{parts.path}?{parts.query}")
    assert through_url.content == b"held"
    assert through_url.headers["x-amz-object-lock-legal-hold"] == "ON"


def test_a_denied_caller_gets_the_object_without_lock_headers(world: World) -> None:
    account, headers = _locked(world, "lock-hdr-no")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "HideLocks",
                "Effect": "Deny",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["s3:GetObjectRetention", "s3:GetObjectLegalHold"],
                "Resource": "arn:aws:s3:::lock-hdr-no/*",
            }
        ],
    }
    assert (
        world.client.put(
            "/api/v1/buckets/lock-hdr-no/policy", content=json.dumps(policy), headers=headers
        ).status_code
        == 204
    )
    url = "/api/v1/buckets/lock-hdr-no/objects/doc"
    for response in (
        world.client.head(url, headers=headers),
        world.client.get(url, headers=headers),
    ):
        assert response.status_code == 200
        assert not any(name in response.headers for name in LOCK_HEADERS)
    assert world.client.get(url, headers=headers).content == b"held"
    # The explicit retention read is refused the same way; the denials are in the audit log.
    refused = world.client.get("/api/v1/buckets/lock-hdr-no/retention/doc", headers=headers)
    assert refused.status_code == 403
    assert "HideLocks" in world.audit_text(account)


def test_objects_without_a_lock_have_no_lock_headers(world: World) -> None:
    _, headers, _ = world.new_tenant("lockhdr-plain")
    assert world.client.post("/api/v1/buckets", json={"name": "lock-hdr-plain"}, headers=headers)
    url = "/api/v1/buckets/lock-hdr-plain/objects/doc"
    assert world.client.put(url, content=b"x", headers=headers).status_code == 200
    response = world.client.head(url, headers=headers)
    assert response.status_code == 200
    assert not any(name in response.headers for name in LOCK_HEADERS)
