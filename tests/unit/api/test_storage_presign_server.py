"""Server-minted pre-signed URLs: permission-checked when minted and again when used; expiry at
most 7 days; PUT conditions (content type, length range) and single use; every denial."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from lakevault import identity, storage
from lakevault.db import models
from tests.unit.api.conftest import World, error

BUCKET = "presign-data"


def _grant(bucket: str, *actions: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": list(actions), "Resource": f"arn:aws:s3:::{bucket}/*"}
        ],
    }


def _target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _mint(world: World, headers: dict[str, str], bucket: str = BUCKET, **body: Any) -> Any:
    return world.client.post(f"/api/v1/buckets/{bucket}/presign", json=body, headers=headers)


def _url(world: World, headers: dict[str, str], bucket: str = BUCKET, **body: Any) -> str:
    response = _mint(world, headers, bucket, **body)
    assert response.status_code == 201, response.text
    return _target(response.json()["url"])


def _object_exists(world: World, admin: dict[str, str], key: str, bucket: str = BUCKET) -> bool:
    return (
        world.client.head(f"/api/v1/buckets/{bucket}/objects/{key}", headers=admin).status_code
        == 200
    )


@pytest.fixture
def tenant(world: World) -> tuple[str, dict[str, str]]:
    account, admin, _ = world.new_tenant("presign-server")
    assert (
        world.client.post("/api/v1/buckets", json={"name": BUCKET}, headers=admin).status_code
        == 201
    )
    put = world.client.put(
        f"/api/v1/buckets/{BUCKET}/objects/report.csv", content=b"a,b\n1,2\n", headers=admin
    )
    assert put.status_code == 200
    return account, admin


def _user_with_password(
    world: World, account: str, admin: dict[str, str], name: str, policy: dict[str, Any]
) -> dict[str, str]:
    base = f"/api/v1/tenants/{account}"
    c = world.client
    assert c.post(f"{base}/users", json={"userName": name}, headers=admin).status_code == 201
    assert (
        c.put(
            f"{base}/users/{name}/policies/p", json={"policyDocument": policy}, headers=admin
        ).status_code
        == 204
    )
    created = c.post(f"{base}/users/{name}/access-keys", headers=admin).json()
    return {"key": created["accessKeyId"], "secret": created["secretAccessKey"]}


def _sigv4_headers(
    world: World, method: str, target: str, key: dict[str, str], body: bytes
) -> dict[str, str]:
    request = identity.SigV4Request.from_target(method, target, [("host", "testserver")], body)
    signed = identity.sign_request(
        request,
        access_key_id=key["key"],
        secret_access_key=key["secret"],
        region="local",
        service="lakevault",
        now=world.clock.now(),
    )
    return {name: value for name, value in signed.request.headers if name.lower() != "host"}


def _mint_sigv4(world: World, credential: dict[str, str], **body: Any) -> Any:
    raw = json.dumps(body).encode()
    target = f"/api/v1/buckets/{BUCKET}/presign"
    headers = _sigv4_headers(world, "POST", target, credential, raw)
    headers["content-type"] = "application/json"
    return world.client.post(target, content=raw, headers=headers)


# -- GET -------------------------------------------------------------------------------------


def test_a_minted_get_url_is_s3_query_form_and_serves_the_object(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    response = _mint(world, admin, method="GET", key="report.csv", expiresIn=600)
    assert response.status_code == 201, response.text
    body = response.json()
    url = body["url"]
    for part in (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Credential=LPSU",
        "X-Amz-Date=",
        "X-Amz-Expires=600",
        "X-Amz-SignedHeaders=host",
        "X-Amz-Signature=",
    ):
        assert part in url
    assert url.startswith("http://testserver/api/v1/presigned/presign-data/report.csv?")
    got = world.client.get(_target(url))
    assert got.status_code == 200, got.text
    assert got.content == b"a,b\n1,2\n"
    # A range works as on the object route.
    ranged = world.client.get(_target(url), headers={"Range": "bytes=0-2"})
    assert ranged.status_code == 206 and ranged.content == b"a,b"
    # The use is audited as the signer, naming the URL id (its access key id), never a secret.
    events = world.audit_text(account)
    assert body["urlId"] in events
    assert "X-Amz-Signature" not in events


def test_more_than_seven_days_or_nothing_is_refused_at_minting(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    _, admin = tenant
    for expires in (604801, 0, -5):
        refused = _mint(world, admin, method="GET", key="report.csv", expiresIn=expires)
        assert error(refused) == (400, "InvalidArgument"), expires
        assert "7 days" in refused.json()["error"]["message"]
    assert _mint(world, admin, method="GET", key="report.csv", expiresIn=604800).status_code == 201
    with world.platform.database.read_session() as session:
        count = len(session.scalars(select(models.PresignedUrl)).all())
    assert count == 1


def test_an_expired_url_is_refused(world: World, tenant: tuple[str, dict[str, str]]) -> None:
    _, admin = tenant
    url = _url(world, admin, method="GET", key="report.csv", expiresIn=60)
    world.clock.advance(seconds=60)
    assert world.client.get(url).status_code == 200
    world.clock.advance(seconds=1)
    denied = world.client.get(url)
    assert error(denied) == (403, "RequestExpired")
    assert b"a,b" not in denied.content


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda u: u[:-4] + ("0000" if not u.endswith("0000") else "1111"),
            "SignatureDoesNotMatch",
        ),
        (lambda u: u.replace("X-Amz-Expires=60", "X-Amz-Expires=600"), "SignatureDoesNotMatch"),
        (lambda u: u.replace("report.csv", "other.csv"), "SignatureDoesNotMatch"),
        (
            lambda u: u.replace("X-Amz-Credential=LPSU", "X-Amz-Credential=LPSV"),
            "InvalidAccessKeyId",
        ),
        (
            lambda u: u.replace("&X-Amz-Signature=", "&x=1&X-Amz-Signature="),
            "SignatureDoesNotMatch",
        ),
    ],
    ids=["signature", "expires", "key", "url-id", "added-parameter"],
)
def test_a_tampered_url_is_refused(
    world: World, tenant: tuple[str, dict[str, str]], change: Any, code: str
) -> None:
    _, admin = tenant
    world.client.put(
        f"/api/v1/buckets/{BUCKET}/objects/other.csv", content=b"TOPSECRET", headers=admin
    )
    url = _url(world, admin, method="GET", key="report.csv", expiresIn=60)
    denied = world.client.get(change(url))
    assert error(denied)[0] in (400, 403)
    assert error(denied)[1] == code
    assert b"TOPSECRET" not in denied.content and b"a,b" not in denied.content


def test_a_url_is_for_its_method_only(world: World, tenant: tuple[str, dict[str, str]]) -> None:
    _, admin = tenant
    get_url = _url(world, admin, method="GET", key="report.csv", expiresIn=60)
    assert error(world.client.put(get_url, content=b"x")) == (403, "SignatureDoesNotMatch")
    put_url = _url(world, admin, method="PUT", key="report.csv", expiresIn=60)
    assert error(world.client.get(put_url)) == (403, "SignatureDoesNotMatch")
    assert world.client.get(get_url).content == b"a,b\n1,2\n"


def test_conditions_are_for_put_urls_only(world: World, tenant: tuple[str, dict[str, str]]) -> None:
    _, admin = tenant
    refused = _mint(world, admin, method="GET", key="report.csv", contentType="text/csv")
    assert error(refused) == (400, "InvalidArgument")
    bad_range = _mint(world, admin, method="PUT", key="x", contentLengthRange={"min": 10, "max": 5})
    assert error(bad_range) == (400, "InvalidArgument")
    bad_key = _mint(world, admin, method="PUT", key="a/../b")
    assert error(bad_key) == (400, "InvalidObjectName")


# -- who may mint, and who the URL acts as ----------------------------------------------------


def test_minting_is_permission_checked_and_anonymous_callers_cannot_mint(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    reader = _user_with_password(world, account, admin, "reader", _grant(BUCKET, "s3:GetObject"))
    assert _mint_sigv4(world, reader, method="GET", key="report.csv").status_code == 201
    denied = _mint_sigv4(world, reader, method="PUT", key="report.csv")
    assert error(denied) == (403, "AccessDenied")
    anonymous = _mint(world, {}, method="GET", key="report.csv")
    assert error(anonymous) == (403, "AccessDenied")
    with world.platform.database.read_session() as session:
        rows = session.scalars(select(models.PresignedUrl)).all()
        assert [row.method for row in rows] == ["GET"]
        assert rows[0].signer_kind == "access-key"


def test_a_url_stops_when_the_signer_loses_access(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    reader = _user_with_password(world, account, admin, "reader", _grant(BUCKET, "s3:GetObject"))
    minted = _mint_sigv4(world, reader, method="GET", key="report.csv", expiresIn=3600)
    url = _target(minted.json()["url"])
    assert world.client.get(url).status_code == 200
    base = f"/api/v1/tenants/{account}/users/reader"
    assert world.client.delete(f"{base}/policies/p", headers=admin).status_code == 204
    denied = world.client.get(url)
    assert error(denied) == (403, "AccessDenied")
    assert b"a,b" not in denied.content
    # The gate's denial names the signer, acting through the URL.
    events = world.platform.audit.read(account, limit=100000)
    denials = [
        e
        for e in events
        if e.get("errorCode") == "AccessDenied" and e.get("eventName") == "GetObject"
    ]
    assert denials and "reader" in json.dumps(denials[-1]["userIdentity"])
    assert reader["secret"] not in json.dumps(events)


def test_a_url_stops_when_the_signing_key_is_deleted_or_the_user_is(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    reader = _user_with_password(world, account, admin, "reader", _grant(BUCKET, "s3:GetObject"))
    url = _target(_mint_sigv4(world, reader, method="GET", key="report.csv").json()["url"])
    base = f"/api/v1/tenants/{account}/users/reader"
    deleted = world.client.delete(f"{base}/access-keys/{reader['key']}", headers=admin)
    assert deleted.status_code == 204, deleted.text
    refused = world.client.get(url)
    assert error(refused) == (403, "AccessDenied")
    assert "no longer valid" in refused.json()["error"]["message"]


def test_a_token_signed_url_stops_when_the_user_signs_out_everywhere(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    _, admin = tenant
    url = _url(world, admin, method="GET", key="report.csv", expiresIn=600)
    assert world.client.get(url).status_code == 200
    out = world.client.post("/api/v1/sessions/sign-out-everywhere", headers=admin)
    assert out.status_code == 204, out.text
    assert error(world.client.get(url)) == (403, "AccessDenied")


def test_a_token_signed_url_never_outlives_the_token(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    _, admin = tenant
    minted = _mint(world, admin, method="GET", key="report.csv", expiresIn=604800).json()
    assert minted["signerExpiresAt"] is not None
    url = _target(minted["url"])
    assert world.client.get(url).status_code == 200
    world.clock.advance(seconds=24 * 3600)
    assert error(world.client.get(url)) == (403, "AccessDenied")


def test_an_api_key_can_mint_within_its_scope_and_its_urls_stop_with_it(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    created = world.client.post(
        f"/api/v1/tenants/{account}/api-keys",
        json={
            "name": "uploader",
            "actions": ["s3:PutObject"],
            "resources": [f"arn:aws:s3:::{BUCKET}/uploads/*"],
        },
        headers=admin,
    ).json()
    key = {"X-Api-Key": created["apiKey"]}
    assert error(_mint(world, key, method="GET", key="report.csv")) == (403, "AccessDenied")
    outside = _mint(world, key, method="PUT", key="elsewhere/x")
    assert error(outside) == (403, "AccessDenied")
    url = _url(world, key, method="PUT", key="uploads/one.txt", contentType="text/plain")
    put = world.client.put(url, content=b"hello", headers={"Content-Type": "text/plain"})
    assert put.status_code == 200, put.text
    url = _url(world, key, method="PUT", key="uploads/two.txt")
    deleted = world.client.delete(f"/api/v1/tenants/{account}/api-keys/uploader", headers=admin)
    assert deleted.status_code == 204
    refused = world.client.put(url, content=b"late")
    assert error(refused) == (403, "AccessDenied")
    assert not _object_exists(world, admin, "uploads/two.txt")


def test_a_temporary_session_can_mint_and_its_urls_end_with_the_session(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    reader = _user_with_password(world, account, admin, "reader", _grant(BUCKET, "s3:GetObject"))
    target = "/api/v1/sts/session-token"
    raw = json.dumps({"durationSeconds": 900}).encode()
    headers = _sigv4_headers(world, "POST", target, reader, raw)
    headers["content-type"] = "application/json"
    session = world.client.post(target, content=raw, headers=headers)
    if session.status_code == 404:
        pytest.skip("no GetSessionToken route on this API")
    assert session.status_code == 200, session.text
    creds = session.json().get("credentials", session.json())
    temp = {"key": creds["accessKeyId"], "secret": creds["secretAccessKey"]}
    token = creds["sessionToken"]
    body = json.dumps({"method": "GET", "key": "report.csv", "expiresIn": 3600}).encode()
    mint_target = f"/api/v1/buckets/{BUCKET}/presign"
    request = identity.SigV4Request.from_target("POST", mint_target, [("host", "testserver")], body)
    signed = identity.sign_request(
        request,
        access_key_id=temp["key"],
        secret_access_key=temp["secret"],
        session_token=token,
        region="local",
        service="lakevault",
        now=world.clock.now(),
    )
    sent = {k: v for k, v in signed.request.headers if k.lower() != "host"}
    sent["content-type"] = "application/json"
    minted = world.client.post(mint_target, content=body, headers=sent)
    assert minted.status_code == 201, minted.text
    url = _target(minted.json()["url"])
    assert world.client.get(url).status_code == 200
    world.clock.advance(seconds=901)
    assert error(world.client.get(url)) == (403, "AccessDenied")


def test_a_tenant_cannot_mint_for_another_tenants_bucket(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    assert tenant  # the bucket exists, owned by the first tenant
    _, other_admin, _ = world.new_tenant("presign-other")
    refused = _mint(world, other_admin, method="GET", key="report.csv")
    assert error(refused) == (403, "AccessDenied")
    refused_put = _mint(world, other_admin, method="PUT", key="x")
    assert error(refused_put) == (403, "AccessDenied")
    # A URL for the other tenant's own bucket does not open this one.
    assert (
        world.client.post(
            "/api/v1/buckets", json={"name": "other-data"}, headers=other_admin
        ).status_code
        == 201
    )
    world.client.put(
        "/api/v1/buckets/other-data/objects/report.csv", content=b"o", headers=other_admin
    )
    theirs = _url(world, other_admin, bucket="other-data", method="GET", key="report.csv")
    moved = theirs.replace("/other-data/", f"/{BUCKET}/")
    assert error(world.client.get(moved)) == (403, "SignatureDoesNotMatch")


# -- PUT ---------------------------------------------------------------------------------------


def test_a_put_url_uploads_with_its_content_type_and_length_range(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    _, admin = tenant
    url = _url(
        world,
        admin,
        method="PUT",
        key="uploads/photo.png",
        contentType="image/png",
        contentLengthRange={"min": 2, "max": 10},
    )
    put = world.client.put(url, content=b"\x89PNG", headers={"Content-Type": "image/png"})
    assert put.status_code == 200, put.text
    assert put.json()["contentType"] == "image/png"
    got = world.client.get(f"/api/v1/buckets/{BUCKET}/objects/uploads/photo.png", headers=admin)
    assert got.content == b"\x89PNG"


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/plain", b"abcd", (403, "AccessDenied")),
        (None, b"abcd", (403, "AccessDenied")),
        ("image/png", b"x" * 11, (413, "EntityTooLarge")),
        ("image/png", b"x", (400, "EntityTooSmall")),
    ],
    ids=["other-type", "no-type", "too-large", "too-small"],
)
def test_a_put_url_refuses_a_request_outside_its_conditions(
    world: World,
    tenant: tuple[str, dict[str, str]],
    content_type: str | None,
    body: bytes,
    expected: tuple[int, str],
) -> None:
    _, admin = tenant
    url = _url(
        world,
        admin,
        method="PUT",
        key="uploads/photo.png",
        contentType="image/png",
        contentLengthRange={"min": 2, "max": 10},
    )
    headers = {} if content_type is None else {"Content-Type": content_type}
    assert error(world.client.put(url, content=body, headers=headers)) == expected
    assert not _object_exists(world, admin, "uploads/photo.png")


def _chunks(*pieces: bytes) -> Iterator[bytes]:
    yield from pieces


def test_a_body_without_a_declared_length_is_held_to_the_range_while_streaming(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    _, admin = tenant
    url = _url(
        world, admin, method="PUT", key="uploads/big", contentLengthRange={"min": 3, "max": 10}
    )
    # No Content-Length (chunked): the limit is met at the first byte past it.
    too_large = world.client.put(url, content=_chunks(b"x" * 6, b"y" * 6, b"z" * 100))
    assert error(too_large) == (413, "EntityTooLarge")
    url = _url(
        world, admin, method="PUT", key="uploads/big", contentLengthRange={"min": 3, "max": 10}
    )
    too_small = world.client.put(url, content=_chunks(b"x", b"y"))
    assert error(too_small) == (400, "EntityTooSmall")
    assert not _object_exists(world, admin, "uploads/big")
    with world.platform.database.read_session() as session:
        assert session.scalars(select(models.BlobJournal)).all() == []
    url = _url(
        world, admin, method="PUT", key="uploads/big", contentLengthRange={"min": 3, "max": 10}
    )
    ok = world.client.put(url, content=_chunks(b"x" * 5, b"y" * 5))
    assert ok.status_code == 200, ok.text
    assert ok.json()["size"] == 10


def test_a_put_url_acts_as_the_signer_with_its_current_permissions(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    account, admin = tenant
    writer = _user_with_password(world, account, admin, "writer", _grant(BUCKET, "s3:PutObject"))
    minted = _mint_sigv4(world, writer, method="PUT", key="uploads/w.txt")
    url = _target(minted.json()["url"])
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}],
    }
    base = f"/api/v1/tenants/{account}/users/writer"
    # The policy source caches an inline policy by its update time: let the fixed clock move.
    world.clock.advance(seconds=1)
    replaced = world.client.put(f"{base}/policies/p", json={"policyDocument": deny}, headers=admin)
    assert replaced.status_code == 204
    assert error(world.client.put(url, content=b"late")) == (403, "AccessDenied")
    assert not _object_exists(world, admin, "uploads/w.txt")


# -- single use --------------------------------------------------------------------------------


def test_a_single_use_url_works_once(world: World, tenant: tuple[str, dict[str, str]]) -> None:
    _, admin = tenant
    url = _url(world, admin, method="PUT", key="uploads/once", singleUse=True)
    assert world.client.put(url, content=b"first").status_code == 200
    again = world.client.put(url, content=b"second")
    assert error(again) == (403, "AccessDenied")
    assert "already used" in again.json()["error"]["message"]
    got = world.client.get(f"/api/v1/buckets/{BUCKET}/objects/uploads/once", headers=admin)
    assert got.content == b"first"
    get_once = _url(world, admin, method="GET", key="report.csv", singleUse=True)
    assert world.client.get(get_once).status_code == 200
    assert error(world.client.get(get_once)) == (403, "AccessDenied")


def test_a_failed_upload_consumes_a_single_use_url(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    _, admin = tenant
    url = _url(
        world,
        admin,
        method="PUT",
        key="uploads/once",
        singleUse=True,
        contentLengthRange={"min": 0, "max": 4},
    )
    assert error(world.client.put(url, content=_chunks(b"12345"))) == (413, "EntityTooLarge")
    assert error(world.client.put(url, content=b"1234")) == (403, "AccessDenied")
    assert not _object_exists(world, admin, "uploads/once")


def test_exactly_one_of_many_concurrent_uses_of_a_single_use_url_wins(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    _, admin = tenant
    url = _url(world, admin, method="GET", key="report.csv", singleUse=True)
    path, _, query = url.partition("?")
    request = identity.SigV4Request(
        method="GET", raw_path=path, raw_query=query, headers=(("host", "testserver"),), body=None
    )
    presigned = world.platform.storage.presigned
    attempts = 16
    barrier = threading.Barrier(attempts)

    def use(_: int) -> str:
        barrier.wait()
        try:
            presigned.authorize_use(request, bucket=BUCKET, key="report.csv")
        except Exception as exc:  # noqa: BLE001 - the test counts outcomes
            return type(exc).__name__
        return "won"

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        outcomes = list(pool.map(use, range(attempts)))
    assert outcomes.count("won") == 1, outcomes
    assert set(outcomes) == {"won", "AccessDenied"}


def test_the_url_row_holds_no_secret(world: World, tenant: tuple[str, dict[str, str]]) -> None:
    _, admin = tenant
    minted = _mint(world, admin, method="GET", key="report.csv").json()
    signature = minted["url"].rpartition("X-Amz-Signature=")[2]
    token = admin["Authorization"].partition(" ")[2]
    with world.platform.database.read_session() as session:
        row = session.get(models.PresignedUrl, minted["urlId"])
        assert row is not None
        values = json.dumps({c.key: str(getattr(row, c.key)) for c in row.__table__.columns})
    assert signature not in values and token not in values
    assert storage.PresignMethod.GET.value == row.method


def test_a_put_url_streams_a_body_larger_than_the_json_limit(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    _, admin = tenant
    url = _url(world, admin, method="PUT", key="uploads/large.bin")
    body = bytes(range(256)) * (8 * 1024 * 4)  # 8 MiB, over the 6 MB limit of other routes
    put = world.client.put(url, content=_chunks(body[: 4 << 20], body[4 << 20 :]))
    assert put.status_code == 200, put.text
    assert put.json()["size"] == len(body)
    got = world.client.get(f"/api/v1/buckets/{BUCKET}/objects/uploads/large.bin", headers=admin)
    assert got.content == body


def test_rows_of_expired_urls_are_swept_a_day_after_they_expire(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    from lakevault.storage._sweep import EXPIRED_URL_AGE, forget_expired_presigned_urls

    _, admin = tenant
    short = _mint(world, admin, method="GET", key="report.csv", expiresIn=60).json()["urlId"]
    long_lived = _mint(world, admin, method="GET", key="report.csv", expiresIn=604800).json()[
        "urlId"
    ]
    world.clock.advance(seconds=61)
    database, clock = world.platform.database, world.platform.clock
    assert forget_expired_presigned_urls(database, clock, older_than=EXPIRED_URL_AGE) == 0
    world.clock.advance(seconds=int(EXPIRED_URL_AGE.total_seconds()))
    assert forget_expired_presigned_urls(database, clock, older_than=EXPIRED_URL_AGE) == 1
    with world.platform.database.read_session() as session:
        assert session.get(models.PresignedUrl, short) is None
        assert session.get(models.PresignedUrl, long_lived) is not None


def test_a_minted_url_cannot_be_replayed_against_the_object_route(
    world: World, tenant: tuple[str, dict[str, str]]
) -> None:
    _, admin = tenant
    url = _url(world, admin, method="GET", key="report.csv")
    replayed = url.replace(
        "/api/v1/presigned/presign-data/", "/api/v1/buckets/presign-data/objects/"
    )
    denied = world.client.get(replayed)
    assert denied.status_code == 403
    assert error(denied)[1] == "SignatureDoesNotMatch"
    assert b"a,b" not in denied.content
