"""``DirectDispatch`` (ADR 0225): a request for the object PUT skips the walk over the route
table, and nothing else changes — every answer, success and refusal, is byte for byte the one
the router gives (same status, headers, error JSON), and every other request goes to the router.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from starlette.routing import Mount

from lakevault import identity
from lakevault.api import create_app
from lakevault.api._direct_dispatch import DirectDispatch, install_direct_dispatch
from lakevault.api._direct_route import DirectRoute
from tests.unit.api.conftest import World

BUCKET = "dispatch"
OBJECTS = f"/api/v1/buckets/{BUCKET}/objects"
_PER_REQUEST = {"x-amz-request-id", "x-request-id"}


def _dispatch(app: FastAPI) -> DirectDispatch:
    stack = app.router.middleware_stack
    assert isinstance(stack, DirectDispatch)
    return stack


def _scope(method: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", **extra}


# --- which requests it takes ----------------------------------------------------------------


def test_the_app_dispatches_the_object_put_and_only_it(world: World) -> None:
    dispatch = _dispatch(world.client.app)  # type: ignore[arg-type]
    for path in (
        f"{OBJECTS}/plain",
        f"{OBJECTS}/dir/sub/file.txt",
        f"{OBJECTS}/",
        f"{OBJECTS}/a%2Fb",
        "/api/v1/buckets/other/objects/x/tags",
    ):
        chosen = dispatch.chosen_route(_scope("PUT", path))
        assert chosen is not None and chosen.name == "put_object", path
    for method, path in (
        ("GET", f"{OBJECTS}/plain"),
        ("HEAD", f"{OBJECTS}/plain"),
        ("DELETE", f"{OBJECTS}/plain"),
        ("POST", f"{OBJECTS}/plain"),
        ("PUT", f"/api/v1/buckets/{BUCKET}/tags"),
        ("PUT", f"/api/v1/buckets/{BUCKET}/policy"),
        ("PUT", f"/api/v1/buckets/{BUCKET}/objects"),
        ("PUT", f"/api/v1/buckets/{BUCKET}/retention/k"),
        ("PUT", "/api/v1/buckets"),
        ("PUT", "/elsewhere"),
    ):
        assert dispatch.chosen_route(_scope(method, path)) is None, (method, path)


def test_it_steps_aside_under_a_root_path_and_under_telemetry(world: World) -> None:
    dispatch = _dispatch(world.client.app)  # type: ignore[arg-type]
    path = f"{OBJECTS}/plain"
    assert dispatch.chosen_route(_scope("PUT", path, root_path="/mounted")) is None
    assert dispatch.chosen_route(_scope("PUT", path, **{"fastapi.telemetry": object()})) is None
    assert dispatch.chosen_route(_scope("PUT", path)) is not None


async def _earlier(request: Request) -> JSONResponse:
    return JSONResponse({"route": "earlier"})


async def _direct(bucket: str, key: str) -> JSONResponse:
    return JSONResponse({"route": "direct", "bucket": bucket, "key": key})


def _toy(*earlier_paths: str) -> FastAPI:
    router = APIRouter(prefix="/b")
    for path in earlier_paths:
        router.add_api_route(path, _earlier, methods=["PUT"])
    router.add_api_route(
        "/{bucket}/objects/{key:path}", _direct, methods=["PUT"], route_class_override=DirectRoute
    )
    app = FastAPI()
    app.include_router(router)
    return app


def test_an_earlier_route_that_matches_wins_as_in_the_router() -> None:
    app = _toy("/{bucket}/objects/special")
    assert install_direct_dispatch(app)
    client = TestClient(app)
    assert client.put("/b/x/objects/special").json() == {"route": "earlier"}
    assert client.put("/b/x/objects/other").json() == {
        "route": "direct",
        "bucket": "x",
        "key": "other",
    }
    assert client.get("/b/x/objects/other").status_code == 405  # the router's answer


def test_it_is_not_installed_where_it_could_not_match_exactly() -> None:
    # An include prefix: the route's own path is not the path it is served at.
    router = APIRouter()
    router.add_api_route(
        "/{bucket}/objects/{key:path}", _direct, methods=["PUT"], route_class_override=DirectRoute
    )
    prefixed = FastAPI()
    prefixed.include_router(router, prefix="/v2")
    assert not install_direct_dispatch(prefixed)
    assert TestClient(prefixed).put("/v2/x/objects/k").json()["route"] == "direct"
    # No DirectRoute at all.
    assert not install_direct_dispatch(FastAPI())
    # A mount before the route takes every path under it: the router's pick, and the dispatch's.
    mounted = FastAPI()
    mounted.router.routes.append(Mount("/b", app=FastAPI()))
    mounted.include_router(_toy().router)
    assert install_direct_dispatch(mounted)
    assert _dispatch(mounted).chosen_route(_scope("PUT", "/b/x/objects/k")) is None
    assert TestClient(mounted).put("/b/x/objects/k").status_code == 404  # the mounted app's


# --- the same answers as the router -----------------------------------------------------------


def _comparable(response: Any, *, with_id: bool = True) -> tuple[int, dict[str, str], Any]:
    """Status, headers and body, minus what is fresh for every request (its id), after checking
    that the id is there and that an error names it (``with_id``)."""
    request_id = response.headers.get("x-amz-request-id")
    if with_id:
        assert request_id and response.headers["x-request-id"] == request_id
    headers = {k: v for k, v in response.headers.items() if k.lower() not in _PER_REQUEST}
    try:
        body = response.json()
    except ValueError:
        return response.status_code, headers, response.content
    if isinstance(body, dict) and "error" in body:
        assert not with_id or body["error"]["requestId"] == request_id
        body = {**body, "error": {**body["error"], "requestId": "-"}}
    return response.status_code, headers, body


@pytest.fixture
def routed(world: World) -> Iterator[TestClient]:
    """The same platform behind an app without the dispatch: every request through the router."""
    app = create_app(world.platform, direct_dispatch=False)
    assert not isinstance(app.router.middleware_stack, DirectDispatch)
    yield TestClient(app, raise_server_exceptions=False)


def _signer(world: World, admin: dict[str, str], account: str) -> tuple[str, str]:
    created = world.client.post(f"/api/v1/tenants/{account}/users/admin/access-keys", headers=admin)
    assert created.status_code in (200, 201), created.text
    key = created.json()
    return key["accessKeyId"], key["secretAccessKey"]


def _signed(
    world: World, path: str, body: bytes, key: tuple[str, str], form: identity.SignatureForm
) -> tuple[str, dict[str, str]]:
    request = identity.SigV4Request.from_target("PUT", path, [("host", "testserver")], body)
    signed = identity.sign_request(
        request,
        access_key_id=key[0],
        secret_access_key=key[1],
        region="local",
        service="lakevault",
        now=world.clock.now(),
        form=form,
    )
    headers = {k: v for k, v in signed.request.headers if k.lower() != "host"}
    return signed.request.target, headers


def test_every_answer_of_the_put_is_the_router_s(world: World, routed: TestClient) -> None:
    account, admin, _ = world.new_tenant("dispatch")
    fast = world.client
    assert fast.post("/api/v1/buckets", json={"name": BUCKET}, headers=admin).status_code == 201
    first = fast.put(f"{OBJECTS}/exists", content=b"here", headers=admin)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    key_pair = _signer(world, admin, account)
    forged_sigv4 = {"authorization": "AWS4-HMAC-SHA256 Credential=LKIAFORGED/20260101/local/x/a"}

    def chunks() -> Iterator[bytes]:
        yield b"ab"
        yield b"cd"

    cases: list[tuple[str, dict[str, Any]]] = [
        # Successes: a token, metadata and content type, a checksum, a copy.
        ("ok", {"content": b"x" * 4096, "headers": admin}),
        (
            "meta",
            {
                "content": b"{}",
                "headers": admin | {"content-type": "application/json", "x-amz-meta-owner": "ada"},
            },
        ),
        (
            "sum",
            {
                "content": b"four",
                "headers": admin
                | {"x-amz-checksum-sha256": "iNQmb9TmM40TuEX88olXnSCciXgjuSF9o+Fhk28DFYk="},
            },
        ),
        ("copy", {"headers": admin | {"x-amz-copy-source": f"/{BUCKET}/exists"}}),
        ("sp%20ace/%C3%A9t%C3%A9", {"content": b"enc", "headers": admin}),
        # Refusals of the caller.
        ("anon", {"content": b"x"}),
        ("bad-token", {"content": b"x", "headers": {"Authorization": "Bearer not.a.token"}}),
        ("basic", {"content": b"x", "headers": {"Authorization": "Basic abc"}}),
        ("both", {"content": b"x", "headers": admin | {"X-Api-Key": "lvk_nothing"}}),
        ("bad-key", {"content": b"x", "headers": {"X-Api-Key": "lvk_nothing"}}),
        (
            "streaming-token",
            {
                "content": b"x",
                "headers": admin | {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
            },
        ),
        ("forged-sigv4", {"content": b"{}", "headers": forged_sigv4}),
        ("unsized-sigv4", {"content": chunks(), "headers": forged_sigv4}),
        # Refusals of the request.
        ("bad-sum", {"content": b"x", "headers": admin | {"x-amz-checksum-sha256": "no!"}}),
        (
            "wrong-sum",
            {
                "content": b"x",
                "headers": admin
                | {"x-amz-checksum-sha256": "iNQmb9TmM40TuEX88olXnSCciXgjuSF9o+Fhk28DFYk="},
            },
        ),
        ("bad-date", {"content": b"x", "headers": admin | {"if-unmodified-since": "soon"}}),
        ("exists", {"content": b"x", "headers": admin | {"if-match": '"0000"'}}),
        ("exists", {"content": b"x", "headers": admin | {"if-none-match": "*"}}),
        ("missing", {"content": b"x", "headers": admin | {"if-match": etag}}),
        ("copy-missing", {"headers": admin | {"x-amz-copy-source": f"/{BUCKET}/nothing"}}),
        ("a/../b", {"content": b"x", "headers": admin}),
        ("", {"content": b"x", "headers": admin}),
    ]
    for key, request in cases:
        fresh = dict(request)
        if key == "unsized-sigv4":
            fresh["content"] = chunks()
        via_router = routed.put(f"{OBJECTS}/{key}", **request)
        via_dispatch = fast.put(f"{OBJECTS}/{key}", **fresh)
        assert _comparable(via_dispatch) == _comparable(via_router), key
        assert via_dispatch.status_code == via_router.status_code
    statuses = {
        key: fast.put(f"{OBJECTS}/{key}", **dict(request)).status_code
        for key, request in cases
        if key != "unsized-sigv4"
    }
    # The cases cover what they say: successes and each kind of refusal.
    assert statuses["ok"] == statuses["copy"] == 200
    assert {statuses["anon"], statuses["both"], statuses["basic"]} == {403}
    assert statuses["streaming-token"] == statuses["bad-sum"] == 400
    assert statuses["missing"] in (404, 412) and statuses["copy-missing"] == 404
    assert statuses["forged-sigv4"] in (400, 403)
    # A bucket that does not exist, and one that is not the caller's.
    other_account, other_admin, _ = world.new_tenant("dispatch-other")
    assert other_account != account
    for headers in (admin, other_admin):
        for bucket in ("no-such-bucket", BUCKET):
            path = f"/api/v1/buckets/{bucket}/objects/k"
            a = routed.put(path, content=b"x", headers=headers)
            b = fast.put(path, content=b"x", headers=headers)
            assert _comparable(b) == _comparable(a)
    # SigV4 in the header and pre-signed in the query.
    for form in (identity.SignatureForm.HEADER, identity.SignatureForm.QUERY):
        target, headers = _signed(world, f"{OBJECTS}/signed-{form.value}", b"body", key_pair, form)
        a = routed.put(target, content=b"body", headers=headers)
        b = fast.put(target, content=b"body", headers=headers)
        assert a.status_code == 200, a.text
        assert _comparable(b) == _comparable(a)
        tampered = fast.put(target, content=b"bodY", headers=headers)
        assert _comparable(tampered) == _comparable(
            routed.put(target, content=b"bodY", headers=headers)
        )
        assert tampered.status_code == 403
    # A signed body over the limit is refused before it is read, the same way.
    huge = b"x" * (64 * 1024 * 1024 + 1)
    a = routed.put(f"{OBJECTS}/huge", content=huge, headers=forged_sigv4)
    b = fast.put(f"{OBJECTS}/huge", content=huge, headers=forged_sigv4)
    assert a.status_code == 413 and _comparable(b) == _comparable(a)


def test_other_requests_get_the_router_s_answers(world: World, routed: TestClient) -> None:
    _, admin, _ = world.new_tenant("dispatch-rest")
    fast = world.client
    assert fast.post("/api/v1/buckets", json={"name": BUCKET}, headers=admin).status_code == 201
    assert fast.put(f"{OBJECTS}/k", content=b"v", headers=admin).status_code == 200
    for method, path, body in (
        ("GET", f"{OBJECTS}/k", None),
        ("HEAD", f"{OBJECTS}/k", None),
        ("POST", f"{OBJECTS}/k", b"x"),
        ("PUT", f"/api/v1/buckets/{BUCKET}/tags", json.dumps({"tags": {"a": "b"}}).encode()),
        # Not JSON: a 500 without the request id headers today, through either app.
        ("PUT", f"/api/v1/buckets/{BUCKET}/tags", b"{not json"),
        ("PUT", f"/api/v1/buckets/{BUCKET}/policy", b" " * (6 * 1024 * 1024 + 1)),
        ("PUT", "/api/v1/nowhere", b"x"),
        ("GET", f"{OBJECTS}", None),
    ):
        a = routed.request(method, path, content=body, headers=admin)
        b = fast.request(method, path, content=body, headers=admin)
        assert _comparable(a, with_id=False) == _comparable(b, with_id=False), (method, path)
