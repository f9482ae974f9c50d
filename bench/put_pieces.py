"""Where a 4 KiB PUT's pre-write Python goes, per function, inside ``lakevault serve``:
``python -m bench put_pieces [--src TREE/src ...] [--seconds S] [--clients N] [--rounds R]``.

The ``bench.storage`` server (SQLite, token auth) and its lean clients, with a
``sitecustomize`` (written to a temporary directory put first on the server's ``PYTHONPATH``)
that sums ``time.thread_time_ns()`` around the pieces a PUT runs before it writes: the token's
principal, the gate (its evaluation and its event), the data key (its key-policy check), the
encryption context, the change event, and ``Objects.put_object`` around them all. Thread CPU: a
wait is not counted, system time and GIL hand-overs inside a call are. Each ``--src`` is one
tree (an export such as ``git archive REV | tar -x -C DIR``); the trees run alternately, in the
order given then reversed, so "before" and "after" share the same minutes (ADR 0257). The
first tree is the anchor the others are compared with.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench.storage import LakevaultServer, _load, _server_cpu_seconds, _wait_until_idle

#: (label, module, attribute path) of each function measured.
PIECES = (
    ("put_object (all below and more)", "lakevault.storage._objects", "Objects.put_object"),
    ("principal_for_token", "lakevault.identity", "principal_for_token"),
    ("Gate.authorize", "lakevault.gate._gate", "Gate.authorize"),
    ("  Gate._evaluate", "lakevault.gate._gate", "Gate._evaluate"),
    ("  Gate._record", "lakevault.gate._gate", "Gate._record"),
    ("generate_data_key", "lakevault.keys._service_keys", "ServiceKeys.generate_data_key"),
    (
        "  _require_service_allowed",
        "lakevault.keys._service_keys",
        "ServiceKeys._require_service_allowed",
    ),
    ("EncryptionContext.for_object", "lakevault.kms", "EncryptionContext.for_object"),
    ("StorageCore.change_event", "lakevault.storage._core", "StorageCore.change_event"),
)

_SITECUSTOMIZE = """
import atexit, functools, importlib, os, threading, time
_OUT = os.environ.get("BENCH_PUT_PIECES_OUT")
if _OUT:
    _totals = {}
    _lock = threading.Lock()

    def _wrap(label, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            started = time.thread_time_ns()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.thread_time_ns() - started
                with _lock:
                    entry = _totals.setdefault(label, [0, 0])
                    entry[0] += 1
                    entry[1] += spent
        return timed

    importlib.import_module("lakevault.storage._objects")
    for label, module_name, path in PIECES:
        owner = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        raw = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        if isinstance(raw, classmethod):
            setattr(owner, name, classmethod(_wrap(label, raw.__func__)))
        else:
            setattr(owner, name, _wrap(label, raw))
    # api._auth calls identity.principal_for_token through the module: patched above.
    # (The output path is not a LAKEVAULT_ variable: the bench's server drops those.)

    def _dump():
        with open(_OUT, "w") as out:
            for label, (calls, ns) in _totals.items():
                out.write(f"{label}\\t{calls}\\t{ns}\\n")

    atexit.register(_dump)
"""


def _run(
    src: str, seconds: float, clients: int, hook: Path
) -> tuple[float, float, dict[str, float]]:
    """PUT/s, server ms CPU per PUT, and µs of thread CPU per PUT for each piece."""
    out = Path(tempfile.mkstemp(prefix="put-pieces-")[1])
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "BENCH_PUT_PIECES_OUT")}
    os.environ["PYTHONPATH"] = f"{hook}{os.pathsep}{src}"
    os.environ["BENCH_PUT_PIECES_OUT"] = str(out)
    try:
        with tempfile.TemporaryDirectory() as work:
            server = LakevaultServer(Path(work) / "s")
            try:
                _wait_until_idle(server.process.pid)
                _load(server.url, lambda i, n: server.object_path(f"w{i}/o{n}"), server.headers,
                      clients, 1)  # fmt: skip
                before = _server_cpu_seconds(server.process.pid)
                latencies = _load(server.url, lambda i, n: server.object_path(f"c{i}/o{n}"),
                                  server.headers, clients, seconds)  # fmt: skip
                spent = _server_cpu_seconds(server.process.pid) - before
            finally:
                server.stop()
        deadline = time.monotonic() + 10
        while not out.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        rows = [line.split("\t") for line in out.read_text().splitlines()]
    finally:
        out.unlink(missing_ok=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    totals = {label: (int(calls), int(ns)) for label, calls, ns in rows}
    puts = totals.get(PIECES[0][0], (0, 0))[0] or 1
    per_put = {label: ns / 1000 / puts for label, (_, ns) in totals.items()}
    return len(latencies) / seconds, 1000 * spent / max(len(latencies), 1), per_put


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench put_pieces", description=__doc__)
    parser.add_argument("--src", action="append", help="a tree's src directory (repeatable)")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    sources = args.src or [str(Path(__file__).resolve().parent.parent / "src")]
    results: dict[str, list[tuple[float, float, dict[str, float]]]] = {s: [] for s in sources}
    with tempfile.TemporaryDirectory() as hook:
        pieces = f"PIECES = {PIECES!r}\n"
        Path(hook, "sitecustomize.py").write_text(pieces + textwrap.dedent(_SITECUSTOMIZE))
        for round_number in range(args.rounds):
            order = sources if round_number % 2 == 0 else sources[::-1]
            for src in order:
                result = _run(src, args.seconds, args.clients, Path(hook))
                results[src].append(result)
                print(f"round {round_number + 1} {src}: {result[0]:.0f} PUT/s, "
                      f"{result[1]:.2f} ms server CPU/PUT, load "
                      f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    print(f"\nus of thread CPU per PUT ({args.clients} clients, SQLite), per round; "
          f"anchor: {sources[0]}")  # fmt: skip
    for label, _, _ in PIECES:
        cells = [" / ".join(f"{r[2].get(label, 0.0):.1f}" for r in results[src]) for src in sources]
        print(f"  {label:32} " + "  |  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
