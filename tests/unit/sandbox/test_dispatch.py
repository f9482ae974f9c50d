"""Concurrency limits per function and tenant, the bounded queue, and the metrics."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lakevault.sandbox import (
    ConcurrencyLimits,
    Dispatcher,
    FunctionCode,
    SandboxBusy,
    Status,
    Supervisor,
)
from tests.unit.sandbox.conftest import WriteFunction

SLEEPER = """
import time
def handler(event, context):
    time.sleep(event["seconds"])
    return "slept"
"""


def _start_sleeping(dispatcher: Dispatcher, code: FunctionCode, *, tenant: str, function: str):
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(
        dispatcher.invoke, tenant=tenant, function=function, code=code, event={"seconds": 1.0}
    )
    deadline = time.monotonic() + 5
    while dispatcher._running_by_tenant[tenant] == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    return pool, future


def test_per_function_limit_with_no_queue_refuses_at_once(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(SLEEPER)
    dispatcher = Dispatcher(supervisor, ConcurrencyLimits(per_function=1, queue_size=0))
    throttled_before = supervisor.metrics.snapshot().throttled
    pool, first = _start_sleeping(dispatcher, code, tenant="t1", function="f")
    started = time.monotonic()
    with pytest.raises(SandboxBusy) as caught:
        dispatcher.invoke(tenant="t1", function="f", code=code, event={"seconds": 0})
    assert time.monotonic() - started < 0.5  # refused at once, not after a wait
    assert caught.value.code == "TooManyRequestsException"
    assert caught.value.http_status == 429
    assert "'f' of tenant t1 is at its concurrency limit" in caught.value.message
    # Another function of the same tenant is not held back by f's limit.
    other = dispatcher.invoke(tenant="t1", function="g", code=code, event={"seconds": 0})
    assert other.status is Status.OK
    assert first.result().result == "slept"
    pool.shutdown()
    assert supervisor.metrics.snapshot().throttled == throttled_before + 1


def test_per_tenant_limit_spans_functions(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(SLEEPER)
    dispatcher = Dispatcher(
        supervisor, ConcurrencyLimits(per_function=4, per_tenant=1, queue_size=0)
    )
    pool, first = _start_sleeping(dispatcher, code, tenant="t2", function="f")
    with pytest.raises(SandboxBusy):
        dispatcher.invoke(tenant="t2", function="g", code=code, event={"seconds": 0})
    # Another tenant is unaffected.
    assert (
        dispatcher.invoke(tenant="t3", function="f", code=code, event={"seconds": 0}).status
        is Status.OK
    )
    first.result()
    pool.shutdown()


def test_the_queue_holds_a_bounded_number_and_then_runs_them(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(SLEEPER)
    dispatcher = Dispatcher(supervisor, ConcurrencyLimits(per_function=1, queue_size=1))
    pool, first = _start_sleeping(dispatcher, code, tenant="t4", function="f")
    waiter_pool = ThreadPoolExecutor(max_workers=1)
    queued = waiter_pool.submit(
        dispatcher.invoke, tenant="t4", function="f", code=code, event={"seconds": 0}
    )
    deadline = time.monotonic() + 5
    while dispatcher.waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert dispatcher.waiting == 1
    with pytest.raises(SandboxBusy, match="the queue is full"):
        dispatcher.invoke(tenant="t4", function="f", code=code, event={"seconds": 0})
    assert first.result().status is Status.OK
    assert queued.result(timeout=10).status is Status.OK  # it ran once there was room
    pool.shutdown()
    waiter_pool.shutdown()


def test_a_queued_invocation_gives_up_after_the_queue_timeout(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(SLEEPER)
    dispatcher = Dispatcher(
        supervisor, ConcurrencyLimits(per_function=1, queue_size=4, queue_timeout_seconds=0.2)
    )
    pool, first = _start_sleeping(dispatcher, code, tenant="t5", function="f")
    with pytest.raises(SandboxBusy, match=r"waited 0\.2s for a free slot"):
        dispatcher.invoke(tenant="t5", function="f", code=code, event={"seconds": 0})
    first.result()
    pool.shutdown()


def test_invocations_run_in_parallel_up_to_the_limits(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(SLEEPER)
    dispatcher = Dispatcher(supervisor, ConcurrencyLimits(per_function=4, per_tenant=4))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(
                dispatcher.invoke, tenant="t6", function="f", code=code, event={"seconds": 0.5}
            )
            for _ in range(4)
        ]
        results = [f.result().result for f in futures]
    assert results == ["slept"] * 4
    assert time.monotonic() - started < 1.8  # four half-second sleeps, not two seconds


def test_metrics_count_statuses_kills_and_warm_starts(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    before = supervisor.metrics.snapshot()
    ok = write_function("def handler(e, c):\n    return 1\n")
    spin = write_function("def handler(e, c):\n    while True: pass\n")
    from lakevault.sandbox import Limits

    supervisor.invoke(ok, {})
    supervisor.invoke(spin, {}, limits=Limits(timeout_seconds=1))
    after = supervisor.metrics.snapshot()
    assert after.invocations == before.invocations + 2
    assert after.by_status.get("ok", 0) == before.by_status.get("ok", 0) + 1
    assert after.by_status.get("timeout", 0) == before.by_status.get("timeout", 0) + 1
    assert after.kills_by_reason.get("deadline", 0) == before.kills_by_reason.get("deadline", 0) + 1
    assert after.warm_starts == before.warm_starts + 2
    assert after.prepared_starts >= before.prepared_starts + 1  # at least the second one
    assert after.median_duration_ms is not None


def test_a_killed_zygote_is_replaced_cold(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    import os
    import signal

    code = write_function("def handler(e, c):\n    return 'after'\n")
    victim = supervisor.zygote_pids[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while victim in _live_pids() and time.monotonic() < deadline:
        time.sleep(0.01)
    before = supervisor.metrics.snapshot().cold_starts
    results = set()
    for _ in range(40):  # until the dead zygote's slot comes round
        results.add(supervisor.invoke(code, {}).result)
        if victim not in supervisor.zygote_pids:
            break
    assert results == {"after"}
    assert victim not in supervisor.zygote_pids
    assert len(supervisor.zygote_pids) == 4
    assert supervisor.metrics.snapshot().cold_starts == before + 1


def _live_pids() -> set[int]:
    import os

    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            state = stat.rsplit(")", 1)[1].split()[0]
            if state != "Z":
                pids.add(int(entry))
    return pids


def test_thread_safety_under_concurrent_callers(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function("def handler(e, c):\n    return e['n'] * 2\n")
    errors: list[BaseException] = []

    def call(n: int) -> None:
        try:
            assert supervisor.invoke(code, {"n": n}).result == n * 2
        except Exception as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
