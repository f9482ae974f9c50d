"""The last step inside a confined sandbox: read the request, call the handler, write the result.

.. warning::
   Runs only after every confinement layer is in place (``_confine``) and ends the process.

The request arrives as one JSON document ``{"event": ..., "context": ...}`` on a pipe; the
answer leaves as one JSON document on another pipe: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": {"type": ..., "message": ..., "traceback": [...]}}``. Nothing travels
through argv, the environment or pickle. The supervisor trusts none of it: it caps the size and
parses it strictly.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import socket
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

_MESSAGE_LIMIT = 4096
_TRACEBACK_LINES = 30


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _error(kind: str, message: str, trace: list[str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message[:_MESSAGE_LIMIT]}
    if trace:
        error["traceback"] = trace[-_TRACEBACK_LINES:]
    return {"ok": False, "error": error}


def _install_broker(broker_fd: int) -> None:
    """Make ``socket.create_connection`` ask the host broker for a connected socket.

    The sandbox's network namespace has no interface at all; the broker (host side) checks
    the endpoint against the function's policy, connects, and hands back the descriptor.
    """
    broker = socket.socket(fileno=broker_fd)

    def create_connection(
        address: tuple[str, int], timeout: object = None, source_address: object = None, **_: Any
    ) -> socket.socket:
        host, port = address
        broker.sendall(json.dumps({"host": host, "port": int(port)}).encode() + b"\n")
        message, descriptors, _flags, _address = socket.recv_fds(broker, 4096, 1)
        answer = json.loads(message.decode() or "{}")
        if not descriptors:
            raise ConnectionRefusedError(
                111, f"sandbox network policy: {answer.get('error', 'refused')}"
            )
        connection = socket.socket(fileno=descriptors[0])
        if isinstance(timeout, int | float):
            connection.settimeout(timeout)
        return connection

    socket.create_connection = create_connection  # type: ignore[assignment]


def run_handler(
    *,
    request_fd: int,
    result_fd: int,
    broker_fd: int | None,
    module_name: str,
    handler_name: str,
    import_path: tuple[str, ...],
) -> NoReturn:
    """Run ``module_name.handler_name(event, context)`` once and exit the process."""
    answer: dict[str, Any]
    try:
        request = json.loads(_read_all(request_fd))
        event, context = request["event"], request["context"]
        os.environ.clear()
        # The function's directory first, then the runtime. The zygote's finders for the
        # runtime's directories stay cached (the same paths, bound read-only in this root);
        # every other entry of the zygote's path is gone.
        sys.path[:] = list(import_path)
        sys.dont_write_bytecode = True  # /function is read-only: do not even try
        sys.argv[:] = [module_name]
        if broker_fd is not None:
            _install_broker(broker_fd)
        module = importlib.import_module(module_name)
        handler: Callable[[Any, Any], Any] = getattr(module, handler_name)
        result = handler(event, context)
    except BaseException as exc:  # noqa: BLE001 - everything the function raises is its answer
        trace = traceback.format_exception(exc)
        answer = _error(type(exc).__name__, str(exc), [line.rstrip() for line in trace])
    else:
        answer = {"ok": True, "result": result}
    try:
        encoded = json.dumps(answer, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        encoded = json.dumps(
            _error("ResultNotJSON", f"the handler's result is not JSON-serializable: {exc}")
        ).encode()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    try:
        _write_all(result_fd, encoded)
    except OSError:
        os._exit(1)
    # Close the answer and the logs before exiting: the supervisor has everything as soon as
    # they read end-of-file, without waiting for the kernel to tear the namespaces down.
    for fd in (result_fd, 1, 2):
        with contextlib.suppress(OSError):
            os.close(fd)
    os._exit(0)
