"""An upload whose client stops sending is cut after ``BODY_IDLE_SECONDS`` (ADR 0235).

Before, a body that sent its first bytes and then nothing held its worker thread, its blob and
its connection until the client went away: the bucket's maximum request duration is checked
as each piece arrives, so a body with no next piece was never checked. The app is driven
directly over ASGI with a client that sends part of the body and then nothing, for a small
body (read whole on the event loop before the upload starts) and a large one (streamed from
the worker thread): each is answered ``400 RequestTimeout``, and nothing is stored, not even a
journal row.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from lakevault.api import _streaming
from lakevault.db import models
from tests.unit.api.asgi_put import asgi_put
from tests.unit.api.conftest import World


async def _asgi_put(
    app: Any,
    path: str,
    headers: dict[str, str],
    pieces: list[bytes],
    *,
    declared: int,
    pause: float = 0.0,
    then_stall: bool = False,
) -> tuple[int, dict[str, Any]]:
    """PUT ``path`` declaring ``declared`` bytes and send ``pieces``, ``pause`` seconds apart;
    with ``then_stall`` the body is never finished: after the pieces, nothing at all."""
    remaining = list(pieces)
    never = anyio.Event()

    async def receive() -> dict[str, Any]:
        if remaining:
            piece = remaining.pop(0)
            if len(remaining) < len(pieces) - 1:
                await anyio.sleep(pause)
            return {
                "type": "http.request",
                "body": piece,
                "more_body": bool(remaining) or then_stall,
            }
        await never.wait()  # the client has stopped: no byte, no disconnect
        raise AssertionError("unreachable")

    return await asgi_put(app, path, headers, declared=declared, receive=receive)


@pytest.mark.parametrize(
    "declared", [4096, 10 * 1024 * 1024], ids=["small body (prefetched)", "large body (streamed)"]
)
def test_a_body_that_stops_sending_is_cut_and_nothing_is_stored(
    world: World, monkeypatch: pytest.MonkeyPatch, declared: int
) -> None:
    monkeypatch.setattr(_streaming, "BODY_IDLE_SECONDS", 0.5)
    _, admin, _ = world.new_tenant("idle")
    created = world.client.post("/api/v1/buckets", json={"name": "idle"}, headers=admin)
    assert created.status_code == 201, created.text
    path = "/api/v1/buckets/idle/objects/stalled"
    started = time.monotonic()
    status, answer = anyio.run(
        lambda: _asgi_put(
            world.client.app, path, admin, [b"x" * 1000], declared=declared, then_stall=True
        )
    )
    assert (status, answer["error"]["code"]) == (400, "RequestTimeout"), answer
    assert "sent nothing for 0.5 seconds" in answer["error"]["message"]
    assert time.monotonic() - started < 20
    assert world.client.get(path, headers=admin).status_code == 404
    with world.platform.database.read_session() as session:
        assert session.query(models.BlobJournal).count() == 0


def test_a_body_that_keeps_sending_is_not_cut(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit is on silence, not on the whole body: pauses shorter than it are fine."""
    monkeypatch.setattr(_streaming, "BODY_IDLE_SECONDS", 0.5)
    _, admin, _ = world.new_tenant("slow")
    assert world.client.post("/api/v1/buckets", json={"name": "slow"}, headers=admin).is_success

    path = "/api/v1/buckets/slow/objects/trickled"
    status, answer = anyio.run(
        lambda: _asgi_put(world.client.app, path, admin, [b"y" * 100] * 6, declared=600, pause=0.3)
    )
    assert status == 200, answer
    assert world.client.get(path, headers=admin).content == b"y" * 600
