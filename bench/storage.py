"""Benchmark of object storage through the HTTP API: ``python -m bench storage [options]``.

Everything runs on this machine, against real processes, in one run (compare side by side):

(a) large objects: ``curl`` uploads and downloads one file of ``--size-mib`` MiB (default 1024)
    through ``lakevault serve`` (token auth, gate, audit, per-version data key, C2SP AES-256-GCM,
    SHA-256, fsync) on the local backend; anchor: ``curl`` to and from a plain static file
    server (uvicorn + Starlette: PUT streams the body to a file and fsyncs it, GET is
    Starlette's ``FileResponse``). Target: lakevault >= 0.5x the anchor. The server's peak
    resident memory (VmHWM) is reported; target < 200 MiB.
(b) small objects: 4 KiB PUTs through the API at 1, 8 and 32 concurrent clients (threads with
    one keep-alive socket each, ``bench/_http_load.py``, ~0.06 ms of client CPU per request, on
    the same 2 cores as the server): ops/s, p50, p99, server CPU per PUT. Target: >= 1,000
    PUT/s. Anchor, same clients, same run: a plain Python file server (uvicorn with httptools
    and uvloop, a bare ASGI callable that writes each body to a temporary file, fsyncs it,
    renames it and fsyncs the directory in a worker thread) -- what Python on this machine does
    with a durable 4 KiB write and nothing else (no auth, policy, encryption, audit, metadata).
(c) ``--seaweedfs``: the same 4 KiB PUTs through lakevault on an ``s3://`` backend in a
    SeaweedFS started here, against obstore PUTs straight to that SeaweedFS.

``--postgres URL`` (a server URL such as the one ``scripts/postgres.sh start`` prints) runs
(b) a second time with the metadata in a fresh PostgreSQL database made on that server (and
dropped afterwards), beside the SQLite run. (b) runs ``lakevault serve`` as installed, with its
default of two HTTP processes (ADR 0250, session 10); ``--http-workers N`` runs (b) once more
with ``lakevault serve --http-workers N`` on SQLite, and with ``--postgres`` on PostgreSQL too.
"Server CPU/PUT" sums the server and its child processes, measured once they have finished
starting.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench._http_load import put_load
from lakevault.cli._serve import DEFAULT_HTTP_WORKERS

SMALL = os.urandom(4096)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_mib(pid: int, field: str = "VmHWM") -> float:
    """Resident memory of ``pid`` (``VmHWM``: the peak since start or the last reset)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss(pid: int) -> None:
    """Start a new VmHWM window (Linux: writing 5 to clear_refs resets the peak)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class LakevaultServer:
    """``lakevault serve --init`` in a fresh home; a tenant admin's token and one bucket."""

    def __init__(self, work: Path, *arguments: str, **environment: str) -> None:
        work.mkdir(parents=True, exist_ok=True)
        home = work / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEVAULT_")}
        env.update({"LAKEVAULT_HOME": str(home), "LAKEVAULT_LOG_LEVEL": "warning", **environment})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lakevault", "serve", "--init", "--port", "0", *arguments],
            env=env,
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None and self.process.stdout is not None
        url = None
        deadline = time.monotonic() + 90
        while url is None and time.monotonic() < deadline:
            found = re.search(r"listening on (http://\S+)", self.process.stderr.readline())
            url = found.group(1) if found else None
        if url is None:
            raise SystemExit("lakevault did not start")
        password = None
        while password is None:
            line = self.process.stdout.readline()
            if not line:
                raise SystemExit("lakevault printed no administrator password")
            found = re.search(r"password {2,}(\S+)", line)
            password = found.group(1) if found else None
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        self.url = url
        admin = self._sign_in("000000000000", "admin", password)
        tenant = httpx.post(
            f"{url}/api/v1/tenants",
            json={"name": "bench-" + secrets.token_hex(3)},
            headers=admin,
            timeout=120,
        ).json()
        self.headers = self._sign_in(
            tenant["tenant"]["accountId"], "admin", tenant["adminPassword"]
        )
        created = httpx.post(
            f"{url}/api/v1/buckets", json={"name": "bench"}, headers=self.headers, timeout=120
        )
        created.raise_for_status()
        self.token = self.headers["Authorization"].split(" ", 1)[1]

    def _sign_in(self, account: str, user: str, password: str) -> dict[str, str]:
        response = httpx.post(
            f"{self.url}/api/v1/sessions",
            json={"accountId": account, "userName": user, "password": password},
            timeout=120,
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['accessToken']}"}

    def object_url(self, key: str) -> str:
        return f"{self.url}{self.object_path(key)}"

    @staticmethod
    def object_path(key: str) -> str:
        return f"/api/v1/buckets/bench/objects/{key}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_STATIC_SERVER = textwrap.dedent(
    """
    import os, sys
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, Response
    from starlette.routing import Route

    root = sys.argv[2]

    async def put(request):
        path = os.path.join(root, request.path_params["name"])
        with open(path + ".tmp", "wb") as handle:
            async for piece in request.stream():
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(path + ".tmp", path)
        return Response(status_code=201)

    async def get(request):
        return FileResponse(os.path.join(root, request.path_params["name"]))

    app = Starlette(routes=[Route("/{name}", put, methods=["PUT"]),
                            Route("/{name}", get, methods=["GET"])])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
    """
)


