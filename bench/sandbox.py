"""Benchmark of sandboxed functions: ``python -m bench sandbox [--samples N] [--seconds S]``.

Measured in one run, side by side:

* cold invocation latency: a trivial handler, each call a fresh single-use sandbox forked from
  a warm zygote with every layer (user, pid, net, mount, ipc, uts and cgroup namespaces,
  pivot_root, per-slot uid without capabilities, no_new_privs, seccomp, cgroup limits,
  rlimits), from ``invoke`` to the parsed outcome;
* the anchor, interleaved with it so both see the same load: a plain ``python -c pass``
  subprocess of the same interpreter;
* throughput with 2 zygotes (so 2 sandboxes at once) kept busy by 4 caller threads, for S
  seconds;
* CPU time per invocation, all processes together (supervisor, zygote, sandbox),
  from a cpuacct cgroup the benchmark puts itself in — the figure that load on a shared
  machine changes least; ``2 cores / CPU per invocation`` is the capacity it implies;
* the external anchor: Firecracker's published ~125 ms microVM boot (not measured here).

Targets (issue 8): median cold <= 15 ms and <= 0.6x ``python -c pass``; >= 80 invocations/s.
The machine is shared and noisy: compare ratios in one run rather than absolute numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lakevault.sandbox import FunctionCode, Status, Supervisor, SupervisorSettings

FIRECRACKER_BOOT_MS = 125.0
TARGET_MS = 15.0
TARGET_RATIO = 0.6
TARGET_PER_SECOND = 80.0
#: Callers for the throughput run: more than the 2 zygotes, so that both stay busy (saturation).
_CALLERS = 4


class _CPUMeter:
    """CPU nanoseconds of this process and all its descendants, from a cgroup v1 cpuacct
    hierarchy of its own (None where cpuacct is not a separate v1 hierarchy)."""

    def __init__(self) -> None:
        self.directory: Path | None = None
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        own = [line.split(":", 2)[2] for line in lines if line.split(":")[1] == "cpuacct"]
        base = Path("/sys/fs/cgroup/cpuacct")
        if own and (base / "cpuacct.usage").exists():
            self.parent = base / own[0].lstrip("/")
            self.directory = self.parent / f"lakevault-bench-{os.getpid()}"
            self.directory.mkdir()
            (self.directory / "cgroup.procs").write_text("0")

    def read(self) -> int | None:
        if self.directory is None:
            return None
        return int((self.directory / "cpuacct.usage").read_text())

    def close(self) -> None:
        if self.directory is not None:
            (self.parent / "cgroup.procs").write_text("0")
            time.sleep(0.2)
            with contextlib.suppress(OSError):
                self.directory.rmdir()


def _plain_python_ms() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - started) * 1000


def _invoke_ms(supervisor: Supervisor, code: FunctionCode) -> float:
    started = time.perf_counter()
    outcome = supervisor.invoke(code, {"n": 1})
    elapsed = (time.perf_counter() - started) * 1000
    if outcome.status is not Status.OK:
        raise SystemExit(f"the trivial handler did not succeed: {outcome.to_json()}")
    return elapsed


def _throughput(supervisor: Supervisor, code: FunctionCode, seconds: float) -> float:
    count = [0] * _CALLERS
    stop = time.monotonic() + seconds

    def caller(index: int) -> None:
        while time.monotonic() < stop:
            if supervisor.invoke(code, {"n": index}).status is Status.OK:
                count[index] += 1

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(_CALLERS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(count) / (time.monotonic() - started)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench sandbox")
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=5.0)
    arguments = parser.parse_args(argv)
    meter = _CPUMeter()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "trivial.py"
        path.write_text("def handler(event, context):\n    return event\n")
        code = FunctionCode(path=path)
        with Supervisor(SupervisorSettings(zygotes=2)) as supervisor:
            for _ in range(5):  # warm the page cache and both zygotes
                _invoke_ms(supervisor, code)
                _plain_python_ms()
            sandbox: list[float] = []
            plain: list[float] = []
            for _ in range(arguments.samples):
                sandbox.append(_invoke_ms(supervisor, code))
                plain.append(_plain_python_ms())
                time.sleep(0.005)
            per_second = _throughput(supervisor, code, arguments.seconds)
            time.sleep(0.3)
            before = meter.read()
            for _ in range(arguments.samples):
                _invoke_ms(supervisor, code)
            time.sleep(0.3)  # the last sandboxes' teardown
            after = meter.read()
        before_plain = meter.read()
        for _ in range(10):
            _plain_python_ms()
        after_plain = meter.read()
    meter.close()
    sandbox_ms = statistics.median(sandbox)
    plain_ms = statistics.median(plain)
    ratio = sandbox_ms / plain_ms
    print(f"samples: {arguments.samples} interleaved pairs; throughput over {arguments.seconds}s")
    print(
        f"cold sandbox, full confinement  median {sandbox_ms:7.2f} ms   "
        f"p90 {statistics.quantiles(sandbox, n=10)[-1]:7.2f} ms   target <= {TARGET_MS} ms"
    )
    print(f"plain `python -c pass`          median {plain_ms:7.2f} ms")
    print(f"ratio sandbox / plain python    {ratio:7.2f}x           target <= {TARGET_RATIO}x")
    print(f"throughput, 2 zygotes           {per_second:7.1f} /s          target >= 80 /s")
    if before is not None and after is not None and before_plain is not None:
        cpu_ms = (after - before) / arguments.samples / 1e6
        plain_cpu_ms = ((after_plain or 0) - before_plain) / 10 / 1e6
        print(
            f"CPU per invocation, all processes {cpu_ms:5.2f} ms  "
            f"(plain python {plain_cpu_ms:.2f} ms) -> capacity on 2 cores ~{2000 / cpu_ms:.0f} /s"
        )
    print(
        f"Firecracker microVM boot        ~{FIRECRACKER_BOOT_MS:.0f} ms (published; not measured)"
    )
    met = sandbox_ms <= TARGET_MS and ratio <= TARGET_RATIO and per_second >= TARGET_PER_SECOND
    print("targets met" if met else "targets NOT met")
    return 0
