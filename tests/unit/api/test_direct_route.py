"""``DirectRoute`` and the object PUT it serves (ADR 0220): the endpoint gets exactly what
FastAPI would pass, unsupported shapes fail at start-up, and the PUT keeps every rule of
authentication — a bearer token's principal is looked up in the upload's worker thread, before
any header is interpreted, so revocation still applies to the very next request."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from lakevault.api._direct_route import DirectRoute
from tests.unit.api.conftest import World, error

BUCKET = "direct-put"
PASSWORD = "Temp0rary-pass"


# --- the route class ---------------------------------------------------------------------


async def _who(request: Request) -> str:
    return request.headers.get("x-who", "nobody")


Who = Annotated[str, Depends(_who)]


async def _echo(bucket: str, key: str, request: Request, who: Who) -> JSONResponse:
    return JSONResponse(
        {"bucket": bucket, "key": key, "who": who, "endpoint": request.scope["endpoint"].__name__}
    )


def _app(route_class: type[Any] | None) -> TestClient:
    router = APIRouter(prefix="/b")
    router.add_api_route(
        "/{bucket}/objects/{key:path}",
        _echo,
        methods=["PUT"],
        **({"route_class_override": route_class} if route_class else {}),
    )
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


@pytest.mark.parametrize(
    "path",
    [
        "/b/one/objects/plain",
        "/b/one/objects/dir/sub/file.txt",
        "/b/one/objects/sp%20ace/%C3%A9t%C3%A9/100%25",
        "/b/one/objects/trailing/",
        "/b/one/objects/a%2Fb",
    ],
)
def test_a_direct_route_passes_what_fastapi_passes(path: str) -> None:
    for headers in ({}, {"x-who": "ada"}):
        direct = _app(DirectRoute).put(path, headers=headers)
        plain = _app(None).put(path, headers=headers)
        assert direct.status_code == plain.status_code == 200
        assert direct.json() == plain.json()


async def _with_query(bucket: str, limit: int = 3) -> JSONResponse:
    return JSONResponse({})


async def _typed_path(bucket: int) -> JSONResponse:
    return JSONResponse({})


def _sync_endpoint(bucket: str) -> JSONResponse:
    return JSONResponse({})


async def _needs_header(request: Request, x_token: str | None = None) -> str:
    return ""


async def _with_deep_dependency(bucket: str, value: Annotated[str, Depends(_needs_header)]) -> Any:
    return JSONResponse({})


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        (_with_query, "query parameter 'limit'"),
        (_typed_path, "path parameter 'bucket' is not typed str"),
        (_sync_endpoint, "the endpoint is not an async function"),
        (_with_deep_dependency, "dependency 'value' must be an async function of the Request"),
    ],
)
def test_a_direct_route_refuses_what_it_cannot_call_at_start_up(endpoint: Any, reason: str) -> None:
    router = APIRouter()
    with pytest.raises(TypeError, match=reason):
        router.add_api_route(
            "/{bucket}", endpoint, methods=["PUT"], route_class_override=DirectRoute
        )


def test_a_direct_route_refuses_an_endpoint_that_returns_no_response() -> None:
    async def returns_dict(bucket: str) -> Any:
        return {"not": "a response"}

    router = APIRouter()
    router.add_api_route(
        "/{bucket}", returns_dict, methods=["PUT"], route_class_override=DirectRoute
    )
    app = FastAPI()
    app.include_router(router)
    with pytest.raises(TypeError, match="returned dict, not a Response"):
        TestClient(app).put("/x")


# --- the object PUT through the API ------------------------------------------------------


def _tenant(world: World) -> tuple[str, dict[str, str]]:
    account, admin, _ = world.new_tenant("direct-put")
    created = world.client.post("/api/v1/buckets", json={"name": BUCKET}, headers=admin)
    assert created.status_code == 201, created.text
    return account, admin


def _uploader(world: World, account: str, admin: dict[str, str]) -> dict[str, str]:
    """A user allowed to put objects into the bucket, signed in."""
    base = f"/api/v1/tenants/{account}/users"
    c = world.client
    assert c.post(base, json={"userName": "temp"}, headers=admin).status_code == 201
    assert (
        c.put(f"{base}/temp/password", json={"password": PASSWORD}, headers=admin).status_code
        == 204
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
        ],
    }
    attached = c.put(f"{base}/temp/policies/put", json={"policyDocument": policy}, headers=admin)
    assert attached.status_code in (200, 204), attached.text
    return world.sign_in(account, "temp", PASSWORD)


def _put(world: World, key: str, headers: dict[str, str], body: bytes = b"four") -> Any:
    return world.client.put(
        f"/api/v1/buckets/{BUCKET}/objects/{key}", content=body, headers=headers
    )


def _keys(world: World, admin: dict[str, str]) -> list[str]:
    listed = world.client.get(f"/api/v1/buckets/{BUCKET}/objects", headers=admin)
    assert listed.status_code == 200, listed.text
    return [entry["key"] for entry in listed.json()["contents"]]


def _put_events(world: World, account: str) -> list[dict[str, Any]]:
    events = json.loads(world.audit_text(account))
    return [event for event in events if "PutObject" in json.dumps(event)]


def test_the_put_acts_as_the_token_s_user_and_is_audited_as_that_user(world: World) -> None:
    account, admin = _tenant(world)
    temp = _uploader(world, account, admin)
    put = _put(world, "mine", temp)
    assert put.status_code == 200, put.text
    events = _put_events(world, account)
    assert events, "the PUT's gate decision is audited"
    assert f"arn:aws:iam::{account}:user/temp" in json.dumps(events)
    assert "mine" in _keys(world, admin)


def test_a_deleted_user_s_cached_token_is_refused_on_the_next_put(world: World) -> None:
    account, admin = _tenant(world)
    temp = _uploader(world, account, admin)
    assert _put(world, "before", temp).status_code == 200  # the token is now cached
    base = f"/api/v1/tenants/{account}/users/temp"
    assert world.client.delete(f"{base}/policies/put", headers=admin).status_code == 204
    assert world.client.delete(base, headers=admin).status_code == 204
    assert error(_put(world, "after", temp)) == (403, "InvalidToken")
    assert "after" not in _keys(world, admin)


def test_signing_out_everywhere_stops_the_token_on_the_next_put(world: World) -> None:
    account, admin = _tenant(world)
    temp = _uploader(world, account, admin)
    assert _put(world, "before", temp).status_code == 200
    out = world.client.post("/api/v1/sessions/sign-out-everywhere", headers=temp)
    assert out.status_code == 204
    assert error(_put(world, "after", temp)) == (403, "InvalidToken")
    assert "after" not in _keys(world, admin)


def test_the_principal_is_checked_before_any_header_is_interpreted(world: World) -> None:
    account, admin = _tenant(world)
    temp = _uploader(world, account, admin)
    assert _put(world, "before", temp).status_code == 200
    assert world.client.post("/api/v1/sessions/sign-out-everywhere", headers=temp).status_code == (
        204
    )
    bad = {"x-amz-checksum-sha256": "not base64!", "if-modified-since": "yesterday"}
    assert error(_put(world, "after", temp | bad)) == (403, "InvalidToken")
    # With a valid token the same headers are the caller's error, as before.
    assert error(_put(world, "after", admin | bad)) == (400, "InvalidArgument")


def test_an_expired_token_is_refused_on_put_even_when_cached(world: World) -> None:
    _, admin = _tenant(world)
    assert _put(world, "before", admin).status_code == 200
    world.clock.advance(seconds=3600 + 31)
    assert error(_put(world, "after", admin)) == (403, "ExpiredToken")


def test_a_tampered_token_and_an_unknown_scheme_are_refused(world: World) -> None:
    _, admin = _tenant(world)
    token = admin["Authorization"].split(" ", 1)[1]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    refused = _put(world, "x", {"Authorization": f"Bearer {header}.{forged}.{signature}"})
    assert error(refused) == (403, "InvalidToken")
    assert error(_put(world, "x", {"Authorization": f"Basic {token}"})) == (
        403,
        "IncompleteSignature",
    )


def test_an_anonymous_put_is_denied_and_stores_nothing(world: World) -> None:
    _, admin = _tenant(world)
    assert error(_put(world, "anon", {})) == (403, "AccessDenied")
    assert "anon" not in _keys(world, admin)


def test_two_kinds_of_credentials_and_a_token_with_a_streaming_body_are_refused(
    world: World,
) -> None:
    account, admin = _tenant(world)
    created = world.client.post(
        f"/api/v1/tenants/{account}/api-keys",
        json={"name": "k", "actions": ["s3:PutObject"], "resources": [f"arn:aws:s3:::{BUCKET}/*"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    api_key = {"X-Api-Key": created.json()["apiKey"]}
    assert _put(world, "by-key", api_key).status_code == 200
    assert error(_put(world, "both", api_key | admin)) == (403, "InvalidApiKey")
    streaming = admin | {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}
    assert error(_put(world, "framed", streaming)) == (400, "InvalidRequest")
    assert set(_keys(world, admin)) == {"by-key"}


def test_secure_transport_is_the_connection_s(world: World) -> None:
    account, admin = _tenant(world)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TLSOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    set_policy = world.client.put(
        f"/api/v1/buckets/{BUCKET}/policy", content=json.dumps(policy), headers=admin
    )
    assert set_policy.status_code == 204, set_policy.text
    assert error(_put(world, "plain", admin)) == (403, "AccessDenied")
    secure = TestClient(world.client.app, base_url="https://testserver")
    assert (
        secure.put(f"/api/v1/buckets/{BUCKET}/objects/tls", content=b"x", headers=admin).status_code
        == 200
    )
    assert _keys(world, admin) == ["tls"]
    assert "TLSOnly" in world.audit_text(account)


def test_the_put_is_still_documented(world: World) -> None:
    paths = world.client.get("/api/openapi.json").json()["paths"]
    assert "put" in paths["/api/v1/buckets/{bucket}/objects/{key}"]
