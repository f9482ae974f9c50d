"""A small upload body is read whole on the event loop before the upload starts (ADR 0247).

``RequestBodyReader.prefetch`` takes the ASGI messages of a body of at most
``PREFETCH_BODY_BYTES`` straight from ``receive`` under one idle deadline, moved at every
message. The app is driven over ASGI with a client that sends the body as the test says: in one
message, in several, cut by a disconnect, or shorter than declared. Every upload that is not
acknowledged leaves nothing behind (no object, no journal row); the idle timeout itself is
tested in ``test_upload_idle_timeout.py``.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from lakevault import identity
from lakevault.api import _handoff, _streaming
from lakevault.db import models
from tests.unit.api.asgi_put import asgi_put
from tests.unit.api.conftest import World


async def _asgi_put(
    app: Any, path: str, headers: dict[str, str], messages: list[dict[str, Any]], declared: int
) -> tuple[int, dict[str, Any]]:
    """PUT ``path`` declaring ``declared`` bytes; ``receive`` hands out ``messages`` in order."""
    remaining = list(messages)

    async def receive() -> dict[str, Any]:
        return remaining.pop(0) if remaining else {"type": "http.disconnect"}

    return await asgi_put(app, path, headers, declared=declared, receive=receive)


def _piece(body: bytes, *, more: bool) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


@pytest.fixture
def bucket(world: World) -> tuple[World, dict[str, str]]:
    _, admin, _ = world.new_tenant("prefetch")
    created = world.client.post("/api/v1/buckets", json={"name": "pre"}, headers=admin)
    assert created.status_code == 201, created.text
    return world, admin


def _nothing_stored(world: World, path: str, admin: dict[str, str]) -> None:
    assert world.client.get(path, headers=admin).status_code == 404
    with world.platform.database.read_session() as session:
        assert session.query(models.BlobJournal).count() == 0


@pytest.mark.parametrize("split", [1, 3, 4096], ids=["one message", "three", "byte by byte"])
def test_a_small_body_in_any_number_of_messages_is_stored_whole(
    bucket: tuple[World, dict[str, str]], split: int
) -> None:
    world, admin = bucket
    body = bytes(range(256)) * 16  # 4 KiB
    size = -(-len(body) // split)
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    messages = [_piece(chunk, more=i < len(chunks) - 1) for i, chunk in enumerate(chunks)]
    path = "/api/v1/buckets/pre/objects/whole"
    status, answer = anyio.run(lambda: _asgi_put(world.client.app, path, admin, messages, 4096))
    assert status == 200, answer
    assert world.client.get(path, headers=admin).content == body


def test_a_client_that_disconnects_mid_body_stores_nothing(
    bucket: tuple[World, dict[str, str]],
) -> None:
    world, admin = bucket
    path = "/api/v1/buckets/pre/objects/cut"
    messages = [_piece(b"x" * 1000, more=True), {"type": "http.disconnect"}]
    status, answer = anyio.run(lambda: _asgi_put(world.client.app, path, admin, messages, 4096))
    assert (status, answer["error"]["code"]) == (400, "IncompleteBody"), answer
    _nothing_stored(world, path, admin)


def test_a_body_shorter_than_declared_stores_nothing(
    bucket: tuple[World, dict[str, str]],
) -> None:
    world, admin = bucket
    path = "/api/v1/buckets/pre/objects/short"
    messages = [_piece(b"x" * 1000, more=False)]
    status, answer = anyio.run(lambda: _asgi_put(world.client.app, path, admin, messages, 4096))
    assert (status, answer["error"]["code"]) == (400, "IncompleteBody"), answer
    _nothing_stored(world, path, admin)


def test_a_body_longer_than_it_declared_is_refused(
    bucket: tuple[World, dict[str, str]],
) -> None:
    # The prefetch stops at the end of the body's messages, not at the declared length: the
    # upload sees every byte and refuses a body that does not match its Content-Length.
    world, admin = bucket
    path = "/api/v1/buckets/pre/objects/long"
    messages = [_piece(b"x" * 3000, more=True), _piece(b"x" * 3000, more=False)]
    status, answer = anyio.run(lambda: _asgi_put(world.client.app, path, admin, messages, 4096))
    assert status == 400, answer
    _nothing_stored(world, path, admin)


def test_a_body_over_the_prefetch_size_is_streamed_from_the_worker(
    bucket: tuple[World, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Declared over PREFETCH_BODY_BYTES: nothing is read on the loop, the worker pulls it.
    monkeypatch.setattr(_streaming, "PREFETCH_BODY_BYTES", 1024)
    world, admin = bucket
    body = b"z" * 4096
    messages = [_piece(body[i : i + 512], more=i + 512 < len(body)) for i in range(0, 4096, 512)]
    path = "/api/v1/buckets/pre/objects/streamed"
    status, answer = anyio.run(lambda: _asgi_put(world.client.app, path, admin, messages, 4096))
    assert status == 200, answer
    assert world.client.get(path, headers=admin).content == body


def test_a_signed_small_put_whose_body_was_read_for_its_signature_is_stored(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A SigV4 header signature covers the body, so authentication reads it whole through
    # Starlette before the route runs (read_signed_body): the prefetch must take it from
    # Starlette's replay, not wait on ``receive``, which has nothing more to give. Waiting there
    # answered RequestTimeout after the idle limit (shortened here so a regression fails fast).
    monkeypatch.setattr(_streaming, "BODY_IDLE_SECONDS", 2.0)
    account, admin, _ = world.new_tenant("signed")
    c = world.client
    base = f"/api/v1/tenants/{account}"
    assert c.post(f"{base}/users", json={"userName": "up"}, headers=admin).is_success
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    c.put(f"{base}/users/up/policies/p", json={"policyDocument": policy}, headers=admin)
    key = c.post(f"{base}/users/up/access-keys", headers=admin).json()
    assert c.post("/api/v1/buckets", json={"name": "signed-pre"}, headers=admin).is_success
    body = b"signed small body " * 200
    target = "/api/v1/buckets/signed-pre/objects/k"
    signed = identity.sign_request(
        identity.SigV4Request.from_target(
            "PUT", target, [("host", "testserver"), ("content-length", str(len(body)))], body
        ),
        access_key_id=key["accessKeyId"],
        secret_access_key=key["secretAccessKey"],
        region=world.platform.settings.region,
        service="lakevault",
        now=world.clock.now(),
    )
    headers = {k: v for k, v in signed.request.headers if k.lower() != "host"}
    started = time.monotonic()
    put = c.put(target, content=body, headers=headers)
    assert put.status_code == 200, put.text
    assert time.monotonic() - started < 2.0
    assert c.get(target, headers=admin).content == body


@pytest.fixture
def pooled(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every call the upload pool runs (a spy that delegates to the real pool)."""
    calls: list[object] = []
    real = _handoff.UPLOADS.run

    async def spy(func: Any) -> Any:
        calls.append(func)
        return await real(func)

    monkeypatch.setattr(_handoff.UPLOADS, "run", spy)
    return calls


def test_a_prefetched_upload_runs_in_the_upload_pool_and_a_streamed_one_does_not(
    bucket: tuple[World, dict[str, str]], pooled: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    # ADR 0248: the pool's threads are no anyio workers, so only a body already whole in
    # memory may go there; a streamed body pulls its pieces through anyio.from_thread.
    world, admin = bucket
    small = world.client.put("/api/v1/buckets/pre/objects/a", content=b"a" * 4096, headers=admin)
    assert small.status_code == 200, small.text
    assert len(pooled) == 1
    monkeypatch.setattr(_streaming, "PREFETCH_BODY_BYTES", 1024)
    big = world.client.put("/api/v1/buckets/pre/objects/b", content=b"b" * 4096, headers=admin)
    assert big.status_code == 200, big.text
    assert len(pooled) == 1
    assert world.client.get("/api/v1/buckets/pre/objects/b", headers=admin).content == b"b" * 4096
