"""The zygote: a small, secret-free process that forks one single-use sandbox per invocation.

Started by the supervisor as ``python -I -m lakevault.sandbox._zygote FD`` with an empty
environment; FD is its end of a ``SOCK_SEQPACKET`` socket pair. It imports the sandbox code,
compiles the seccomp program once, and then loops: each message is a JSON *spawn* request
(code path, slot uid and cgroups, limits, layers — no event, no context, no credentials) with
the invocation's pipe descriptors attached (``SCM_RIGHTS``). It forks the sandbox as pid 1
of a new pid namespace, keeps only the status pipe (to report the sandbox's pid and, through a
pidfd, its wait status) and waits for the next message. The event and the result flow
between the supervisor and the sandbox directly, so no tenant data ever enters the zygote's
memory and a sandbox forked later cannot find it there.

It exits when the supervisor's end closes (which the kernel does when the supervisor dies).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import selectors
import signal
import socket
import sys
import sysconfig
from pathlib import Path
from typing import Any

from lakevault.sandbox import _linux
from lakevault.sandbox._confine import (
    Runtime,
    build_template_root,
    prepare_sandbox,
    run_sandbox,
)

_MAX_MESSAGE = 65536
_MAX_FDS = 8


def _under(path: str, directories: tuple[str, ...]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in directories)


def discover_runtime(root_mount_point: str, seccomp_program: bytes | None) -> Runtime:
    """What a sandbox needs of the host: the interpreter's standard library and the shared
    libraries its extension modules load, read-only; nothing else of the host is visible."""
    stdlib = os.path.realpath(sysconfig.get_path("stdlib"))
    binds: list[str] = []
    for candidate in ("/usr/lib", "/usr/lib64"):
        if os.path.isdir(candidate) and not os.path.islink(candidate):
            binds.append(candidate)
    if not _under(stdlib, tuple(binds)):
        binds.insert(0, stdlib)
    symlinks = tuple(
        (link, os.readlink(link))
        for link in ("/lib", "/lib64")
        if os.path.islink(link) and _under(os.path.realpath(link), tuple(binds))
    )
    # Third-party packages installed beside the interpreter are not part of the runtime.
    hidden = tuple(
        directory
        for directory in (
            os.path.join(stdlib, "site-packages"),
            os.path.join(stdlib, "dist-packages"),
            "/usr/lib/python3/dist-packages",
        )
        if os.path.isdir(directory) and _under(directory, tuple(binds))
    )
    import_path = tuple(
        entry
        for entry in sys.path
        if entry and _under(os.path.realpath(entry), (stdlib,)) and "-packages" not in entry
    )
    return Runtime(
        root_mount_point=root_mount_point,
        read_only_binds=tuple(binds),
        symlinks=symlinks,
        hidden_directories=hidden,
        import_path=import_path,
        seccomp_program=seccomp_program,
        last_capability=_linux.last_capability(),
    )


def make_template_namespace(runtime: Runtime) -> int:
    """Build the sandbox root once, in a helper's mount namespace, and keep that namespace.

    Returns a descriptor of the namespace; raises :class:`OSError` when it cannot be built.
    """
    ready_r, ready_w = os.pipe()
    hold_r, hold_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the helper
        os.close(ready_r)
        os.close(hold_w)
        try:
            build_template_root(runtime)
            os.write(ready_w, b"ok")
        except BaseException as exc:  # noqa: BLE001 - reported to the zygote
            os.write(ready_w, f"{type(exc).__name__}: {exc}".encode()[:1000])
        os.read(hold_r, 1)
        os._exit(0)
    os.close(ready_w)
    os.close(hold_r)
    answer = os.read(ready_r, 4096)
    os.close(ready_r)
    try:
        if answer != b"ok":
            raise OSError(0, f"cannot build the sandbox root: {answer.decode(errors='replace')}")
        return os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(hold_w)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def serve(channel: socket.socket) -> None:
    """The zygote's loop; returns when the supervisor closes its end."""
    hello = json.loads(channel.recv(_MAX_MESSAGE))
    seccomp_program: bytes | None = None
    problem: str | None = None
    if hello.get("seccomp", True):
        from lakevault.sandbox._seccomp import compile_program

        try:
            seccomp_program = compile_program()
        except (ImportError, OSError, RuntimeError, ValueError) as exc:
            problem = f"cannot compile the seccomp program: {exc}"
    # Live in the slot's cgroups, so that every sandbox forked from here starts inside them.
    # Each sandbox raises its own OOM score to the top, so the OOM killer picks it, not us.
    for procs in hello.get("cgroup_procs", []):
        with open(procs, "w", encoding="ascii") as file:
            file.write("0")
    root = Path(hello["root_mount_point"])
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    runtime = discover_runtime(str(root), seccomp_program)
    if hello.get("root", True):
        try:
            runtime = dataclasses.replace(
                runtime, template_namespace_fd=make_template_namespace(runtime)
            )
        except OSError as exc:
            problem = problem or str(exc)
    channel.send(
        json.dumps({"ready": problem is None, "pid": os.getpid(), "error": problem}).encode()
    )
    sys.stdout.flush()
    sys.stderr.flush()
    # Every object so far moves to the collector's permanent generation: a sandbox's garbage
    # collections then never walk (and so never copy-on-write) the pages it inherited.
    gc.collect()
    gc.freeze()
    _spawn_loop(channel, runtime, list(hello.get("layers", [])))


