"""Multipart uploads over HTTP: streamed parts, complete, list, abort, and each denial."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lakevault.api import create_app
from lakevault.core import FixedClock, load_settings
from lakevault.db import Database
from lakevault.runtime import Platform, initialise
from tests.unit.api.conftest import World, error

MIN_PART = 64 * 1024
BASE = "/api/v1/buckets/mp-data"


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:
    """The API world of conftest.py, with a 64 KiB minimum part size."""
    settings = load_settings(
        {
            "LAKEVAULT_HOME": str(tmp_path),
            "LAKEVAULT_DATABASE_URL": database.url,
            "LAKEVAULT_STORAGE_MULTIPART_MIN_PART_BYTES": str(MIN_PART),
        }
    )
    clock = FixedClock()
    platform = Platform.build(settings, clock=clock)
    credentials = initialise(platform).credentials
    assert credentials is not None
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield World(client, platform, clock, credentials.password)


def _chunks(data: bytes, size: int = 50_000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _tenant(world: World, name: str = "mp") -> tuple[str, dict[str, str]]:
    account, headers, _ = world.new_tenant(name)
    created = world.client.post("/api/v1/buckets", json={"name": "mp-data"}, headers=headers)
    assert created.status_code == 201, created.text
    return account, headers


def _scoped_key(world: World, account: str, admin: dict[str, str], *actions: str) -> dict[str, str]:
    response = world.client.post(
        f"/api/v1/tenants/{account}/api-keys",
        json={"name": "k-" + os.urandom(4).hex(), "actions": list(actions), "resources": ["*"]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return {"X-Api-Key": response.json()["apiKey"]}


def _create(world: World, headers: dict[str, str], key: str = "big.bin") -> str:
    response = world.client.post(
        f"{BASE}/uploads",
        json={"key": key, "contentType": "application/x-big", "metadata": {"owner": "red"}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["key"] == key
    return str(response.json()["uploadId"])


def _put_part(
    world: World, headers: dict[str, str], upload_id: str, number: int, data: bytes
) -> Any:
    return world.client.put(
        f"{BASE}/uploads/{upload_id}/parts/{number}",
        content=_chunks(data),
        headers=headers | {"content-length": str(len(data))},
    )


def test_upload_in_parts_then_read_the_object_whole_and_by_range(world: World) -> None:
    _, headers = _tenant(world)
    upload_id = _create(world, headers)
    # The first part is over the 6 MB limit of non-streaming bodies: parts stream.
    pieces = [os.urandom(6_500_000), os.urandom(MIN_PART), os.urandom(777)]
    etags = []
    for number, data in enumerate(pieces, 1):
        put = _put_part(world, headers, upload_id, number, data)
        assert put.status_code == 200, put.text
        assert put.headers["etag"] == put.json()["etag"]
        etags.append(put.json()["etag"])
    listed = world.client.get(f"{BASE}/uploads/{upload_id}/parts", headers=headers).json()
    assert [p["partNumber"] for p in listed["parts"]] == [1, 2, 3]
    uploads = world.client.get(f"{BASE}/uploads", headers=headers).json()
    assert [u["uploadId"] for u in uploads["uploads"]] == [upload_id]
    assert world.client.get(f"{BASE}/objects/big.bin", headers=headers).status_code == 404

    done = world.client.post(
        f"{BASE}/uploads/{upload_id}/complete",
        json={"parts": [{"partNumber": n, "etag": e} for n, e in enumerate(etags, 1)]},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["etag"].endswith('-3"')
    whole = b"".join(pieces)
    got = world.client.get(f"{BASE}/objects/big.bin", headers=headers)
    assert got.content == whole
    assert got.headers["etag"] == done.json()["etag"]
    assert got.headers["content-type"] == "application/x-big"
    assert got.headers["x-amz-meta-owner"] == "red"
    first, last = 6_500_000 - 10, 6_500_000 + 200  # across the first boundary
    ranged = world.client.get(
        f"{BASE}/objects/big.bin", headers=headers | {"range": f"bytes={first}-{last}"}
    )
    assert ranged.status_code == 206 and ranged.content == whole[first : last + 1]
    assert world.client.get(f"{BASE}/uploads", headers=headers).json()["uploads"] == []


def test_abort_and_the_refusals_of_complete(world: World) -> None:
    _, headers = _tenant(world)
    upload_id = _create(world, headers)
    small = _put_part(world, headers, upload_id, 1, b"too small").json()["etag"]
    last = _put_part(world, headers, upload_id, 2, b"last").json()["etag"]
    complete = f"{BASE}/uploads/{upload_id}/complete"
    too_small = world.client.post(
        complete,
        json={"parts": [{"partNumber": 1, "etag": small}, {"partNumber": 2, "etag": last}]},
        headers=headers,
    )
    assert error(too_small) == (400, "EntityTooSmall")
    order = world.client.post(
        complete,
        json={"parts": [{"partNumber": 2, "etag": last}, {"partNumber": 1, "etag": small}]},
        headers=headers,
    )
    assert error(order) == (400, "InvalidPartOrder")
    wrong = world.client.post(
        complete, json={"parts": [{"partNumber": 1, "etag": '"00"'}]}, headers=headers
    )
    assert error(wrong) == (400, "InvalidPart")
    assert error(_put_part(world, headers, upload_id, 10_001, b"x")) == (400, "InvalidArgument")
    world.client.put(f"{BASE}/objects/big.bin", content=b"exists", headers=headers)
    exists = world.client.post(
        complete,
        json={"parts": [{"partNumber": 2, "etag": last}]},
        headers=headers | {"if-none-match": "*"},
    )
    assert error(exists) == (412, "PreconditionFailed")
    assert world.client.delete(f"{BASE}/uploads/{upload_id}", headers=headers).status_code == 204
    gone = world.client.post(
        complete, json={"parts": [{"partNumber": 2, "etag": last}]}, headers=headers
    )
    assert error(gone) == (404, "NoSuchUpload")
    assert error(world.client.delete(f"{BASE}/uploads/{upload_id}", headers=headers)) == (
        404,
        "NoSuchUpload",
    )
    assert world.client.get(f"{BASE}/objects/big.bin", headers=headers).content == b"exists"


def test_each_action_needs_its_own_permission(world: World) -> None:
    account, admin = _tenant(world)
    upload_id = _create(world, admin)
    etag = _put_part(world, admin, upload_id, 1, b"admin part").json()["etag"]
    reader = _scoped_key(world, account, admin, "s3:GetObject", "s3:ListBucket")
    denied = [
        world.client.post(f"{BASE}/uploads", json={"key": "k"}, headers=reader),
        _put_part(world, reader, upload_id, 2, b"x"),
        world.client.get(f"{BASE}/uploads/{upload_id}/parts", headers=reader),
        world.client.get(f"{BASE}/uploads", headers=reader),
        world.client.post(
            f"{BASE}/uploads/{upload_id}/complete",
            json={"parts": [{"partNumber": 1, "etag": etag}]},
            headers=reader,
        ),
        world.client.delete(f"{BASE}/uploads/{upload_id}", headers=reader),
    ]
    assert [error(r) for r in denied] == [(403, "AccessDenied")] * 6
    # A key for the parts and the listing of parts only: no abort, no listing of uploads.
    uploader = _scoped_key(world, account, admin, "s3:PutObject", "s3:ListMultipartUploadParts")
    assert _put_part(world, uploader, upload_id, 2, b"y").status_code == 200
    assert (
        world.client.get(f"{BASE}/uploads/{upload_id}/parts", headers=uploader).status_code == 200
    )
    assert error(world.client.get(f"{BASE}/uploads", headers=uploader)) == (403, "AccessDenied")
    assert error(world.client.delete(f"{BASE}/uploads/{upload_id}", headers=uploader)) == (
        403,
        "AccessDenied",
    )
    aborter = _scoped_key(world, account, admin, "s3:AbortMultipartUpload")
    lister = _scoped_key(world, account, admin, "s3:ListBucketMultipartUploads")
    assert world.client.get(f"{BASE}/uploads", headers=lister).status_code == 200
    assert world.client.delete(f"{BASE}/uploads/{upload_id}", headers=aborter).status_code == 204
    assert "admin part" not in world.audit_text(account)


def test_another_tenant_and_another_bucket_get_nothing(world: World) -> None:
    _, headers = _tenant(world)
    upload_id = _create(world, headers)
    etag = _put_part(world, headers, upload_id, 1, b"tenant a bytes").json()["etag"]
    _, other, _ = world.new_tenant("mp-other")
    assert world.client.post("/api/v1/buckets", json={"name": "mp-else"}, headers=other)
    assert error(_put_part(world, other, upload_id, 2, b"x")) == (403, "AccessDenied")
    assert error(world.client.get(f"{BASE}/uploads", headers=other)) == (403, "AccessDenied")
    assert error(world.client.get(f"{BASE}/uploads/{upload_id}/parts", headers=other)) == (
        403,
        "AccessDenied",
    )
    assert error(world.client.delete(f"{BASE}/uploads/{upload_id}", headers=other)) == (
        403,
        "AccessDenied",
    )
    # The upload id in another bucket (the other tenant's own) is unknown there.
    elsewhere = world.client.post(
        f"/api/v1/buckets/mp-else/uploads/{upload_id}/complete",
        json={"parts": [{"partNumber": 1, "etag": etag}]},
        headers=other,
    )
    assert error(elsewhere) == (404, "NoSuchUpload")
    parts = world.client.get(f"{BASE}/uploads/{upload_id}/parts", headers=headers).json()
    assert [p["partNumber"] for p in parts["parts"]] == [1]


def test_upload_part_copy_over_http(world: World) -> None:
    _, headers = _tenant(world)
    source = os.urandom(3 * MIN_PART)
    world.client.put(f"{BASE}/objects/source", content=source, headers=headers)
    upload_id = _create(world, headers)
    copied = world.client.put(
        f"{BASE}/uploads/{upload_id}/parts/1",
        headers=headers
        | {
            "x-amz-copy-source": "/mp-data/source",
            "x-amz-copy-source-range": f"bytes=0-{MIN_PART - 1}",
        },
    )
    assert copied.status_code == 200, copied.text
    tail = _put_part(world, headers, upload_id, 2, b"tail").json()
    done = world.client.post(
        f"{BASE}/uploads/{upload_id}/complete",
        json={
            "parts": [
                {"partNumber": 1, "etag": copied.json()["etag"]},
                {"partNumber": 2, "etag": tail["etag"]},
            ]
        },
        headers=headers,
    )
    assert done.status_code == 200, done.text
    got = world.client.get(f"{BASE}/objects/big.bin", headers=headers)
    assert got.content == source[:MIN_PART] + b"tail"
    missing = world.client.put(
        f"{BASE}/uploads/{upload_id}/parts/1",
        headers=headers | {"x-amz-copy-source": "/mp-data/nothing-here"},
    )
    assert error(missing) == (404, "NoSuchUpload")  # the upload was completed
