"""The upload hand-off pool (ADR 0248): results and errors come back to the caller, the call
sees the caller's context, threads are bounded and reused, a cancelled caller still waits for
its call, and idle workers end."""

from __future__ import annotations

import contextvars
import threading
import time

import anyio
import pytest

from lakevault.api._handoff import WorkerPool

_REQUEST = contextvars.ContextVar[str]("request", default="none")


def test_a_result_and_an_error_come_back_to_the_caller() -> None:
    pool = WorkerPool()

    def fails() -> int:
        raise LookupError("from the worker")

    async def main() -> None:
        assert await pool.run(lambda: threading.current_thread().name) == "lakevault-upload"
        with pytest.raises(LookupError, match="from the worker"):
            await pool.run(fails)
        assert await pool.run(lambda: 7) == 7  # the worker survives an error

    anyio.run(main)


def test_the_call_sees_the_caller_s_context_and_cannot_change_it() -> None:
    pool = WorkerPool()

    def reads_and_writes() -> str:
        seen = _REQUEST.get()
        _REQUEST.set("changed in the worker")
        return seen

    async def one(name: str) -> None:
        _REQUEST.set(name)
        assert await pool.run(reads_and_writes) == name
        assert _REQUEST.get() == name

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for number in range(20):
                group.start_soon(one, f"request-{number}")

    anyio.run(main)


def test_threads_are_bounded_and_calls_beyond_them_queue_in_order() -> None:
    pool = WorkerPool(max_threads=2)
    gate = threading.Event()
    order: list[int] = []
    running = 0
    most = 0
    lock = threading.Lock()

    def call(number: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        gate.wait(5)
        with lock:
            running -= 1
            order.append(number)
        return number

    async def main() -> None:
        results: list[int] = []

        async def one(number: int) -> None:
            results.append(await pool.run(lambda: call(number)))

        async with anyio.create_task_group() as group:
            for number in range(6):
                group.start_soon(one, number)
                await anyio.sleep(0.01)  # arrival order is the number
            await anyio.sleep(0.1)
            assert pool.threads == 2
            gate.set()
        assert sorted(results) == list(range(6))

    anyio.run(main)
    assert most == 2
    assert sorted(order) == list(range(6))


def test_queued_calls_run_in_arrival_order() -> None:
    pool = WorkerPool(max_threads=1)
    gate = threading.Event()
    order: list[int] = []

    def call(number: int) -> None:
        gate.wait(5)
        order.append(number)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for number in range(5):
                group.start_soon(pool.run, lambda number=number: call(number))
                await anyio.sleep(0.01)  # arrival order is the number
            gate.set()

    anyio.run(main)
    assert order == [0, 1, 2, 3, 4]


def test_an_idle_worker_is_reused() -> None:
    pool = WorkerPool()

    async def main() -> set[int]:
        return {await pool.run(threading.get_ident) for _ in range(50)}

    assert len(anyio.run(main)) == 1
    assert pool.threads == 1


def test_a_cancelled_caller_still_waits_for_its_call() -> None:
    # As anyio's run_sync: a request cancelled mid-upload never leaves the upload running
    # unobserved; the cancellation takes effect once the call has returned.
    pool = WorkerPool()
    finished: list[float] = []

    def slow() -> None:
        time.sleep(0.3)
        finished.append(time.monotonic())

    async def main() -> float:
        with anyio.move_on_after(0.05):
            await pool.run(slow)
        return time.monotonic()

    returned = anyio.run(main)
    assert finished and finished[0] <= returned


def test_idle_workers_end() -> None:
    pool = WorkerPool(idle_seconds=0.1)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(pool.run, lambda: time.sleep(0.05))

    anyio.run(main)
    assert pool.threads >= 1
    deadline = time.monotonic() + 5
    while pool.threads and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pool.threads == 0
    assert anyio.run(pool.run, lambda: 3) == 3  # and a new call starts a new one


def test_max_threads_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WorkerPool(max_threads=0)
