"""Multipart uploads through ``lakevault serve`` against a single streamed PUT of the same bytes.

``python -m bench multipart [--size-mib 256] [--part-mib 16]``: one object of SIZE MiB on the
local backend, each transfer with ``curl`` (as ``python -m bench storage``):

* anchor: one PUT of the whole file, and one GET of it;
* the same bytes as a multipart upload: parts sent one after another, then with 2 and 4 parts
  in flight (separate curl processes), each completed; a GET of the completed object (its parts
  streamed in order); the server's peak RSS over the multipart transfers.

Figures go to docs/performance.md ("Multipart uploads").
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.storage import LakevaultServer, _curl, _reset_peak_rss, _rss_mib


def _multipart(
    server: LakevaultServer, key: str, parts: list[Path], in_flight: int, auth: str
) -> float:
    base = f"{server.url}/api/v1/buckets/bench/uploads"
    start = time.perf_counter()
    upload_id = httpx.post(base, json={"key": key}, headers=server.headers, timeout=120).json()[
        "uploadId"
    ]

    def send(number: int) -> dict[str, object]:
        answer = subprocess.run(
            [
                "curl",
                "-sS",
                "-f",
                "-T",
                str(parts[number - 1]),
                "-H",
                auth,
                f"{base}/{upload_id}/parts/{number}",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return {"partNumber": number, "etag": httpx.Response(200, content=answer).json()["etag"]}

    with concurrent.futures.ThreadPoolExecutor(in_flight) as pool:
        listed = list(pool.map(send, range(1, len(parts) + 1)))
    done = httpx.post(
        f"{base}/{upload_id}/complete", json={"parts": listed}, headers=server.headers, timeout=300
    )
    done.raise_for_status()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench multipart")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--part-mib", type=int, default=16)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lakevault-bench-multipart-") as scratch:
        work = Path(scratch)
        source = work / "large.bin"
        parts: list[Path] = []
        with source.open("wb") as whole:
            for index in range(-(-options.size_mib // options.part_mib)):
                part = work / f"part-{index + 1:05d}"
                with part.open("wb") as handle:
                    for _ in range(
                        min(options.part_mib, options.size_mib - index * options.part_mib)
                    ):
                        piece = os.urandom(1024 * 1024)
                        handle.write(piece)
                        whole.write(piece)
                parts.append(part)
        server = LakevaultServer(
            work / "lv", LAKEVAULT_STORAGE_MULTIPART_MIN_PART_BYTES=str(5 * 1024 * 1024)
        )
        auth = f"Authorization: Bearer {server.token}"
        try:
            put = _curl("-T", str(source), "-H", auth, server.object_url("single"))
            get = _curl("-H", auth, server.object_url("single"))
            _reset_peak_rss(server.process.pid)
            timings = {
                flight: _multipart(server, f"multi-{flight}", parts, flight, auth)
                for flight in (1, 2, 4)
            }
            get_multi = _curl("-H", auth, server.object_url("multi-1"))
            peak = _rss_mib(server.process.pid)
        finally:
            server.stop()
    mib = options.size_mib
    print(f"\none {mib} MiB object, {len(parts)} parts of {options.part_mib} MiB, local backend")
    print(f"{'':40}{'MiB/s':>10}{'vs anchor':>12}")
    print(f"{'single PUT (anchor)':40}{mib / put:10.0f}{1.0:12.2f}")
    for flight, seconds in timings.items():
        label = f"multipart, {flight} part(s) in flight"
        print(f"{label:40}{mib / seconds:10.0f}{put / seconds:12.2f}")
    print(f"{'single GET (anchor)':40}{mib / get:10.0f}{1.0:12.2f}")
    print(f"{'GET of the multipart object':40}{mib / get_multi:10.0f}{get / get_multi:12.2f}")
    print(f"server peak RSS during the multipart transfers: {peak:.0f} MiB")
    return 0
