"""The event loop's fixed costs of a small PUT, each against the way it was done before.

``python -m bench put_loop [--rounds N]``: in one process on uvloop, alternated rounds, medians:

* the upload's hand-off to a worker thread and back (8 concurrent callers of a no-op):
  ``anyio.to_thread.run_sync`` (anchor) vs the upload pool (``api._handoff.WorkerPool``, ADR
  0248); the event loop's CPU and the process's CPU per call;
* reading a 4 KiB body of one ASGI message on the loop: through Starlette's stream, one cancel
  scope per piece (anchor, the code before ADR 0247) vs ``RequestBodyReader.prefetch``;
* the token service's signing keys: a ``stat`` of the key file per use (anchor, the behaviour
  before ADR 0245: ``key_check_seconds=0``) vs a look once a second;
* a request id: ``new_request_id`` against the bare ``os.urandom(16)`` it is built from (ADR 0246).

Figures are CPU microseconds per operation; the anchors run in the same rounds, so a loaded
machine shifts both sides alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import uvloop
from starlette.requests import Request

from lakevault.api._handoff import WorkerPool
from lakevault.api._streaming import RequestBodyReader
from lakevault.core import FixedClock, SystemRandom, new_request_id
from lakevault.identity import SigningKeys, TokenService

_BODY = b"x" * 4096


def _noop() -> int:
    return 1


async def _hops(
    run: Callable[[], Awaitable[int]], calls: int, callers: int = 8
) -> tuple[float, float]:
    """Loop CPU and process CPU per call (µs), ``callers`` tasks calling at once."""

    async def caller(count: int) -> None:
        for _ in range(count):
            await run()

    loop_before, process_before = time.thread_time(), time.process_time()
    await asyncio.gather(*(caller(calls // callers) for _ in range(callers)))
    return (
        (time.thread_time() - loop_before) / calls * 1e6,
        (time.process_time() - process_before) / calls * 1e6,
    )


def _request() -> Request:
    messages = [{"type": "http.request", "body": _BODY, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    scope = {"type": "http", "method": "PUT", "headers": [], "path": "/", "query_string": b""}
    return Request(scope, receive)


async def _stream_piecewise() -> None:
    """The prefetch before ADR 0247: Starlette's stream, one ``fail_after`` per piece."""
    stream = _request().stream()
    pieces: list[bytes] = []
    while True:
        try:
            with anyio.fail_after(60):
                pieces.append(await stream.__anext__())
        except StopAsyncIteration:
            break
    memoryview(b"".join(pieces))


async def _prefetch() -> None:
    await RequestBodyReader(_request()).prefetch(len(_BODY))


async def _bodies(read: Callable[[], Awaitable[None]], count: int) -> float:
    before = time.thread_time()
    for _ in range(count):
        await read()
    return (time.thread_time() - before) / count * 1e6


def _per_call(function: Callable[[], object], count: int) -> float:
    before = time.thread_time()
    for _ in range(count):
        function()
    return (time.thread_time() - before) / count * 1e6


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench put_loop")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=4000, help="hand-offs per round and side")
    args = parser.parse_args(argv)
    results: dict[str, list[float]] = {}

    def note(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    pool = WorkerPool()
    random = SystemRandom()
    home = Path(tempfile.mkdtemp(prefix="bench-put-loop-"))
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))

    def tokens(check_seconds: float) -> TokenService:
        return TokenService(
            lambda: SigningKeys.load_or_create(home, random=random, clock=clock),
            clock=clock,
            random=random,
            issuer="bench",
            key_check_seconds=check_seconds,
        )

    per_use, per_second = tokens(0.0), tokens(1.0)

    async def rounds() -> None:
        anyio_hop = lambda: anyio.to_thread.run_sync(_noop)  # noqa: E731
        pool_hop = lambda: pool.run(_noop)  # noqa: E731
        await _hops(anyio_hop, 800)
        await _hops(pool_hop, 800)  # threads started, code warm
        for number in range(args.rounds):
            sides = [("anyio", anyio_hop), ("pool", pool_hop)]
            for name, hop in sides if number % 2 == 0 else sides[::-1]:
                loop_cpu, process_cpu = await _hops(hop, args.calls)
                note(f"hand-off, {name}: loop", loop_cpu)
                note(f"hand-off, {name}: process", process_cpu)
            note("4 KiB body, Starlette stream per piece", await _bodies(_stream_piecewise, 5000))
            note("4 KiB body, prefetch (0247)", await _bodies(_prefetch, 5000))
            note("signing keys, stat per use", _per_call(lambda: per_use.keys, 20000))
            note("signing keys, once a second (0245)", _per_call(lambda: per_second.keys, 20000))
            note("os.urandom(16)", _per_call(lambda: os.urandom(16), 50000))
            note("new_request_id (0246)", _per_call(lambda: new_request_id(random), 50000))

    uvloop.run(rounds())
    print(
        f"event loop fixed costs of a small PUT, {args.rounds} rounds, load average "
        f"{os.getloadavg()[0]:.1f}; CPU µs per operation, median (min-max)"
    )
    for name, values in results.items():
        print(
            f"  {name:42} {statistics.median(values):7.1f}  ({min(values):.1f}-{max(values):.1f})"
        )
    return 0
