"""A lean HTTP/1.1 load client for the small-object benchmarks.

The server and the load generator share the machine's two cores, so the client's own CPU is
taken from the server: an ``httpx`` client spends ~0.5-1 ms of CPU per request, as much as the
request budget the storage target allows (1,000 PUT/s on 2 cores). This client keeps one
keep-alive socket per worker thread, sends a prebuilt request and reads the response by its
``Content-Length`` (or chunked framing), ~0.06 ms of CPU per request, so what the figures
measure is the server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


class HttpError(RuntimeError):
    """The server answered with a status outside 2xx (the benchmark must not count it)."""


class Connection:
    """One keep-alive HTTP/1.1 connection that sends requests and reads whole responses."""

    def __init__(self, base_url: str, headers: Mapping[str, str]) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._socket = socket.create_connection((self._host, self._port))
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def close(self) -> None:
        self._socket.close()

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n{self._fixed}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self._socket.sendall(head.encode("latin-1") + body)
        status, headers = self._read_head()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            payload = self._read_chunked()
        else:
            payload = self._read_exactly(int(headers.get("content-length", "0")))
        return status, payload

    def _fill(self) -> None:
        data = self._socket.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self._buffer += data

    def _read_line_block(self, separator: bytes) -> bytes:
        while separator not in self._buffer:
            self._fill()
        block, _, self._buffer = self._buffer.partition(separator)
        return block

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _read_head(self) -> tuple[int, dict[str, str]]:
        lines = self._read_line_block(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def _read_chunked(self) -> bytes:
        payload = b""
        while True:
            size = int(self._read_line_block(b"\r\n").split(b";")[0], 16)
            if size == 0:
                self._read_line_block(b"\r\n")
                return payload
            payload += self._read_exactly(size)
            self._read_exactly(2)


def put_load(
    base_url: str,
    headers: Mapping[str, str],
    path_for: Callable[[int, int], str],
    body: bytes,
    clients: int,
    seconds: float,
) -> list[float]:
    """PUT ``body`` from ``clients`` threads for ``seconds``; the latency of every request.

    Raises :class:`HttpError` on the first non-2xx answer: a refused PUT is not a PUT.
    """
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        mine: list[float] = []
        connection = Connection(base_url, headers)
        try:
            count = 0
            while time.monotonic() < deadline:
                start = time.perf_counter()
                status, payload = connection.request("PUT", path_for(index, count), body)
                if not 200 <= status < 300:
                    raise HttpError(f"PUT answered {status}: {payload[:300]!r}")
                mine.append(time.perf_counter() - start)
                count += 1
        finally:
            connection.close()
        with lock:
            latencies.extend(mine)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return latencies
