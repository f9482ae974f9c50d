"""kill -9 of the server in the middle of concurrent CompleteMultipartUpload calls: every upload
is afterwards either still an upload or a whole object (never both, never half an object), and
after the cleanup no part blob, part row, upload row or wrapped data key is left over."""

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

from lakevault import storage
from lakevault.core import load_settings
from lakevault.db import models
from lakevault.runtime import Platform
from tests.integration.conftest import tenant_headers

UPLOADS = 160
CLIENTS = 16
MIN_PART = 1024


def _part(index: int, number: int) -> bytes:
    seed = hashlib.sha256(f"upload-{index}-part-{number}".encode()).digest()
    return seed * (64 if number == 1 else 1 + index % 50)


def test_kill_9_during_concurrent_completes_leaves_uploads_or_whole_objects(
    tmp_path: Path, start_server: object
) -> None:
    home = tmp_path / "home"
    extra = {"LAKEVAULT_STORAGE_MULTIPART_MIN_PART_BYTES": str(MIN_PART)}
    server, _ = start_server(home, "--init", **extra)  # type: ignore[operator]
    url = server.url
    headers = tenant_headers(server, "mpcrash")
    base = f"{url}/api/v1/buckets/mpcrash"
    assert httpx.post(f"{url}/api/v1/buckets", json={"name": "mpcrash"}, headers=headers)

    def prepare(index: int) -> tuple[str, list[dict[str, object]]]:
        upload_id = httpx.post(
            f"{base}/uploads", json={"key": f"o/{index}"}, headers=headers, timeout=60
        ).json()["uploadId"]
        parts = []
        for number in (1, 2):
            answer = httpx.put(
                f"{base}/uploads/{upload_id}/parts/{number}",
                content=_part(index, number),
                headers=headers,
                timeout=60,
            )
            assert answer.status_code == 200, answer.text
            parts.append({"partNumber": number, "etag": answer.json()["etag"]})
        return upload_id, parts

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        prepared = list(pool.map(prepare, range(UPLOADS)))

    acknowledged: set[int] = set()
    lock = threading.Lock()
    started = threading.Event()

    def complete(index: int) -> None:
        upload_id, parts = prepared[index]
        try:
            response = httpx.post(
                f"{base}/uploads/{upload_id}/complete",
                json={"parts": parts},
                headers=headers,
                timeout=60,
            )
        except httpx.HTTPError:
            return
        if response.status_code == 200:
            with lock:
                acknowledged.add(index)
                if len(acknowledged) >= 10:
                    started.set()

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(complete, index) for index in range(UPLOADS)]
        assert started.wait(timeout=300), "the completes did not get going"
        time.sleep(random.uniform(0.0, 0.3))
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
        with lock:
            acknowledged_at_kill = set(acknowledged)
        concurrent.futures.wait(futures, timeout=120)
    assert acknowledged_at_kill

    # The restarted server serves every acknowledged object whole.
    again, _ = start_server(home, **extra)  # type: ignore[operator]
    for index in sorted(acknowledged_at_kill):
        got = httpx.get(f"{base.replace(url, again.url)}/objects/o/{index}", headers=headers)
        assert got.status_code == 200, (index, got.text)
        assert got.content == _part(index, 1) + _part(index, 2)
    again.process.send_signal(signal.SIGTERM)
    again.process.wait(timeout=30)

    platform = Platform.build(load_settings({"LAKEVAULT_HOME": str(home)}))
    try:
        with platform.database.read_session() as session:
            objects = {
                int(row.key.rsplit("/", 1)[1]): row
                for row in session.scalars(
                    select(models.ObjectVersion).where(
                        models.ObjectVersion.bucket_name == "mpcrash"
                    )
                )
            }
            uploads = {
                int(row.key.rsplit("/", 1)[1])
                for row in session.scalars(select(models.MultipartUpload))
            }
        print(f"at the kill: {len(objects)} objects, {len(uploads)} uploads left")
        # Each upload is exactly one of the two: still an upload, or a whole object.
        assert set(objects) | uploads == set(range(UPLOADS))
        assert not set(objects) & uploads
        assert acknowledged_at_kill <= set(objects)
        for index, row in objects.items():
            assert row.size == len(_part(index, 1)) + len(_part(index, 2))
            assert row.etag.endswith('-2"')
        # The cleanup aborts what is left; no blob, row or key of an upload survives.
        storage.abort_stale_uploads(
            platform.database, platform.storage.backend, platform.clock, older_than=timedelta(0)
        )
        platform.storage.objects.sweep_orphans(older_than=timedelta(0))
        with platform.database.read_session() as session:
            assert session.scalar(select(func.count()).select_from(models.MultipartUpload)) == 0
            assert session.scalar(select(func.count()).select_from(models.BlobJournal)) == 0
            part_paths = set(session.scalars(select(models.MultipartPart.blob_path)))
            part_versions = set(session.scalars(select(models.MultipartPart.version_id)))
        assert part_versions == {row.version_id for row in objects.values()}
        objects_dir = home / "objects"
        on_disk = {
            p.relative_to(objects_dir).as_posix() for p in objects_dir.rglob("*") if p.is_file()
        }
        assert on_disk == part_paths
    finally:
        platform.close()
