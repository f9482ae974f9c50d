"""Whole servers of two source trees, alternated: ``python -m bench server_trees --src A/src
--src B/src [--clients N] [--http-workers N [--http-workers M]] [--rounds R] [--seconds S]``.

The comparison behind each change to the small PUT's path (docs/performance.md, session 9):
one ``lakevault serve --init`` per tree (SQLite, each in a fresh home, ``PYTHONPATH`` set to the
tree's ``src``, no job workers), both started before the first load, then loaded in turn with
4 KiB PUTs (the lean keep-alive clients of ``bench storage``) for ``--seconds``, the order
flipped every round, so both see the same minutes of a shared machine whose speed drifts from
one minute to the next. Prints per load PUT/s, server CPU per PUT (the server and its child
processes) and voluntary plus involuntary context switches per PUT (every thread of the server
and its children, from ``/proc``: the GIL changing hands shows here), then the medians and in
how many rounds the second tree spent less CPU per PUT. Trees are made with ``git archive REV |
tar -x -C DIR``; ``--src`` is the ``src`` directory inside. ``--http-workers`` (default 2)
given twice sets A's and B's process counts apart: the same tree twice then compares two
process counts in the same minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import tempfile
from pathlib import Path

from bench.storage import LakevaultServer, _load, _server_cpu_seconds, _wait_until_idle

_SWITCHES = re.compile(r"ctxt_switches:\s+(\d+)")


def _context_switches(pid: int) -> int:
    """Context switches of every thread of ``pid`` and of its child processes so far."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0
    for process in [pid, *map(int, children)]:
        try:
            for thread in os.listdir(f"/proc/{process}/task"):
                status = Path(f"/proc/{process}/task/{thread}/status").read_text()
                total += sum(int(count) for count in _SWITCHES.findall(status))
        except FileNotFoundError:  # a thread (or a process) ended while being read
            continue
    return total


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench server_trees", description=__doc__)
    parser.add_argument("--src", action="append", required=True, help="a tree's src (twice)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients per load")
    parser.add_argument(
        "--http-workers",
        type=int,
        action="append",
        help="HTTP processes per server (default 2); twice: A's, then B's",
    )
    parser.add_argument("--rounds", type=int, default=6, help="alternations")
    parser.add_argument("--seconds", type=float, default=5.0, help="per load")
    arguments = parser.parse_args(argv)
    if len(arguments.src) != 2:
        parser.error("give --src exactly twice: the tree before and the tree after")
    workers = arguments.http_workers or [2]
    if len(workers) > 2:
        parser.error("give --http-workers once (both trees) or twice (A's, then B's)")
    workers = workers * 2 if len(workers) == 1 else workers
    trees = [str(Path(src).resolve()) for src in arguments.src]
    for tree in trees:
        if not Path(tree, "lakevault", "__init__.py").is_file():
            parser.error(f"{tree} holds no lakevault package; give a tree's src directory")
    work = Path(tempfile.mkdtemp(prefix="lakevault-bench-server-trees-"))
    servers: list[LakevaultServer] = []
    try:
        print(
            f"python -m bench server_trees {' '.join(argv)}  ({os.cpu_count()} CPUs, load "
            f"average {os.getloadavg()[0]:.1f} at the start)"
        )
        for index, tree in enumerate(trees):
            servers.append(
                LakevaultServer(
                    work / f"tree-{index}",
                    "--http-workers",
                    str(workers[index]),
                    PYTHONPATH=tree,
                    LAKEVAULT_WORKERS="0",
                )
            )
        for server in servers:
            _wait_until_idle(server.process.pid)
        results: list[list[tuple[float, float, float]]] = [[], []]
        print(
            f"{'round':>5} {'tree':>4} {'PUT/s':>8} {'CPU/PUT':>10} {'switches/PUT':>13} "
            f"{'load':>5}"
        )
        for round_ in range(arguments.rounds):
            for index in (0, 1) if round_ % 2 == 0 else (1, 0):
                server = servers[index]
                pid = server.process.pid
                cpu, switches = _server_cpu_seconds(pid), _context_switches(pid)
                latencies = _load(
                    server.url,
                    lambda i, n, r=round_: LakevaultServer.object_path(f"r{r}/{i}/{n}"),
                    server.headers,
                    arguments.clients,
                    arguments.seconds,
                )
                puts = max(len(latencies), 1)
                row = (
                    len(latencies) / arguments.seconds,
                    1000 * (_server_cpu_seconds(pid) - cpu) / puts,
                    (_context_switches(pid) - switches) / puts,
                )
                results[index].append(row)
                print(
                    f"{round_:>5} {'AB'[index]:>4} {row[0]:>6.0f}/s {row[1]:>7.2f} ms "
                    f"{row[2]:>13.1f} {os.getloadavg()[0]:>5.1f}",
                    flush=True,
                )
        print("\nmedians")
        for index, tree in enumerate(trees):
            rows = results[index]
            print(
                f"  {'AB'[index]} {tree} ({workers[index]} HTTP processes): "
                f"{statistics.median(r[0] for r in rows):.0f} PUT/s, "
                f"{statistics.median(r[1] for r in rows):.2f} ms CPU/PUT, "
                f"{statistics.median(r[2] for r in rows):.1f} switches/PUT"
            )
        lower = sum(b[1] < a[1] for a, b in zip(results[0], results[1], strict=True))
        print(f"  B spent less CPU per PUT than A in {lower} of {arguments.rounds} rounds")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0
