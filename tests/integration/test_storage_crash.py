"""kill -9 of the server in the middle of 1,000 concurrent uploads: nothing acknowledged is lost,
nothing partial is visible, and after the sweep no orphan blob (nor its data key) remains."""

from __future__ import annotations

import concurrent.futures
import hashlib
import random
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from lakevault.core import load_settings
from lakevault.db import models
from lakevault.runtime import Platform
from tests.integration.conftest import tenant_headers

UPLOADS = 1000
CLIENTS = 32


def _body(index: int) -> bytes:
    """Every upload's bytes follow from its key, so any visible object can be checked. Sizes run
    from 128 B to 87.5 KiB: about three in four are stored inline (ADR 0272), the rest as blobs."""
    seed = hashlib.sha256(f"object-{index}".encode()).digest()
    return seed * 4 * (1 + index * 7 % 700)


def test_kill_9_during_concurrent_uploads_loses_nothing_acknowledged(
    tmp_path: Path, start_server: object
) -> None:
    home = tmp_path / "home"
    server, _ = start_server(home, "--init")  # type: ignore[operator]
    url = server.url
    headers = tenant_headers(server, "crashers")
    assert httpx.post(f"{url}/api/v1/buckets", json={"name": "crash"}, headers=headers)

    acknowledged: set[int] = set()
    lock = threading.Lock()
    started = threading.Event()

    def upload(index: int) -> None:
        try:
            response = httpx.put(
                f"{url}/api/v1/buckets/crash/objects/o/{index}",
                content=_body(index),
                headers=headers,
                timeout=60,
            )
        except httpx.HTTPError:
            return
        if response.status_code == 200:
            with lock:
                acknowledged.add(index)
                if len(acknowledged) >= 50:
                    started.set()

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(upload, index) for index in range(UPLOADS)]
        assert started.wait(timeout=300), "the uploads did not get going"
        time.sleep(random.uniform(0.0, 2.0))
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
        with lock:
            acknowledged_at_kill = set(acknowledged)
        concurrent.futures.wait(futures, timeout=120)
    assert len(acknowledged_at_kill) > 0

    # The restarted server serves every acknowledged object exactly as it was sent.
    again, _ = start_server(home)  # type: ignore[operator]
    for index in sorted(acknowledged_at_kill):
        got = httpx.get(
            f"{again.url}/api/v1/buckets/crash/objects/o/{index}", headers=headers, timeout=60
        )
        assert got.status_code == 200, (index, got.text)
        assert got.content == _body(index)
    again.process.send_signal(signal.SIGTERM)
    again.process.wait(timeout=30)

    platform = Platform.build(load_settings({"LAKEVAULT_HOME": str(home)}))
    try:
        with platform.database.read_session() as session:
            rows = session.scalars(
                select(models.ObjectVersion).where(models.ObjectVersion.bucket_name == "crash")
            ).all()
            visible = {int(row.key.rsplit("/", 1)[1]): row for row in rows}
        # Every acknowledged upload is there (the kill may also have come after a commit whose
        # answer never reached the client: such an object is there too, whole).
        assert set(acknowledged) <= set(visible)
        for index, row in visible.items():
            body = _body(index)
            assert row.size == len(body)
            assert row.sha256 == hashlib.sha256(body).hexdigest()
        objects_dir = home / "objects"
        with platform.database.read_session() as session:
            inline = {
                row.version_id: len(row.data)
                for row in session.scalars(select(models.InlineObjectData)).all()
            }
        blobs = {row.blob_path for row in visible.values() if row.version_id not in inline}
        assert inline and blobs, "the uploads should have made both kinds"
        for row in visible.values():
            assert row.blob_path is not None
            if row.version_id in inline:
                assert row.blob_path.startswith("inline:")
                assert inline[row.version_id] == row.stored_size
            else:
                assert (objects_dir / row.blob_path).stat().st_size == row.stored_size
        assert set(inline) <= {row.version_id for row in visible.values()}
        removed = platform.storage.objects.sweep_orphans(older_than=timedelta(0))
        with platform.database.read_session() as session:
            journal = session.scalar(select(func.count()).select_from(models.BlobJournal))
        assert journal == 0
        on_disk = {
            p.relative_to(objects_dir).as_posix() for p in objects_dir.rglob("*") if p.is_file()
        }
        assert on_disk == blobs, removed
    finally:
        platform.close()
