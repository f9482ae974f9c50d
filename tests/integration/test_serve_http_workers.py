"""``lakevault serve --http-workers 2`` on PostgreSQL: two HTTP processes share the socket, both
serve PUTs, and the audit log stays one dense, complete sequence (ADR 0178)."""

from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.integration.conftest import run, tenant_headers

PUTS = 240


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(part) for part in text.split()]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_two_http_workers_serve_and_both_audit(
    tmp_path: Path, start_server: Any, postgres_server_url: str
) -> None:
    url = create_postgres_database(postgres_server_url)
    try:
        server, _ = start_server(
            tmp_path / "home",
            "--init",
            "--http-workers",
            "2",
            LAKEVAULT_DATABASE_URL=url,
            LAKEVAULT_WORKERS="0",
        )
        headers = tenant_headers(server, "two-workers")
        assert (
            httpx.post(
                f"{server.url}/api/v1/buckets", json={"name": "shared"}, headers=headers
            ).status_code
            == 201
        )
        (child,) = _children(server.process.pid)  # no job workers: the one extra HTTP process
        before = {pid: _cpu_seconds(pid) for pid in (server.process.pid, child)}

        def put(index: int) -> int:
            with httpx.Client(headers=headers, timeout=60) as client:
                return client.put(
                    f"{server.url}/api/v1/buckets/shared/objects/o{index}", content=b"z" * 4096
                ).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(put, range(PUTS)))
        assert statuses == [200] * PUTS
        spent = {pid: _cpu_seconds(pid) - before[pid] for pid in before}
        # Each process did a real share of the work (a PUT costs milliseconds of CPU).
        assert all(seconds > 0.2 for seconds in spent.values()), spent
        listed = httpx.get(
            f"{server.url}/api/v1/buckets/shared/objects",
            params={"max-keys": 1000},
            headers=headers,
        ).json()
        assert len(listed["contents"]) == PUTS
        server.process.terminate()
        server.process.wait(60)
        assert server.process.returncode == 0
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.connect() as connection:
                tenant = connection.execute(
                    sqlalchemy.text("SELECT account_id FROM storage_buckets WHERE name = 'shared'")
                ).scalar_one()
                sequences = (
                    connection.execute(
                        sqlalchemy.text(
                            "SELECT sequence FROM audit_events WHERE account_id = :a "
                            "ORDER BY sequence"
                        ),
                        {"a": tenant},
                    )
                    .scalars()
                    .all()
                )
                names = (
                    connection.execute(
                        sqlalchemy.text(
                            "SELECT event_name FROM audit_events WHERE account_id = :a"
                        ),
                        {"a": tenant},
                    )
                    .scalars()
                    .all()
                )
        finally:
            engine.dispose()
        # One dense sequence: two processes' writers neither skipped nor reused a number.
        assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
        # Every PUT's key use is audited, and its decision and change events are there.
        assert names.count("GenerateDataKey") == PUTS
        assert names.count("PutObject") >= 2 * PUTS
    finally:
        drop_postgres_database(postgres_server_url, url)


def test_http_workers_refuse_sqlite(tmp_path: Path) -> None:
    done = run(["serve", "--init", "--port", "0", "--http-workers", "2"], tmp_path / "h", tmp_path)
    assert done.returncode != 0
    assert "--http-workers 2 needs PostgreSQL" in done.stderr
