"""``lakevault serve --http-workers 2``: two HTTP processes share the socket, both serve PUTs,
and the audit log stays one dense, complete, verifiable sequence — on PostgreSQL (ADR 0178)
and on SQLite, whose writers of both processes queue on one ``flock`` (ADR 0250); a kill -9 of
an HTTP process holding that lock stops nobody else."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.integration.conftest import Server, run, tenant_headers

PUTS = 240
LOCK_FILE = "metadata.db-writelock"


def _children(pid: int) -> list[int]:
    """The child processes of ``pid``, whichever of its threads started them."""
    return [
        int(part)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for part in (task / "children").read_text().split()
    ]


def _started_child(pid: int) -> int:
    """The one child process of ``pid``, once it runs (HTTP processes start after the
    'listening on' line) and has had its start-up CPU."""
    deadline = time.monotonic() + 60
    while not (children := _children(pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    (child,) = children
    spent = _cpu_seconds(child)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        spent, before = _cpu_seconds(child), spent
        if spent - before < 0.02:
            break
    return child


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """The metadata store's URL, and the environment that points the server at it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'metadata.db'}", {}
        return
    server_url: str = request.getfixturevalue("postgres_server_url")
    url = create_postgres_database(server_url)
    try:
        yield url, {"LAKEVAULT_DATABASE_URL": url}
    finally:
        drop_postgres_database(server_url, url)


def _put(server: Server, headers: dict[str, str], key: str) -> int:
    with httpx.Client(headers=headers, timeout=60) as client:
        return client.put(
            f"{server.url}/api/v1/buckets/shared/objects/{key}", content=b"z" * 4096
        ).status_code


def _listed(server: Server, headers: dict[str, str]) -> set[str]:
    keys: set[str] = set()
    params: dict[str, str | int] = {"max-keys": 1000}
    while True:
        page = httpx.get(
            f"{server.url}/api/v1/buckets/shared/objects",
            params=params,
            headers=headers,
            timeout=60,
        ).json()
        keys.update(item["key"] for item in page["contents"])
        if not page["isTruncated"]:
            return keys
        params["continuation-token"] = page["nextContinuationToken"]


def _audit_of_bucket_owner(url: str) -> tuple[str, list[int], list[str]]:
    """The bucket owner's account, its audit sequences in order and its event names."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            tenant = connection.execute(
                sqlalchemy.text("SELECT account_id FROM storage_buckets WHERE name = 'shared'")
            ).scalar_one()
            rows = connection.execute(
                sqlalchemy.text(
                    "SELECT sequence, event_name FROM audit_events WHERE account_id = :a "
                    "ORDER BY sequence"
                ),
                {"a": tenant},
            ).all()
    finally:
        engine.dispose()
    return tenant, [row[0] for row in rows], [row[1] for row in rows]


def _assert_chain_verifies(tmp_path: Path, home: Path, tenant: str, env: dict[str, str]) -> None:
    """Export the tenant's log (a signed checkpoint over every event) and verify it offline
    against the installation's key: the hash chain is whole, whichever process appended."""
    out = tmp_path / "export"
    exported = run(["audit", "export", str(out), "--tenant", tenant], home, tmp_path, **env)
    assert exported.returncode == 0, exported.stderr
    verified = run(
        ["audit", "verify", str(out), "--key", str(home / "keys" / "audit-verifiers.pub")],
        home,
        tmp_path,
        **env,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{tenant}: OK" in verified.stdout


def _stop(server: Server) -> None:
    server.process.terminate()
    server.process.wait(60)
    assert server.process.returncode == 0


def test_two_http_workers_serve_and_both_audit(
    tmp_path: Path, start_server: Any, metadata: tuple[str, dict[str, str]]
) -> None:
    """Two HTTP processes are the default (ADR 0250, session 10): no option is given."""
    url, env = metadata
    home = tmp_path / "home"
    server, _ = start_server(home, "--init", LAKEVAULT_WORKERS="0", **env)
    headers = tenant_headers(server, "two-workers")
    assert (
        httpx.post(
            f"{server.url}/api/v1/buckets", json={"name": "shared"}, headers=headers
        ).status_code
        == 201
    )
    # No job workers: the one extra HTTP process of the default.
    (child,) = _children(server.process.pid)
    before = {pid: _cpu_seconds(pid) for pid in (server.process.pid, child)}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: _put(server, headers, f"o{i}"), range(PUTS)))
    assert statuses == [200] * PUTS
    spent = {pid: _cpu_seconds(pid) - before[pid] for pid in before}
    # Each process did a real share of the work (a PUT costs milliseconds of CPU).
    assert all(seconds > 0.2 for seconds in spent.values()), spent
    assert _listed(server, headers) == {f"o{i}" for i in range(PUTS)}
    _stop(server)
    tenant, sequences, names = _audit_of_bucket_owner(url)
    # One dense sequence: two processes' writers neither skipped nor reused a number.
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    # Every PUT's key use is audited, and its decision and change events are there.
    assert names.count("GenerateDataKey") == PUTS
    assert names.count("PutObject") >= 2 * PUTS
    _assert_chain_verifies(tmp_path, home, tenant, env)


SIGN_IN_LIMIT = 6


