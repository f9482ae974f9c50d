"""``lakevault serve`` and ``lakevault init``."""

from __future__ import annotations

import errno
import gc
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

import typer
import uvicorn

from lakevault import kms
from lakevault.api import create_app
from lakevault.cli._common import command, error_console, read_settings
from lakevault.cli._credentials import print_credentials
from lakevault.cli._http_protocol import CoalescingHttpToolsProtocol
from lakevault.cli._jobs import worker_argv
from lakevault.cli._key_agent import (
    settings_with_new_root_key_passphrase,
    settings_with_root_key_passphrase,
)
from lakevault.core import Settings, configure_logging
from lakevault.core.errors import ConfigurationError
from lakevault.jobs import WorkerPool
from lakevault.runtime import Platform, initialise, require_home

#: HTTP processes by default: two measured 31-50 % more small PUTs per second than one on two
#: cores, at less CPU per PUT; since sign-in throttling counts in the shared metadata database
#: (ADR 0268), a second process grants no extra attempts (ADR 0250, "Update (session 10)").
DEFAULT_HTTP_WORKERS = 2


def _init_platform(settings: Settings) -> Platform:
    platform = Platform.build(settings)
    result = initialise(platform)
    # The root key now exists; record its check value so another key is refused later.
    kms.verify_root_key(platform.database, platform.root_key(), clock=platform.clock)
    if result.created_schema:
        error_console.print(
            f"created a new installation in {settings.resolved_home} (schema {result.revision})"
        )
    if result.credentials is not None:
        print_credentials(result.credentials)
    return platform