def _curl(*arguments: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["curl", "-sS", "-f", "-o", "/dev/null", *arguments], check=True, capture_output=True
    )
    return time.perf_counter() - start


def large_objects(work: Path, size_mib: int) -> None:
    source = work / "large.bin"
    with source.open("wb") as handle:
        piece = os.urandom(1024 * 1024)
        for _ in range(size_mib):
            handle.write(piece)
    size = source.stat().st_size
    port = _free_port()
    static_root = work / "static"
    static_root.mkdir()
    lakevault = LakevaultServer(work / "lv-local")
    static = subprocess.Popen(
        [sys.executable, "-c", _STATIC_SERVER, str(port), str(static_root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/none")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        anchor_put = _curl("-T", str(source), f"http://127.0.0.1:{port}/large.bin")
        anchor_get = _curl(f"http://127.0.0.1:{port}/large.bin")
        baseline = _rss_mib(lakevault.process.pid, "VmRSS")
        _reset_peak_rss(lakevault.process.pid)
        auth = f"Authorization: Bearer {lakevault.token}"
        lv_put = _curl("-T", str(source), "-H", auth, lakevault.object_url("large.bin"))
        lv_get = _curl("-H", auth, lakevault.object_url("large.bin"))
        peak = _rss_mib(lakevault.process.pid)
    finally:
        static.terminate()
        static.wait()
        lakevault.stop()
    mib = size / 2**20
    print(f"\n(a) one {mib:.0f} MiB object, curl, local backend")
    print(f"{'':34}{'PUT MiB/s':>12}{'GET MiB/s':>12}")
    print(f"{'static file server (anchor)':34}{mib / anchor_put:12.0f}{mib / anchor_get:12.0f}")
    print(f"{'lakevault API':34}{mib / lv_put:12.0f}{mib / lv_get:12.0f}")
    print(f"{'ratio (target >= 0.5)':34}{anchor_put / lv_put:12.2f}{anchor_get / lv_get:12.2f}")
    print(
        f"lakevault server RSS: {baseline:.0f} MiB idle after start, peak during the "
        f"transfers {peak:.0f} MiB (target < 200 MiB)"
    )


def _load(
    base_url: str, path_for: Any, headers: dict[str, str], clients: int, seconds: float
) -> list[float]:
    return put_load(base_url, headers, path_for, SMALL, clients, seconds)


_SMALL_FILE_SERVER = textwrap.dedent(
    """
    import os, sys
    import anyio, uvicorn

    root = sys.argv[2]
    directory = os.open(root, os.O_RDONLY)

    def store(name, body):
        path = os.path.join(root, name)
        handle = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(handle, body)
            os.fsync(handle)
        finally:
            os.close(handle)
        os.rename(path + ".tmp", path)
        os.fsync(directory)

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await anyio.to_thread.run_sync(store, scope["path"].strip("/").replace("/", "_"), body)
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                loop="uvloop", http="httptools")
    """
)


def small_file_anchor(work: Path, seconds: float) -> dict[int, tuple[list[float], float]]:
    """The anchor of (b): each client count against the plain file server; latencies, CPU/PUT."""
    port = _free_port()
    root = work / "small-anchor"
    root.mkdir()
    server = subprocess.Popen(
        [sys.executable, "-c", _SMALL_FILE_SERVER, str(port), str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/none")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        results = {}
        for clients in (1, 8, 32):
            before = _cpu_seconds(server.pid)
            latencies = _load(base, lambda i, n: f"/c{i}/o{n}", {}, clients, seconds)
            spent = _cpu_seconds(server.pid) - before
            results[clients] = (latencies, spent / max(len(latencies), 1))
    finally:
        server.terminate()
        server.wait()
    return results


def _report(label: str, latencies: list[float], seconds: float, extra: str = "") -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(f"{label:34}{len(ordered) / seconds:10.0f}/s{p50:10.1f} ms{p99:10.1f} ms{extra}")


def small_objects(
    server: LakevaultServer,
    seconds: float,
    title: str,
    store: str = "SQLite",
    anchor: dict[int, tuple[list[float], float]] | None = None,
) -> None:
    print(f"\n({title}) 4 KiB PUT through the API (auth, gate, audit, data key, fsync), {store}")
    header = f"{'clients':34}{'ops/s':>12}{'p50':>13}{'p99':>13}{'server CPU/PUT':>17}"
    print(header + ("   vs anchor" if anchor else ""))
    _wait_until_idle(server.process.pid)
    for clients in (1, 8, 32):
        if anchor:
            latencies, cpu = anchor[clients]
            _report(
                f"{clients}  plain file server (anchor)",
                latencies,
                seconds,
                f"{1000 * cpu:13.2f} ms",
            )
        before = _server_cpu_seconds(server.process.pid)
        latencies = _load(
            server.url,
            lambda i, n: server.object_path(f"c{i}/o{n}"),
            server.headers,
            clients,
            seconds,
        )
        spent = _server_cpu_seconds(server.process.pid) - before
        extra = f"{1000 * spent / max(len(latencies), 1):13.2f} ms"
        if anchor:
            extra += f"{len(latencies) / max(len(anchor[clients][0]), 1):11.2f}x"
        _report(f"{clients}  lakevault" if anchor else str(clients), latencies, seconds, extra)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (the server's cost per PUT, whatever the load)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cpu_seconds(pid: int) -> float:
    """CPU time of the server and of its child processes (``--http-workers``, job workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _cpu_seconds(pid) + sum(_cpu_seconds(int(child)) for child in children)


def _wait_until_idle(pid: int, timeout: float = 30.0) -> None:
    """Wait until the server and its children (further HTTP processes still importing and
    building their platform) spend under a tenth of a core, so start-up is not counted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _server_cpu_seconds(pid)
        time.sleep(1.0)
        if _server_cpu_seconds(pid) - before < 0.1:
            return


def _small_objects_on_postgres(
    work: Path, server_url: str, seconds: float, http_workers: int = 0
) -> None:
    """(b) with the metadata on PostgreSQL; ``http_workers`` 0 is serve's default."""
    import sqlalchemy

    name = "lv_bench_" + secrets.token_hex(4)
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    url = sqlalchemy.engine.make_url(server_url).set(database=name)
    try:
        server = LakevaultServer(
            work / f"lv-small-pg-{http_workers}",
            *(("--http-workers", str(http_workers)) if http_workers else ()),
            LAKEVAULT_DATABASE_URL=url.render_as_string(hide_password=False),
        )
        try:
            label = "PostgreSQL, " + (
                f"--http-workers {http_workers}"
                if http_workers
                else f"{DEFAULT_HTTP_WORKERS} HTTP processes (default)"
            )
            small_objects(server, seconds, "b'", store=label)
        finally:
            server.stop()
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def seaweedfs_overhead(work: Path, seconds: float) -> None:
    import obstore
    from obstore.store import S3Store

    weed = Path(sys.executable).parent / "weed"
    ports = [_free_port() for _ in range(12)]
    key_id, secret = "BENCH" + secrets.token_hex(4).upper(), secrets.token_urlsafe(24)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(work),
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "S3_BUCKET": "bench",
    }
    (work / "weed").mkdir()
    names = [
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "s3.port",
        "s3.port.grpc",
        "s3.port.iceberg",
        "s3.port.lance",
        "admin.port",
        "metricsPort",
    ]
    weed_process = subprocess.Popen(
        [str(weed), "mini", f"-dir={work / 'weed'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
        + ["-admin.ui=false", "-webdav=false", "-master.telemetry=false"]
        + [f"-{name}={port}" for name, port in zip(names, ports, strict=True)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{ports[6]}"
    store = S3Store(
        "bench",
        endpoint=endpoint,
        access_key_id=key_id,
        secret_access_key=secret,
        region="us-east-1",
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )
    server = None
    try:
        for _ in range(240):
            try:
                obstore.put(store, "probe", b"ok")
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.25)
        latencies: list[float] = []
        lock = threading.Lock()

        def direct(index: int) -> None:
            mine = []
            deadline = time.monotonic() + seconds
            count = 0
            while time.monotonic() < deadline:
                start = time.perf_counter()
                obstore.put(store, f"direct/{index}/{count % 200}", SMALL)
                mine.append(time.perf_counter() - start)
                count += 1
            with lock:
                latencies.extend(mine)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(direct, range(8)))
        server = LakevaultServer(
            work / "lv-s3",
            LAKEVAULT_OBJECT_STORE_URL="s3://bench/lakevault",
            LAKEVAULT_OBJECT_STORE_ENDPOINT=endpoint,
            LAKEVAULT_OBJECT_STORE_ACCESS_KEY_ID=key_id,
            LAKEVAULT_OBJECT_STORE_SECRET_ACCESS_KEY=secret,
        )
        through = _load(
            server.url,
            lambda i, n: server.object_path(f"c{i}/o{n}"),
            server.headers,
            8,
            seconds,
        )
        print("\n(c) 4 KiB PUT into SeaweedFS, 8 clients")
        print(f"{'':34}{'ops/s':>12}{'p50':>13}{'p99':>13}")
        _report("obstore -> SeaweedFS (anchor)", latencies, seconds)
        _report("lakevault API -> SeaweedFS", through, seconds)
    finally:
        if server is not None:
            server.stop()
        os.killpg(weed_process.pid, signal.SIGTERM)
        weed_process.wait(timeout=30)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench storage", description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024, help="large object size")
    parser.add_argument("--seconds", type=float, default=5.0, help="per small-object load")
    parser.add_argument("--seaweedfs", action="store_true", help="also measure (c)")
    parser.add_argument("--skip-large", action="store_true", help="skip (a)")
    parser.add_argument("--postgres", metavar="URL", help="also run (b) on this PostgreSQL server")
    parser.add_argument(
        "--http-workers",
        type=int,
        default=0,
        metavar="N",
        help="also run (b) with 'serve --http-workers N' (SQLite; with --postgres, both)",
    )
    arguments = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lakevault-bench-storage-"))
    try:
        print(
            f"python -m bench storage {' '.join(argv)}  ({os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f} at the start)"
        )
        if not arguments.skip_large:
            large_objects(work, arguments.size_mib)
        anchor = small_file_anchor(work, arguments.seconds)
        server = LakevaultServer(work / "lv-small")
        try:
            small_objects(
                server,
                arguments.seconds,
                "b",
                store=f"SQLite, {DEFAULT_HTTP_WORKERS} HTTP processes (default)",
                anchor=anchor,
            )
        finally:
            server.stop()
        if arguments.http_workers:
            workers = str(arguments.http_workers)
            server = LakevaultServer(work / "lv-small-workers", "--http-workers", workers)
            try:
                small_objects(
                    server, arguments.seconds, "b", store=f"SQLite, --http-workers {workers}"
                )
            finally:
                server.stop()
        if arguments.postgres:
            _small_objects_on_postgres(work, arguments.postgres, arguments.seconds)
            if arguments.http_workers:
                _small_objects_on_postgres(
                    work, arguments.postgres, arguments.seconds, arguments.http_workers
                )
        if arguments.seaweedfs:
            seaweedfs_overhead(work, arguments.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0
