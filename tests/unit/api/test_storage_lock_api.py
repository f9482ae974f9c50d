"""Object lock, lifecycle and ListObjectVersions through the HTTP API."""

from __future__ import annotations

from datetime import timedelta

from lakevault import storage
from tests.unit.api.conftest import World, error

DAY = 86400


def _tenant(world: World, name: str) -> dict[str, str]:
    _, headers, _ = world.new_tenant("lock-" + name)
    return headers


def _locked_bucket(
    world: World, headers: dict[str, str], name: str, mode: str = "COMPLIANCE"
) -> None:
    created = world.client.post(
        "/api/v1/buckets", json={"name": name, "objectLockEnabled": True}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["versioning"] == "Enabled"
    config = world.client.put(
        f"/api/v1/buckets/{name}/object-lock",
        json={
            "objectLockEnabled": "Enabled",
            "rule": {"defaultRetention": {"mode": mode, "days": 30}},
        },
        headers=headers,
    )
    assert config.status_code == 200, config.text


def test_compliance_bucket_refuses_every_deletion(world: World) -> None:
    headers = _tenant(world, "a")
    _locked_bucket(world, headers, "api-vault")
    got = world.client.get("/api/v1/buckets/api-vault/object-lock", headers=headers)
    assert got.json() == {
        "objectLockEnabled": "Enabled",
        "rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 30}},
    }
    put = world.client.put(
        "/api/v1/buckets/api-vault/objects/log.json", content=b"{}", headers=headers
    )
    version = put.json()["versionId"]
    retention = world.client.get("/api/v1/buckets/api-vault/retention/log.json", headers=headers)
    assert retention.json()["mode"] == "COMPLIANCE"
    url = f"/api/v1/buckets/api-vault/objects/log.json?versionId={version}"
    for who in (headers, world.platform_admin()):
        refused = world.client.delete(
            url, headers=who | {"x-amz-bypass-governance-retention": "true"}
        )
        assert error(refused) == (403, "AccessDenied")
    refused = world.client.delete(url, headers=headers)
    assert "WORM protected" in refused.json()["error"]["message"]
    shorten = world.client.put(
        "/api/v1/buckets/api-vault/retention/log.json",
        json={"mode": "COMPLIANCE", "retainUntilDate": "2026-01-02T00:00:00Z"},
        headers=headers | {"x-amz-bypass-governance-retention": "true"},
    )
    assert error(shorten) in ((403, "AccessDenied"), (400, "InvalidArgument"))
    remove = world.client.put(
        "/api/v1/buckets/api-vault/retention/log.json",
        json={},
        headers=headers | {"x-amz-bypass-governance-retention": "true"},
    )
    assert error(remove) == (403, "AccessDenied")
    suspend = world.client.put(
        "/api/v1/buckets/api-vault/versioning", json={"status": "Suspended"}, headers=headers
    )
    assert error(suspend) == (409, "InvalidBucketState")
    assert error(world.client.delete("/api/v1/buckets/api-vault", headers=headers)) == (
        409,
        "BucketNotEmpty",
    )
    marker = world.client.delete("/api/v1/buckets/api-vault/objects/log.json", headers=headers)
    assert marker.status_code == 204 and marker.headers["x-amz-delete-marker"] == "true"
    assert world.client.get(url, headers=headers).content == b"{}"


def test_governance_bypass_needs_the_header(world: World) -> None:
    headers = _tenant(world, "b")
    _locked_bucket(world, headers, "api-gov", mode="GOVERNANCE")
    version = world.client.put(
        "/api/v1/buckets/api-gov/objects/doc", content=b"x", headers=headers
    ).json()["versionId"]
    url = f"/api/v1/buckets/api-gov/objects/doc?versionId={version}"
    assert error(world.client.delete(url, headers=headers)) == (403, "AccessDenied")
    bad = world.client.delete(url, headers=headers | {"x-amz-bypass-governance-retention": "maybe"})
    assert error(bad) == (400, "InvalidArgument")
    done = world.client.delete(url, headers=headers | {"x-amz-bypass-governance-retention": "true"})
    assert done.status_code == 204


def test_lock_headers_on_put_and_legal_hold(world: World) -> None:
    headers = _tenant(world, "c")
    created = world.client.post(
        "/api/v1/buckets",
        json={"name": "api-held"},
        headers=headers | {"x-amz-bucket-object-lock-enabled": "true"},
    )
    assert created.status_code == 201 and created.json()["versioning"] == "Enabled"
    until = (world.clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    put = world.client.put(
        "/api/v1/buckets/api-held/objects/doc",
        content=b"x",
        headers=headers
        | {
            "x-amz-object-lock-mode": "GOVERNANCE",
            "x-amz-object-lock-retain-until-date": until,
            "x-amz-object-lock-legal-hold": "ON",
        },
    )
    assert put.status_code == 200, put.text
    retention = world.client.get("/api/v1/buckets/api-held/retention/doc", headers=headers)
    assert retention.json() == {"mode": "GOVERNANCE", "retainUntilDate": until}
    hold = world.client.get("/api/v1/buckets/api-held/legal-hold/doc", headers=headers)
    assert hold.json() == {"status": "ON"}
    url = f"/api/v1/buckets/api-held/objects/doc?versionId={put.json()['versionId']}"
    held = world.client.delete(url, headers=headers | {"x-amz-bypass-governance-retention": "true"})
    assert error(held) == (403, "AccessDenied")
    assert "legal hold" in held.json()["error"]["message"]
    off = world.client.put(
        "/api/v1/buckets/api-held/legal-hold/doc", json={"status": "OFF"}, headers=headers
    )
    assert off.json()["legalHold"] == "OFF"
    done = world.client.delete(url, headers=headers | {"x-amz-bypass-governance-retention": "true"})
    assert done.status_code == 204
    bad = world.client.put(
        "/api/v1/buckets/api-held/objects/bad",
        content=b"x",
        headers=headers
        | {"x-amz-object-lock-mode": "FOREVER", "x-amz-object-lock-retain-until-date": until},
    )
    assert error(bad) == (400, "InvalidArgument")
    half = world.client.put(
        "/api/v1/buckets/api-held/objects/bad",
        content=b"x",
        headers=headers | {"x-amz-object-lock-mode": "GOVERNANCE"},
    )
    assert error(half) == (400, "InvalidRequest")


def test_object_lock_on_an_unversioned_bucket_is_refused(world: World) -> None:
    headers = _tenant(world, "d")
    world.client.post("/api/v1/buckets", json={"name": "api-plain"}, headers=headers)
    refused = world.client.put(
        "/api/v1/buckets/api-plain/object-lock",
        json={"objectLockEnabled": "Enabled"},
        headers=headers,
    )
    assert error(refused) == (409, "InvalidBucketState")
    missing = world.client.get("/api/v1/buckets/api-plain/object-lock", headers=headers)
    assert error(missing) == (404, "ObjectLockConfigurationNotFoundError")
    put = world.client.put(
        "/api/v1/buckets/api-plain/objects/doc",
        content=b"x",
        headers=headers | {"x-amz-object-lock-legal-hold": "ON"},
    )
    assert error(put) == (400, "InvalidRequest")


def test_another_tenant_cannot_read_or_change_locks(world: World) -> None:
    owner = _tenant(world, "owner")
    other = _tenant(world, "other")
    _locked_bucket(world, owner, "api-owned", mode="GOVERNANCE")
    world.client.put("/api/v1/buckets/api-owned/objects/doc", content=b"x", headers=owner)
    for method, url, body in (
        ("GET", "/api/v1/buckets/api-owned/object-lock", None),
        ("PUT", "/api/v1/buckets/api-owned/object-lock", {"objectLockEnabled": "Enabled"}),
        ("GET", "/api/v1/buckets/api-owned/retention/doc", None),
        ("PUT", "/api/v1/buckets/api-owned/retention/doc", {}),
        ("PUT", "/api/v1/buckets/api-owned/legal-hold/doc", {"status": "ON"}),
        ("GET", "/api/v1/buckets/api-owned/lifecycle", None),
        ("DELETE", "/api/v1/buckets/api-owned/lifecycle", None),
        ("GET", "/api/v1/buckets/api-owned/versions", None),
    ):
        response = world.client.request(
            method,
            url,
            json=body,
            headers=other | {"x-amz-bypass-governance-retention": "true"},
        )
        assert error(response) == (403, "AccessDenied"), (method, url)


def test_lifecycle_and_versions(world: World) -> None:
    account, headers, password = world.new_tenant("lock-e")
    world.client.post("/api/v1/buckets", json={"name": "api-lc"}, headers=headers)
    world.client.put(
        "/api/v1/buckets/api-lc/versioning", json={"status": "Enabled"}, headers=headers
    )
    missing = world.client.get("/api/v1/buckets/api-lc/lifecycle", headers=headers)
    assert error(missing) == (404, "NoSuchLifecycleConfiguration")
    rules = {
        "Rules": [
            {
                "ID": "tmp",
                "Status": "Enabled",
                "Filter": {"Prefix": "tmp/"},
                "Expiration": {"Days": 1},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            }
        ]
    }
    put = world.client.put("/api/v1/buckets/api-lc/lifecycle", json=rules, headers=headers)
    assert put.status_code == 200, put.text
    assert world.client.get("/api/v1/buckets/api-lc/lifecycle", headers=headers).json() == {
        "Rules": [
            {
                "ID": "tmp",
                "Status": "Enabled",
                "Filter": {"Prefix": "tmp/"},
                "Expiration": {"Days": 1},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            }
        ]
    }
    bad = world.client.put("/api/v1/buckets/api-lc/lifecycle", content=b"not json", headers=headers)
    assert error(bad) == (400, "MalformedXML")
    world.client.put("/api/v1/buckets/api-lc/objects/tmp/a", content=b"1", headers=headers)
    world.client.put("/api/v1/buckets/api-lc/objects/keep", content=b"1", headers=headers)
    world.clock.advance(seconds=2 * DAY)
    report = world.platform.storage.lifecycle_runner().run()
    headers = world.sign_in(account, "admin", password)  # the clock moved past the token
    assert report.delete_markers_added == 1
    response = world.client.get("/api/v1/buckets/api-lc/versions", headers=headers)
    assert response.status_code == 200, response.text
    listing = response.json()
    assert [v["key"] for v in listing["versions"]] == ["keep", "tmp/a"]
    assert [m["key"] for m in listing["deleteMarkers"]] == ["tmp/a"]
    assert listing["deleteMarkers"][0]["isLatest"] is True
    world.clock.advance(seconds=2 * DAY)
    world.platform.storage.lifecycle_runner().run()
    headers = world.sign_in(account, "admin", password)
    listing = world.client.get(
        "/api/v1/buckets/api-lc/versions?prefix=tmp/", headers=headers
    ).json()
    assert listing["versions"] == []
    paged = world.client.get("/api/v1/buckets/api-lc/versions?max-keys=1", headers=headers).json()
    assert paged["isTruncated"] is True and paged["nextKeyMarker"] == "keep"
    assert "LifecycleExpiration" in world.audit_text(account)
    deleted = world.client.delete("/api/v1/buckets/api-lc/lifecycle", headers=headers)
    assert deleted.status_code == 204


def test_the_lifecycle_job_runs_on_the_platform_queue(world: World) -> None:
    account, headers, password = world.new_tenant("lock-job")
    world.client.post("/api/v1/buckets", json={"name": "api-job"}, headers=headers)
    world.client.put(
        "/api/v1/buckets/api-job/lifecycle",
        json={
            "Rules": [{"ID": "all", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]
        },
        headers=headers,
    )
    world.client.put("/api/v1/buckets/api-job/objects/old", content=b"1", headers=headers)
    world.clock.advance(seconds=2 * DAY)
    with world.platform.database.session() as session:
        world.platform.jobs.enqueue(session, storage.LIFECYCLE_TASK, {})
    world.platform.jobs.run_worker(name="t", until_idle=True)
    headers = world.sign_in(account, "admin", password)
    listing = world.client.get("/api/v1/buckets/api-job/objects", headers=headers).json()
    assert listing["contents"] == []
    assert "LifecycleExpiration" in world.audit_text(account)


def test_copy_with_lock_headers(world: World) -> None:
    headers = _tenant(world, "copy")
    _locked_bucket(world, headers, "api-copy-target", mode="GOVERNANCE")
    world.client.post("/api/v1/buckets", json={"name": "api-copy-source"}, headers=headers)
    world.client.put("/api/v1/buckets/api-copy-source/objects/doc", content=b"x", headers=headers)
    copied = world.client.put(
        "/api/v1/buckets/api-copy-target/objects/held",
        headers=headers
        | {
            "x-amz-copy-source": "/api-copy-source/doc",
            "x-amz-object-lock-legal-hold": "ON",
        },
    )
    assert copied.status_code == 200, copied.text
    hold = world.client.get("/api/v1/buckets/api-copy-target/legal-hold/held", headers=headers)
    assert hold.json() == {"status": "ON"}
    retention = world.client.get("/api/v1/buckets/api-copy-target/retention/held", headers=headers)
    assert retention.json()["mode"] == "GOVERNANCE"
