"""The storage API: buckets as JSON, objects as streamed bytes, S3's headers and errors."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator

from tests.unit.api.conftest import World, error


def _chunks(data: bytes, size: int = 100_000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _tenant_with_bucket(world: World, name: str = "api-data") -> dict[str, str]:
    _, headers, _ = world.new_tenant("storage-" + name)
    response = world.client.post("/api/v1/buckets", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["kmsKeyId"]
    return headers


def test_stream_an_object_up_and_down(world: World) -> None:
    headers = _tenant_with_bucket(world)
    data = os.urandom(3 * 1024 * 1024 + 11)
    url = "/api/v1/buckets/api-data/objects/dir/big.bin"
    put = world.client.put(
        url,
        content=_chunks(data),
        headers=headers | {"content-type": "application/x-big", "x-amz-meta-owner": "red"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["sha256"] == hashlib.sha256(data).hexdigest()
    got = world.client.get(url, headers=headers)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "application/x-big"
    assert got.headers["x-amz-meta-owner"] == "red"
    assert got.headers["etag"] == put.json()["etag"]
    assert got.headers["x-amz-server-side-encryption"] == "aws:kms"
    head = world.client.head(url, headers=headers)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    part = world.client.get(url, headers=headers | {"range": "bytes=100000-199999"})
    assert part.status_code == 206
    assert part.content == data[100000:200000]
    assert part.headers["content-range"] == f"bytes 100000-199999/{len(data)}"
    tail = world.client.get(url, headers=headers | {"range": "bytes=-5"})
    assert tail.content == data[-5:]
    past = world.client.get(url, headers=headers | {"range": f"bytes={len(data)}-"})
    assert error(past) == (416, "InvalidRange")


def test_conditional_requests(world: World) -> None:
    headers = _tenant_with_bucket(world)
    url = "/api/v1/buckets/api-data/objects/c"
    etag = world.client.put(url, content=b"v1", headers=headers).json()["etag"]
    assert world.client.get(url, headers=headers | {"if-none-match": etag}).status_code == 304
    assert error(world.client.get(url, headers=headers | {"if-match": '"x"'})) == (
        412,
        "PreconditionFailed",
    )
    created = world.client.put(url, content=b"v2", headers=headers | {"if-none-match": "*"})
    assert error(created) == (412, "PreconditionFailed")
    stamp = world.client.head(url, headers=headers).headers["last-modified"]
    assert world.client.get(url, headers=headers | {"if-modified-since": stamp}).status_code == 304


def test_listing_delete_copy_and_versioning(world: World) -> None:
    headers = _tenant_with_bucket(world)
    base = "/api/v1/buckets/api-data"
    for key in ["a/1", "a/2", "b/3", "top"]:
        assert world.client.put(f"{base}/objects/{key}", content=key.encode(), headers=headers)
    page = world.client.get(f"{base}/objects", params={"delimiter": "/"}, headers=headers).json()
    assert [o["key"] for o in page["contents"]] == ["top"]
    assert page["commonPrefixes"] == ["a/", "b/"]
    first = world.client.get(f"{base}/objects", params={"max-keys": 2}, headers=headers).json()
    assert first["isTruncated"] and first["keyCount"] == 2
    second = world.client.get(
        f"{base}/objects",
        params={"continuation-token": first["nextContinuationToken"]},
        headers=headers,
    ).json()
    assert [o["key"] for o in second["contents"]] == ["b/3", "top"]
    copied = world.client.put(
        f"{base}/objects/copy/of-top",
        headers=headers | {"x-amz-copy-source": "/api-data/top"},
    )
    assert copied.status_code == 200, copied.text
    assert world.client.get(f"{base}/objects/copy/of-top", headers=headers).content == b"top"
    assert world.client.put(
        f"{base}/versioning", json={"status": "Enabled"}, headers=headers
    ).json() == {"status": "Enabled"}
    v1 = world.client.put(f"{base}/objects/v", content=b"one", headers=headers)
    world.client.put(f"{base}/objects/v", content=b"two", headers=headers)
    deleted = world.client.delete(f"{base}/objects/v", headers=headers)
    assert deleted.status_code == 204 and deleted.headers["x-amz-delete-marker"] == "true"
    assert error(world.client.get(f"{base}/objects/v", headers=headers)) == (404, "NoSuchKey")
    old = world.client.get(
        f"{base}/objects/v", params={"versionId": v1.headers["x-amz-version-id"]}, headers=headers
    )
    assert old.content == b"one"
    full = world.client.delete(base, headers=headers)
    assert error(full) == (409, "BucketNotEmpty")


def test_bad_input_gets_precise_errors(world: World) -> None:
    headers = _tenant_with_bucket(world)
    base = "/api/v1/buckets/api-data/objects"
    dots = world.client.put(f"{base}/a/%2E%2E/b", content=b"x", headers=headers)
    assert error(dots) == (400, "InvalidObjectName")
    assert error(world.client.put(f"{base}/" + "k" * 1025, content=b"x", headers=headers)) == (
        400,
        "KeyTooLongError",
    )
    assert error(world.client.put(f"{base}/tab%09key", content=b"x", headers=headers)) == (
        400,
        "InvalidObjectName",
    )
    bad_sum = base64.b64encode(b"\0" * 32).decode()
    wrong = world.client.put(
        f"{base}/sum", content=b"data", headers=headers | {"x-amz-checksum-sha256": bad_sum}
    )
    assert error(wrong) == (400, "BadDigest")
    assert error(world.client.get(f"{base}/sum", headers=headers)) == (404, "NoSuchKey")
    assert error(
        world.client.post("/api/v1/buckets", json={"name": "Bad_Name"}, headers=headers)
    ) == (400, "InvalidBucketName")
    huge = world.client.put(
        "/api/v1/buckets/api-data/policy", content=b" " * (6 * 1024 * 1024 + 1), headers=headers
    )
    assert error(huge) == (413, "EntityTooLarge")
    assert error(world.client.get("/api/v1/buckets/nope/objects/x", headers=headers)) == (
        404,
        "NoSuchBucket",
    )


def test_another_tenant_is_denied_and_learns_nothing(world: World) -> None:
    headers = _tenant_with_bucket(world)
    world.client.put("/api/v1/buckets/api-data/objects/s", content=b"secret", headers=headers)
    _, other, _ = world.new_tenant("storage-other")
    url = "/api/v1/buckets/api-data/objects/s"
    denied = world.client.get(url, headers=other)
    assert error(denied) == (403, "AccessDenied")
    assert b"secret" not in denied.content
    assert error(world.client.put(url, content=b"x", headers=other)) == (403, "AccessDenied")
    assert error(world.client.delete("/api/v1/buckets/api-data", headers=other)) == (
        403,
        "AccessDenied",
    )
    assert world.client.get(url, headers=headers).content == b"secret"
    anonymous = world.client.get(url)
    assert error(anonymous) == (403, "AccessDenied")
