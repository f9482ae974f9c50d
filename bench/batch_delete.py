"""DeleteObjects against one DELETE per key, through ``lakevault serve`` (ADR 0187).

``python -m bench batch_delete [--keys 500]``: a fresh server on the local backend and SQLite;
twice KEYS small objects are put, then

* anchor: KEYS single ``DELETE .../objects/KEY`` requests, one after another, on one keep-alive
  connection (what ``lakevault rm -r`` did before);
* DeleteObjects: the other KEYS in ``POST .../delete`` requests of at most 1,000 keys.

Both do the same work per key on the server (a gate decision, a lock check, a transaction and
the audit events); the batch saves the round trips. Figures go to docs/performance.md
("DeleteObjects").
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import tempfile
import time
from pathlib import Path

import httpx

from bench.storage import LakevaultServer

_BATCH = 1000


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench batch_delete")
    parser.add_argument("--keys", type=int, default=500)
    options = parser.parse_args(argv)
    keys = options.keys
    with tempfile.TemporaryDirectory(prefix="lakevault-bench-batch-delete-") as scratch:
        server = LakevaultServer(Path(scratch))
        try:
            with httpx.Client(headers=server.headers, timeout=300) as client:
                for index in range(2 * keys):
                    client.put(server.object_url(f"k/{index:06d}"), content=b"x").raise_for_status()
                start = time.perf_counter()
                for index in range(keys):
                    client.delete(server.object_url(f"k/{index:06d}")).raise_for_status()
                single = time.perf_counter() - start
                names = [f"k/{index:06d}" for index in range(keys, 2 * keys)]
                start = time.perf_counter()
                deleted = 0
                for first in range(0, len(names), _BATCH):
                    body = json.dumps(
                        {"objects": [{"key": k} for k in names[first : first + _BATCH]]}
                    ).encode()
                    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
                    answer = client.post(
                        f"{server.url}/api/v1/buckets/bench/delete",
                        content=body,
                        headers={"x-amz-checksum-sha256": digest},
                    )
                    answer.raise_for_status()
                    deleted += len(answer.json()["deleted"])
                batch = time.perf_counter() - start
        finally:
            server.stop()
    if deleted != keys:
        print(f"DeleteObjects deleted {deleted} of {keys} keys")
        return 1
    print(f"{keys} keys, one after another, same server, same run")
    print(f"  anchor: single DELETEs   {single:7.2f} s  {keys / single:8.1f} keys/s")
    print(f"  DeleteObjects            {batch:7.2f} s  {keys / batch:8.1f} keys/s")
    print(f"  DeleteObjects / anchor   {single / batch:7.2f}x")
    return 0
