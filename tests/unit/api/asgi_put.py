"""One PUT driven straight through the ASGI app, for tests that must control ``receive``.

``TestClient`` always delivers a whole body at once; the upload tests need bodies in pieces, cut
off, stalled or shorter than declared, so they call the app with a scope of their own. This is
that scope, in one place.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

Receive = Callable[[], Awaitable[dict[str, Any]]]


async def asgi_put(
    app: Any, path: str, headers: dict[str, str], *, declared: int, receive: Receive
) -> tuple[int, dict[str, Any]]:
    """PUT ``path`` with ``headers`` and a ``Content-Length`` of ``declared``; the body comes
    from ``receive``. Returns the status and the JSON body; a hang fails after 30 s (the
    test's own bound, so that it cannot stall the suite)."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(declared).encode()), (b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    with anyio.fail_after(30):
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body)
