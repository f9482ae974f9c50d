"""Request bodies are bounded before anyone is authenticated; only streaming routes lift it.

FastAPI reads a JSON body whole before the route's dependencies (and so authentication) run.
Without a limit in front of it, an anonymous client could make the server hold a body of any
size in memory. Object uploads stream in constant memory and are the one exception.
"""

from __future__ import annotations

from collections.abc import Iterator

from tests.unit.api.conftest import World, error

SIX_MB = 6 * 1024 * 1024


def _pieces(total: int, size: int = 1024 * 1024) -> Iterator[bytes]:
    while total > 0:
        yield b" " * min(size, total)
        total -= size


def test_an_anonymous_json_body_over_6_mb_is_refused_before_it_is_read(world: World) -> None:
    declared = world.client.post("/api/v1/sessions", content=b" " * (SIX_MB + 1))
    assert error(declared) == (413, "EntityTooLarge")
    assert f"{SIX_MB + 1} bytes" in declared.json()["error"]["message"]

    # No Content-Length: counted as it arrives, refused at the first byte over the limit.
    chunked = world.client.post("/api/v1/sessions", content=_pieces(SIX_MB + 1))
    assert error(chunked) == (413, "EntityTooLarge")


def test_an_authenticated_json_body_over_6_mb_is_refused_too(world: World) -> None:
    account, admin, _ = world.new_tenant("limits")
    users = f"/api/v1/tenants/{account}/users"
    before = world.client.get(users, headers=admin).json()
    padding = " " * (SIX_MB + 1)
    huge = world.client.post(
        users,
        content=f'{{"userName": "padded", "path": "/{padding}"}}'.encode(),
        headers=admin | {"content-type": "application/json"},
    )
    assert error(huge) == (413, "EntityTooLarge")
    assert world.client.get(users, headers=admin).json() == before


def test_an_object_upload_streams_past_the_json_limit(world: World) -> None:
    _, admin, _ = world.new_tenant("limits-objects")
    assert world.client.post("/api/v1/buckets", json={"name": "big"}, headers=admin).is_success
    body = b"z" * (SIX_MB + 4096)

    put = world.client.put("/api/v1/buckets/big/objects/large", content=body, headers=admin)
    assert put.status_code == 200, put.text
    got = world.client.get("/api/v1/buckets/big/objects/large", headers=admin)
    assert got.status_code == 200 and got.content == body