def test_sign_in_throttling_holds_across_http_processes(
    tmp_path: Path, start_server: Any, metadata: tuple[str, dict[str, str]]
) -> None:
    """A second HTTP process grants no extra password checks: the attempts count in the shared
    metadata database (ADR 0268). Which process accepts a connection on the shared socket is
    the kernel's choice, so the test makes it: while one process is stopped (SIGSTOP) the other
    takes every connection. Half the checks go to each, and each refuses once the other has
    used up the limit. Counted in each process's memory, twice the limit would get through."""
    _, env = metadata
    server, _ = start_server(
        tmp_path / "home",
        "--init",
        LAKEVAULT_WORKERS="0",
        LAKEVAULT_SIGN_IN_RATE_LIMIT=f"{SIGN_IN_LIMIT}/minute",
        **env,
    )
    parent = server.process.pid
    child = _started_child(parent)
    body = {"accountId": "000000000000", "userName": "nobody", "password": "Wr0ng-password"}

    def attempts_while_stopped(stopped: int, count: int) -> list[int]:
        os.kill(stopped, signal.SIGSTOP)
        try:
            while _state(stopped) != "T":  # the signal is delivered asynchronously
                time.sleep(0.01)
            return [
                httpx.post(f"{server.url}/api/v1/sessions", json=body, timeout=60).status_code
                for _ in range(count)
            ]
        finally:
            os.kill(stopped, signal.SIGCONT)

    half = SIGN_IN_LIMIT // 2
    # The parent checks the first half, the child the rest and then refuses; the parent,
    # having checked only half the limit itself, refuses as well.
    codes = attempts_while_stopped(child, half)
    codes += attempts_while_stopped(parent, SIGN_IN_LIMIT - half + SIGN_IN_LIMIT)
    codes += attempts_while_stopped(child, SIGN_IN_LIMIT)
    assert codes == [403] * SIGN_IN_LIMIT + [429] * (2 * SIGN_IN_LIMIT), codes


def _state(pid: int) -> str:
    """The process's state letter (``T`` once stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _flock_holders(lock_file: Path) -> set[int]:
    """The processes holding a ``flock`` on ``lock_file`` (from ``/proc/locks``)."""
    inode = os.stat(lock_file).st_ino
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK":
            continue  # "->" marks a waiter, not a holder
        if int(fields[5].rsplit(":", 1)[1]) == inode:
            holders.add(int(fields[4]))
    return holders


def test_a_kill_9_of_an_http_process_holding_the_write_lock_stops_nobody(
    tmp_path: Path, start_server: Any
) -> None:
    """SQLite: an HTTP process is stopped (SIGSTOP) at a moment it holds the write lock, the
    other process's writes then wait for it; kill -9 drops the lock, the survivor and the
    restarted process serve again, nothing acknowledged is lost and the log stays whole."""
    home = tmp_path / "home"
    server, _ = start_server(home, "--init", "--http-workers", "2", LAKEVAULT_WORKERS="0")
    headers = tenant_headers(server, "killed")
    assert (
        httpx.post(
            f"{server.url}/api/v1/buckets", json={"name": "shared"}, headers=headers
        ).status_code
        == 201
    )
    (child,) = _children(server.process.pid)
    lock_file = home / LOCK_FILE
    acknowledged: set[str] = set()
    guard = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        index = 0
        client = httpx.Client(headers=headers, timeout=60)  # keep-alive: one process's client
        while not stop.is_set():
            key = f"w{worker}-{index}"
            index += 1
            try:
                status = client.put(
                    f"{server.url}/api/v1/buckets/shared/objects/{key}", content=b"k" * 4096
                ).status_code
            except httpx.HTTPError:
                client.close()  # a connection of the killed process: the next one is new
                client = httpx.Client(headers=headers, timeout=60)
                continue
            if status == 200:
                with guard:
                    acknowledged.add(key)
            if index % 20 == 0:  # connect anew now and then: the restarted process gets some
                client.close()
                client = httpx.Client(headers=headers, timeout=60)
        client.close()

    threads = [threading.Thread(target=load, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        caught = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not caught:
            time.sleep(0.01)
            os.kill(child, signal.SIGSTOP)
            while _state(child) != "T":  # the signal is delivered asynchronously
                time.sleep(0.001)
            # Stopped, it can neither take nor release the lock: what /proc/locks shows holds.
            if child in _flock_holders(lock_file):
                caught = True
            else:
                os.kill(child, signal.SIGCONT)
        assert caught, "the HTTP process was never seen holding the write lock"
        time.sleep(0.3)  # responses already committed before the stop reach their clients
        with guard:
            during = len(acknowledged)
        time.sleep(1.0)
        with guard:
            # The parent's writes queue behind the stopped holder (their PUTs do not finish).
            assert len(acknowledged) == during
        os.kill(child, signal.SIGKILL)
        with guard:
            at_kill = len(acknowledged)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with guard:
                if len(acknowledged) >= at_kill + 50:
                    break
            time.sleep(0.1)
        with guard:
            assert len(acknowledged) >= at_kill + 50, "the surviving process did not get past"
        # The pool restarts the killed HTTP process; it serves writes too.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            restarted = [pid for pid in _children(server.process.pid) if pid != child]
            if restarted:
                break
            time.sleep(0.2)
        assert restarted, "the killed HTTP process was not restarted"
        time.sleep(8.0)  # its start-up (imports, the schema and root key checks) is over
        before = _cpu_seconds(restarted[0])
        time.sleep(3.0)
        assert _cpu_seconds(restarted[0]) - before > 0.2
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
    # The whole of what was acknowledged is there, and the log is dense and verifies.
    assert acknowledged <= _listed(server, headers)
    _stop(server)
    url = f"sqlite:///{home / 'metadata.db'}"
    tenant, sequences, names = _audit_of_bucket_owner(url)
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    assert names.count("GenerateDataKey") >= len(acknowledged)
    _assert_chain_verifies(tmp_path, home, tenant, {})
