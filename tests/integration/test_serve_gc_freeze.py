"""``serve`` freezes what start-up built before it serves (ADR 0267).

Against a real uvicorn: after :func:`freeze_start_up` the app has been built (uvicorn serves
that one, it does not build another), and the objects that existed are out of the cyclic
collector's generations, so a full collection under load walks only the requests' objects.
"""

from __future__ import annotations

import gc
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from lakevault.cli._serve import freeze_start_up


@pytest.fixture
def unfreeze() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test process goes on collecting as before


def test_the_app_is_built_before_the_freeze_and_served_as_built(unfreeze: None) -> None:
    built: list[object] = []

    def factory() -> Any:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": str(len(built)).encode()})

        built.append(app)
        return app

    config = uvicorn.Config(factory, factory=True, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    before = len(gc.get_objects())
    freeze_start_up(server)
    assert len(built) == 1 and config.loaded
    # What existed is now in the permanent generation: the collector tracks next to nothing.
    assert gc.get_freeze_count() >= before
    assert len(gc.get_objects()) < before // 10

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        connection = http.client.HTTPConnection("127.0.0.1", listener.getsockname()[1])
        connection.request("GET", "/")
        assert connection.getresponse().read() == b"1"  # the app built before the freeze
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()
    assert len(built) == 1