@command
def init(
    passphrase: bool = typer.Option(
        False,
        "--passphrase",
        help="Wrap a new local platform root key file with a passphrase (asked twice, or "
        "LAKEVAULT_ROOT_KEY_PASSPHRASE).",
    ),
) -> None:
    """Create the data directory, the database schema and the platform administrator.

    Safe to run again: an existing installation is left as it is, and the administrator's
    credentials are printed only by the run that created them.
    """
    settings = read_settings()
    if passphrase and not kms.root_key_path(settings.resolved_home).exists():
        settings = settings_with_new_root_key_passphrase(settings)
    settings = settings_with_root_key_passphrase(settings)
    platform = _init_platform(settings)
    platform.close()
    error_console.print(f"installation ready in {settings.resolved_home}")


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so a busy port is one clear sentence."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"port {port} on {host} is already in use by another program; stop it, or "
                f"choose another port with --port {port + 1} or LAKEVAULT_PORT={port + 1}"
            ) from exc
        raise ConfigurationError(
            f"cannot listen on {host}:{port} ({exc.strerror}); set host to an address of this "
            "machine, for example 127.0.0.1"
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def http_worker_argv(listen_fd: int) -> list[str]:
    """How ``serve --http-workers N`` starts each further HTTP process: this interpreter,
    ``lakevault serve`` on the inherited listening socket, watching the server's pid."""
    return [
        sys.executable,
        "-m",
        "lakevault",
        "serve",
        "--listen-fd",
        str(listen_fd),
        "--parent-pid",
        str(os.getpid()),
    ]


def _app_config(platform: Platform) -> uvicorn.Config:
    # httptools and uvloop, named rather than left to uvicorn's "auto", so a missing one is a
    # loud import error, never a silent fall back to h11 and asyncio's pure-Python paths
    # (about a quarter of a small PUT's server CPU; docs/decisions/0219). The httptools
    # protocol sends a response's head and body in one write (docs/decisions/0264).
    return uvicorn.Config(
        create_app(platform),
        http=CoalescingHttpToolsProtocol,
        loop="uvloop",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        server_header=False,
        proxy_headers=False,
    )


def _serve_inherited(settings: Settings, listen_fd: int, parent_pid: int | None) -> None:
    """An extra HTTP process of ``serve --http-workers``: the API on the parent's socket, no
    job workers; it stops with SIGTERM, or by itself once the parent is gone."""
    platform = Platform.build(settings)
    platform.check_ready()
    kms.verify_root_key(platform.database, platform.root_key(), clock=platform.clock)
    sock = socket.socket(fileno=listen_fd)
    server = uvicorn.Server(_app_config(platform))
    if parent_pid is not None:

        def watch() -> None:
            while not server.should_exit:
                time.sleep(1.0)
                if os.getppid() != parent_pid:
                    server.should_exit = True

        threading.Thread(target=watch, daemon=True, name="parent-watch").start()
    _run_until_stopped(server, sock, sock.close, platform.close)


@command
def serve(
    host: str = typer.Option(None, help="Address to listen on [default: 127.0.0.1]."),
    port: int = typer.Option(None, help="TCP port [default: 8080; 0 picks a free one]."),
    init: bool = typer.Option(
        False, "--init", help="Initialise a new installation first when there is none."
    ),
    http_workers: int = typer.Option(
        DEFAULT_HTTP_WORKERS,
        "--http-workers",
        min=1,
        max=64,
        help="HTTP server processes sharing the listening socket; on SQLite their writes "
        f"queue on one lock across processes [default: {DEFAULT_HTTP_WORKERS}].",
    ),
    listen_fd: int = typer.Option(None, "--listen-fd", hidden=True),
    parent_pid: int = typer.Option(None, "--parent-pid", hidden=True),
) -> None:
    """Start the platform: the HTTP API and its background job workers on one machine."""
    settings = settings_with_root_key_passphrase(read_settings({"host": host, "port": port}))
    configure_logging(level=settings.log_level.value, log_format=settings.log_format)
    if listen_fd is not None:
        _serve_inherited(settings, listen_fd, parent_pid)
        return
    if init:
        platform = _init_platform(settings)
    else:
        require_home(settings)
        platform = Platform.build(settings)
    platform.check_ready()
    # Refuse to start without the right platform root key (missing, wrong passphrase, external
    # key service down, or another installation's key): a clear error now, not at first use.
    kms.verify_root_key(platform.database, platform.root_key(), clock=platform.clock)
    sock = bind_socket(settings.host, settings.port)
    bound_port = sock.getsockname()[1]
    error_console.print(
        f"lakevault listening on http://{settings.host}:{bound_port} "
        f"(data in {settings.resolved_home}); Ctrl-C stops it"
    )
    server = uvicorn.Server(_app_config(platform))
    # Background jobs run in worker processes beside the API (settings.workers of them).
    workers = WorkerPool(worker_argv(), count=settings.workers)
    workers.start()
    # Further HTTP processes accept on the same socket (each its own platform and audit writer;
    # several writers keep the audit log correct, ADR 0061; docs/decisions/0178; on SQLite the
    # writers of all processes queue on one flock, docs/decisions/0250). They start after the
    # schema check and the root key's check value above: migrations run here, once.
    http = WorkerPool(
        http_worker_argv(sock.fileno()),
        count=http_workers - 1,
        pass_fds=(sock.fileno(),),
        grace_seconds=15.0,
        what="HTTP worker",
    )
    http.start()
    _run_until_stopped(server, sock, http.stop, sock.close, workers.stop, platform.close)


def _run_until_stopped(
    server: uvicorn.Server, sock: socket.socket, *cleanups: Callable[[], None]
) -> None:
    """Serve on ``sock`` until SIGTERM/SIGINT, then run ``cleanups`` in order.

    uvicorn finishes in-flight requests on SIGTERM/SIGINT, then re-raises the signal; these
    handlers turn that re-raise into a normal exit, so a requested stop exits with status 0.
    """
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    freeze_start_up(server)
    try:
        server.run(sockets=[sock])
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for cleanup in cleanups:
            cleanup()
    error_console.print("lakevault stopped")


def freeze_start_up(server: uvicorn.Server) -> None:
    """Load the app, then move everything built so far out of the cyclic collector's sight.

    What start-up built (modules, the app and its routes, the platform's services: ~270,000
    objects) lives as long as the process. Left in the oldest generation, each full collection
    under load walked all of it: 120-200 ms with the GIL held, so every request of the process
    stalled that long, the SQLite write lock's holder included (ADR 0267). Frozen, a full
    collection walks the requests' own objects (5-7 ms). uvicorn loads an app it finds loaded
    only once, so the app is built before the freeze.
    """
    server.config.load()
    gc.freeze()


class _Stopped(Exception):
    """Raised by the signal handler once uvicorn has shut down gracefully."""


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped
