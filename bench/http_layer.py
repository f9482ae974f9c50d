"""The HTTP layer's share of a 4 KiB object PUT: ``python -m bench http_layer [--seconds S]``.

Drives the API application in this process through ASGI (no sockets, no uvicorn): ``--clients``
concurrent tasks on uvloop, each PUTting 4 KiB objects with a tenant admin's bearer token into
one bucket on SQLite, as ``bench storage`` (b) does over HTTP. Prints PUT/s, the event-loop
thread's CPU per PUT (``time.thread_time``: the middleware, routing, authentication, response
and thread-hop work of the API layer, none of uvicorn's) and the process's CPU per PUT (that
plus the storage, key and audit work in the worker threads).

Thread CPU moves far less with the machine's load than throughput does; to compare two trees,
run them alternately with ``PYTHONPATH=<tree>/src`` (docs/performance.md, "Session 6").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from typing import Any

import uvloop
from fastapi.testclient import TestClient

from lakevault.api import create_app
from lakevault.core import load_settings
from lakevault.runtime import Platform, initialise

BODY_BYTES = 4096


def _signed_in_app(home: str) -> tuple[Any, str]:
    settings = load_settings(
        {"LAKEVAULT_HOME": home, "LAKEVAULT_DATABASE_URL": f"sqlite:///{home}/bench.db"}
    )
    platform = Platform.build(settings)
    credentials = initialise(platform).credentials
    assert credentials is not None
    app = create_app(platform)
    client = TestClient(app)

    def sign_in(account: str, password: str) -> str:
        response = client.post(
            "/api/v1/sessions",
            json={"accountId": account, "userName": "admin", "password": password},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["accessToken"])

    root = sign_in("000000000000", credentials.password)
    tenant = client.post(
        "/api/v1/tenants", json={"name": "bench"}, headers={"Authorization": f"Bearer {root}"}
    ).json()
    token = sign_in(tenant["tenant"]["accountId"], tenant["adminPassword"])
    created = client.post(
        "/api/v1/buckets", json={"name": "bench"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert created.status_code == 201, created.text
    return app, token


async def _put(app: Any, headers: list[tuple[bytes, bytes]], body: bytes, key: str) -> None:
    path = f"/api/v1/buckets/bench/objects/{key}"
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
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    delivered = False
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # no disconnect while the response is sent
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if statuses != [200]:
        raise RuntimeError(f"PUT {key} answered {statuses}")


async def _load(app: Any, token: str, clients: int, seconds: float, prefix: str) -> int:
    body = os.urandom(BODY_BYTES)
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-length", str(BODY_BYTES).encode()),
        (b"content-type", b"application/octet-stream"),
        (b"user-agent", b"bench-http-layer"),
    ]
    until = time.monotonic() + seconds
    counts: list[int] = []

    async def client(index: int) -> None:
        done = 0
        while time.monotonic() < until:
            await _put(app, headers, body, f"{prefix}{index}/o{done}")
            done += 1
        counts.append(done)

    await asyncio.gather(*(client(i) for i in range(clients)))
    return sum(counts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench http_layer", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured load")
    parser.add_argument("--clients", type=int, default=8, help="concurrent PUTs")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lakevault-bench-http-") as home:
        app, token = _signed_in_app(home)

        async def run() -> None:
            await _load(app, token, arguments.clients, 1.5, "warm")
            thread, process, wall = time.thread_time(), time.process_time(), time.monotonic()
            count = await _load(app, token, arguments.clients, arguments.seconds, "c")
            thread = time.thread_time() - thread
            process = time.process_time() - process
            wall = time.monotonic() - wall
            print(
                f"{arguments.clients} clients: {count / wall:.0f} PUT/s, event-loop thread "
                f"{1000 * thread / count:.3f} ms CPU/PUT, process {1000 * process / count:.2f} "
                f"ms CPU/PUT (load average {os.getloadavg()[0]:.1f})"
            )

        uvloop.run(run())
    return 0
