"""One HTTP process against several, alternated: ``python -m bench http_workers [options]``.

Starts two servers on SQLite (``lakevault serve --init``, each in a fresh home): one with one
HTTP process, one with ``--http-workers N`` (default 2; ADR 0250). Then, for ``--rounds``
rounds, loads each in turn with 4 KiB PUTs (the lean keep-alive clients of ``bench storage``)
at 8 and at 32 clients for ``--seconds``, the order flipped every round, so both see the same
minutes of a shared machine. Prints each load's PUT/s, p50 and server CPU per PUT (the server
and its child processes), the load average, and the medians. A second process can only add
throughput where a core is free: read the load average beside the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from bench.storage import LakevaultServer, _load, _server_cpu_seconds, _wait_until_idle


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench http_workers", description=__doc__)
    parser.add_argument("--rounds", type=int, default=4, help="alternations per client count")
    parser.add_argument("--seconds", type=float, default=5.0, help="per load")
    parser.add_argument("--workers", type=int, default=2, help="HTTP processes of the second")
    arguments = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lakevault-bench-http-workers-"))
    counts = (1, arguments.workers)
    servers: dict[int, LakevaultServer] = {}
    try:
        print(
            f"python -m bench http_workers {' '.join(argv)}  ({os.cpu_count()} CPUs, load "
            f"average {os.getloadavg()[0]:.1f} at the start)"
        )
        for count in counts:
            extra = ("--http-workers", str(count))
            servers[count] = LakevaultServer(work / f"lv-{count}", *extra, LAKEVAULT_WORKERS="0")
        for server in servers.values():
            _wait_until_idle(server.process.pid)
        results: dict[tuple[int, int], list[tuple[float, float]]] = {}
        print(
            f"{'round':>5} {'clients':>7} {'processes':>9} {'PUT/s':>8} {'p50':>9} "
            f"{'CPU/PUT':>9} {'load':>5}"
        )
        for round_ in range(arguments.rounds):
            for clients in (8, 32):
                order = counts if round_ % 2 == 0 else counts[::-1]
                for count in order:
                    server = servers[count]
                    before = _server_cpu_seconds(server.process.pid)
                    latencies = _load(
                        server.url,
                        lambda i, n, r=round_, c=clients: LakevaultServer.object_path(
                            f"r{r}/c{c}/{i}/{n}"
                        ),
                        server.headers,
                        clients,
                        arguments.seconds,
                    )
                    spent = _server_cpu_seconds(server.process.pid) - before
                    rate = len(latencies) / arguments.seconds
                    cpu = 1000 * spent / max(len(latencies), 1)
                    results.setdefault((count, clients), []).append((rate, cpu))
                    print(
                        f"{round_:>5} {clients:>7} {count:>9} {rate:>6.0f}/s "
                        f"{1000 * statistics.median(latencies):>6.1f} ms {cpu:>6.2f} ms "
                        f"{os.getloadavg()[0]:>5.1f}",
                        flush=True,
                    )
        print("\nmedians")
        for (count, clients), rows in sorted(results.items(), key=lambda kv: kv[0][::-1]):
            print(
                f"{clients:>3} clients, {count} HTTP process(es): "
                f"{statistics.median(r for r, _ in rows):.0f} PUT/s, "
                f"{statistics.median(c for _, c in rows):.2f} ms CPU/PUT"
            )
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0
