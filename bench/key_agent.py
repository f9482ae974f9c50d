"""Operator-blind mode: the cost of unwrapping through a tenant's key agent.

``python -m bench key_agent [--rounds N]`` starts a real key agent process on 127.0.0.1 and
measures, in the same run:

* unwrap through :class:`~lakevault.kms.AgentKeyWrapper` (one HTTPS request over a kept-alive
  mutual-TLS connection per unwrap);
* the first unwrap on a new connection (TCP + TLS 1.3 handshake with client certificate);
* anchor: unwrap with :class:`~lakevault.kms.PlatformTenantKeyWrapper` (HKDF is cached per
  tenant; one AES-GCM open).

The key service caches unwrapped material for 60 s, so the agent's cost is paid once per key
version and process per minute, not per object (docs/keys.md, "Caching").
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tests.unit.kms.agent_process import TENANT, make_agent_directory, start_agent, with_url

from lakevault.core import SystemRandom
from lakevault.kms import AgentKeyWrapper, PlatformRootKey, PlatformTenantKeyWrapper

MATERIAL = bytes(range(32))
AAD = b"arn:aws:kms:local:210987654321:key/bench#1"


def _per_call_us(function: object, rounds: int) -> float:
    call = function  # a zero-argument callable
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            call()  # type: ignore[operator]
        timings.append((time.perf_counter() - start) / rounds * 1e6)
    return min(timings)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench key_agent")
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        directory = Path(work) / "agent"
        connection = make_agent_directory(directory)
        agent = start_agent(directory)
        try:
            connection = with_url(connection, agent.url)
            wrapper = AgentKeyWrapper(connection)
            wrapped = wrapper.wrap(TENANT, MATERIAL, aad=AAD)
            agent_us = _per_call_us(lambda: wrapper.unwrap(TENANT, wrapped, aad=AAD), args.rounds)
            wrapper.close()

            firsts = []
            for _ in range(20):
                fresh = AgentKeyWrapper(connection)
                start = time.perf_counter()
                fresh.unwrap(TENANT, wrapped, aad=AAD)
                firsts.append((time.perf_counter() - start) * 1e6)
                fresh.close()
        finally:
            agent.stop()
    platform = PlatformTenantKeyWrapper(
        lambda: PlatformRootKey(bytes(32), source="bench"), random=SystemRandom()
    )
    local = platform.wrap(TENANT, MATERIAL, aad=AAD)
    local_us = _per_call_us(lambda: platform.unwrap(TENANT, local, aad=AAD), args.rounds * 10)
    print(f"{'measure':<62} {'µs':>10}")
    print(f"{'unwrap through the key agent (kept-alive mutual TLS)':<62} {agent_us:>10.0f}")
    print(
        f"{'first unwrap on a new connection (median of 20, with handshake)':<62} "
        f"{statistics.median(firsts):>10.0f}"
    )
    print(f"{'anchor: unwrap with the platform-derived tenant wrapper':<62} {local_us:>10.1f}")
    print(f"ratio agent / platform: {agent_us / local_us:.0f}x")
    return 0