def _report(status_fd: int, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # The supervisor may have stopped listening.
        os.write(status_fd, (json.dumps(message) + "\n").encode())


class _Prepared:
    """The next sandbox, forked ahead of its request and waiting on a control socket."""

    def __init__(self, pid: int, pidfd: int, control: socket.socket) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.control = control


def _fork(layers: list[str]) -> int:
    return _linux.fork_into_new_pid_namespace() if "pid" in layers else os.fork()


def _prepare_next(layers: list[str], runtime: Runtime) -> _Prepared | None:
    """Fork the next sandbox and let it create its namespaces while no one waits for it."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = _fork(layers)
    if pid == 0:  # pragma: no cover - the prepared sandbox
        # Hold nothing of the zygote's: not its channel, not a running sandbox's status pipe
        # (whose end-of-file tells the supervisor that sandbox is gone).
        keep = {0, 1, 2, theirs.fileno(), runtime.template_namespace_fd}
        for name in os.listdir("/proc/self/fd"):
            if int(name) not in keep:
                with contextlib.suppress(OSError):
                    os.close(int(name))
        try:
            prepare_sandbox(set(layers), runtime)
            message, fds, _flags, _address = socket.recv_fds(theirs, _MAX_MESSAGE, _MAX_FDS)
        except BaseException:  # noqa: BLE001 - the zygote falls back to a fresh fork
            os._exit(125)
        if not message:
            os._exit(0)
        run_sandbox(json.loads(message), list(fds), runtime, prepared=True)
    theirs.close()
    return _Prepared(pid, os.pidfd_open(pid), ours)


def _spawn_loop(channel: socket.socket, runtime: Runtime, layers: list[str]) -> None:
    """Hand each spawn request to the prepared sandbox (or fork one), report its pid and,
    later, its wait status; prepare the next sandbox right away."""
    running: dict[int, tuple[int, int]] = {}  # pidfd -> (pid, status descriptor)
    with selectors.DefaultSelector() as selector:
        selector.register(channel, selectors.EVENT_READ)
        prepared = _prepare_next(layers, runtime)
        if prepared is not None:
            selector.register(prepared.pidfd, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fileobj is not channel:
                    pidfd = int(key.fd)
                    selector.unregister(pidfd)
                    os.close(pidfd)
                    if prepared is not None and pidfd == prepared.pidfd:
                        # The prepared sandbox died before its request: fork anew later.
                        os.waitpid(prepared.pid, 0)
                        prepared.control.close()
                        prepared = None
                        continue
                    pid, status_fd = running.pop(pidfd)
                    _, wait_status = os.waitpid(pid, 0)
                    _report(status_fd, {"wait_status": wait_status})
                    os.close(status_fd)
                    continue
                message, fds, _flags, _address = socket.recv_fds(channel, _MAX_MESSAGE, _MAX_FDS)
                if not message:
                    for fd in fds:
                        os.close(fd)
                    return
                pid, pidfd, ahead = -1, -1, False
                if prepared is not None:
                    try:
                        socket.send_fds(prepared.control, [message], list(fds))
                        pid, pidfd, ahead = prepared.pid, prepared.pidfd, True
                    except OSError:
                        selector.unregister(prepared.pidfd)
                        os.close(prepared.pidfd)
                        os.waitpid(prepared.pid, 0)
                    prepared.control.close()
                    prepared = None
                if pid == -1:
                    spawn: dict[str, Any] = json.loads(message)
                    pid = _fork(spawn["layers"])
                    if pid == 0:
                        run_sandbox(spawn, list(fds), runtime, prepared=False)
                    pidfd = os.pidfd_open(pid)
                    selector.register(pidfd, selectors.EVENT_READ)
                for fd in fds[1:]:
                    os.close(fd)
                _report(fds[0], {"pid": pid, "ahead": ahead})
                running[pidfd] = (pid, fds[0])
                prepared = _prepare_next(layers, runtime)
                if prepared is not None:
                    selector.register(prepared.pidfd, selectors.EVENT_READ)
                    _report(fds[0], {"prepared": prepared.pid})


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = socket.socket(fileno=int(argv[0]))
    with contextlib.suppress(ConnectionError, EOFError):
        serve(channel)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
