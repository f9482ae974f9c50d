"""The server's HTTP protocol sends a response's head and body in one write (ADR 0264).

Against a real uvicorn on uvloop over real loopback sockets: a whole small response is one
write to the socket; a streamed response's head arrives before its body exists; a
``Connection: close`` response gets every byte before the close. The transport's own rules
(merge within one loop turn, flush at the end of it, flush before close, drop on abort) are
checked over a real socket pair.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import uvicorn
import uvloop

from lakevault.cli._http_protocol import CoalescingHttpToolsProtocol, CoalescingTransport

_App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@pytest.fixture
def serve() -> Iterator[Callable[..., int]]:
    """Start uvicorn with the product's protocol on 127.0.0.1; return its port."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: _App, protocol: type[Any] = CoalescingHttpToolsProtocol) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, http=protocol, loop="uvloop", log_config=None, lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        return int(listener.getsockname()[1])

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


def _request(port: int, path: str = "/", extra: bytes = b"") -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nhost: t\r\n" + extra + b"\r\n")
    return client


def _read_all(client: socket.socket) -> bytes:
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    return data


async def _small(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b'{"ok": true}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"12")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _CountingTransport:
    """uvloop's real transport, with its write calls counted (each one is a ``send``)."""

    def __init__(self, real: Any, calls: list[str]) -> None:
        self._real = real
        self._calls = calls

    def write(self, data: bytes) -> None:
        self._calls.append("write")
        self._real.write(data)

    def writelines(self, pieces: Any) -> None:
        self._calls.append("writelines")
        self._real.writelines(pieces)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _counted(calls: list[str]) -> type[CoalescingHttpToolsProtocol]:
    class Counted(CoalescingHttpToolsProtocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(_CountingTransport(transport, calls))

    return Counted


def test_a_small_response_is_one_write_to_the_socket(serve: Callable[..., int]) -> None:
    calls: list[str] = []
    port = serve(_small, protocol=_counted(calls))
    for _ in range(3):
        with _request(port) as client:
            first = client.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 OK\r\n")
        assert first.endswith(b'\r\n\r\n{"ok": true}'), first
    # uvicorn's own protocol makes two (head, then body) for each of these responses.
    assert calls == ["writelines"] * 3


def test_a_streamed_head_is_sent_before_the_body_exists(serve: Callable[..., int]) -> None:
    """The head is not held back waiting for a body that comes only after the client saw it."""
    head_seen = threading.Event()

    async def streamed(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"4")],
            }
        )
        while not head_seen.is_set():  # yields to the loop, which must flush the head
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"body"})

    port = serve(streamed)
    with _request(port) as client:
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(65536)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert head.endswith(b"\r\n\r\n"), "the body cannot exist yet"
        head_seen.set()
        assert client.recv(65536) == b"body"


def test_connection_close_gets_every_byte_before_the_close(
    serve: Callable[..., int],
) -> None:
    port = serve(_small)
    with _request(port, extra=b"connection: close\r\n") as client:
        response = _read_all(client)
    assert b"connection: close\r\n" in response
    assert response.endswith(b'\r\n\r\n{"ok": true}')


def test_keep_alive_serves_requests_one_after_another(serve: Callable[..., int]) -> None:
    port = serve(_small)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        for _ in range(5):
            client.sendall(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
            response = b""
            while not response.endswith(b'{"ok": true}'):
                response += client.recv(65536)
            assert response.count(b"HTTP/1.1 200 OK") == 1


class _Received:
    """The far end of a real socket pair: what arrived, and in how many reads."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.setblocking(False)

    def pending(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except BlockingIOError:
            return b""


async def _pair() -> tuple[CoalescingTransport, _Received]:
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    return CoalescingTransport(transport, loop), _Received(theirs)  # type: ignore[arg-type]


def _run(test: Callable[[], Awaitable[None]]) -> None:
    uvloop.run(test())


def test_two_writes_in_one_turn_leave_as_one_and_in_order() -> None:
    async def check() -> None:
        transport, far = await _pair()
        transport.write(b"head|")
        assert far.pending() == b"", "held until the turn ends or another write comes"
        assert transport.get_write_buffer_size() == 5
        transport.write(b"body")
        await asyncio.sleep(0.05)
        assert far.pending() == b"head|body"
        transport.close()

    _run(check)


def test_a_lone_write_goes_out_at_the_end_of_the_turn() -> None:
    async def check() -> None:
        transport, far = await _pair()
        transport.write(b"alone")
        await asyncio.sleep(0.05)
        assert far.pending() == b"alone"
        transport.write(b"")  # nothing to hold: no callback, nothing sent
        await asyncio.sleep(0.05)
        assert far.pending() == b""
        transport.close()

    _run(check)


def test_close_and_writelines_send_the_held_write_first() -> None:
    async def check() -> None:
        transport, far = await _pair()
        transport.write(b"1")
        transport.writelines([b"2", b"3"])
        transport.write(b"4")
        transport.close()
        await asyncio.sleep(0.05)
        assert far.pending() == b"1234"
        assert far.pending() == b"", "closed: the far end reads the end of the stream"

    _run(check)


def test_abort_drops_the_held_write() -> None:
    async def check() -> None:
        transport, far = await _pair()
        transport.write(b"never")
        transport.abort()
        await asyncio.sleep(0.05)
        assert far.pending() == b""

    _run(check)


def test_a_write_held_when_the_connection_is_lost_is_dropped_quietly() -> None:
    async def check() -> None:
        ours, theirs = socket.socketpair()
        loop = asyncio.get_running_loop()
        errors: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        real, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
        transport = CoalescingTransport(real, loop)  # type: ignore[arg-type]
        real.close()  # the connection is gone by the time the held write would leave
        await asyncio.sleep(0.05)
        transport.write(b"late")
        await asyncio.sleep(0.05)
        assert errors == [], "no write into a closed transport from the loop's callback"
        theirs.close()

    _run(check)
