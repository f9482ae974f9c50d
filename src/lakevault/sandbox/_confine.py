"""Turning a process forked from the zygote into a single-use sandbox.

.. warning::
   Everything here runs in a process forked from the zygote and ends with ``os._exit``. It
   changes namespaces, mounts, uids and the seccomp filter of the calling process for good.

One process per invocation, forked by the zygote as pid 1 of a new pid namespace (the zygote
reports its host pid and, when it ends, its wait status on the *status* pipe). It raises its OOM
score; enters new net, mount, ipc, uts and cgroup namespaces (it already is in its slot's
cgroups, where its zygote lives); copies the zygote's template root — a read-only tmpfs with
only the runtime bound read-only — adds a read-only copy of the function's code and a fresh,
size-limited ``noexec`` ``/tmp``; sets rlimits; drops to the slot's uid and enters a new
user namespace, where it empties its capability and bounding sets; sets ``no_new_privs``;
installs the seccomp program; and only then reads the event and runs the handler (``_runner``).

A failure while confining is reported on the status pipe as ``{"setup_error": LAYER, ...}``
and the sandbox exits without running any code of the function.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import resource
import signal
from dataclasses import dataclass
from typing import Any, NoReturn

from lakevault.sandbox import _linux
from lakevault.sandbox._runner import run_handler

#: The descriptor numbers inside the sandbox (0, 1, 2 are stdin, stdout, stderr).
REQUEST_FD = 3
RESULT_FD = 4
BROKER_FD = 5
STATUS_FD = 6

#: The most code a function may bring (a file or a package directory).
CODE_LIMIT_BYTES = 50 * 1024 * 1024

_SETUP_FAILED = 125


@dataclass(frozen=True, slots=True, kw_only=True)
class Runtime:
    """What the zygote learned once at start and every sandbox reuses."""

    root_mount_point: str
    read_only_binds: tuple[str, ...]
    symlinks: tuple[tuple[str, str], ...]
    hidden_directories: tuple[str, ...]
    import_path: tuple[str, ...]
    seccomp_program: bytes | None
    last_capability: int
    template_namespace_fd: int | None = None


class _SetupError(Exception):
    def __init__(self, layer: str, error: BaseException) -> None:
        super().__init__(f"{layer}: {error}")
        self.layer = layer
        self.detail = str(error)


def _write_line(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        written = os.write(fd, data)
        data = data[written:]


def run_sandbox(
    spawn: dict[str, Any], fds: list[int], runtime: Runtime, *, prepared: bool
) -> NoReturn:
    """The sandbox process, forked from the zygote: confine, then run the handler.

    ``prepared`` says that :func:`prepare_sandbox` already ran in this process (the zygote
    forks the next sandbox ahead of its request, up to the point where the request matters).
    """
    try:
        if not prepared:
            _prepare(set(spawn["layers"]), runtime)
        module_name = _confine(spawn, fds, runtime)
    except _SetupError as exc:
        _write_line(fds[0], {"setup_error": exc.layer, "detail": exc.detail})
        os._exit(_SETUP_FAILED)
    except BaseException as exc:  # noqa: BLE001 - report, never return into the zygote
        _write_line(fds[0], {"setup_error": "internal", "detail": repr(exc)})
        os._exit(_SETUP_FAILED)
    # Confined: the status pipe belongs to the zygote from here on.
    os.close(fds[0])
    run_handler(
        request_fd=REQUEST_FD,
        result_fd=RESULT_FD,
        broker_fd=BROKER_FD if spawn.get("broker") else None,
        module_name=module_name,
        handler_name=spawn["handler"],
        import_path=("/function", *runtime.import_path),
    )


def _step(layer: str) -> _Layer:
    """``with _step("mount"):`` turns an OSError into a setup error naming the layer."""
    return _Layer(layer)


class _Layer:
    def __init__(self, layer: str) -> None:
        self.layer = layer

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        if isinstance(error, OSError | ValueError):
            raise _SetupError(self.layer, error) from error


def prepare_sandbox(layers: set[str], runtime: Runtime) -> None:
    """What a sandbox does before its request is known: OOM score, namespaces, hostname, a
    private copy of the template root. Raises :class:`_SetupError` naming the layer."""
    _prepare(layers, runtime)


def _prepare(layers: set[str], runtime: Runtime) -> None:
    _linux.prctl(_linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    if "cgroups" in layers:
        # The sandbox is in its slot's cgroups already (forked from the slot's zygote). It
        # raises its OOM score to the top so that the OOM killer picks it, not the zygote.
        with _step("cgroups"):
            descriptor = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
            try:
                os.write(descriptor, b"1000")
            finally:
                os.close(descriptor)
    namespaces = {
        "net": _linux.CLONE_NEWNET,
        "ipc": _linux.CLONE_NEWIPC,
        "uts": _linux.CLONE_NEWUTS,
        "cgroup-namespace": _linux.CLONE_NEWCGROUP,
    }
    wanted = [name for name in namespaces if name in layers]
    if wanted:
        with _step("+".join(wanted)):
            flags = 0
            for name in wanted:
                flags |= namespaces[name]
            _linux.unshare(flags)
    if "uts" in layers:
        with _step("uts"):
            _linux.sethostname("sandbox")
    if "pivot_root" in layers and "mount" in layers:
        with _step("pivot_root"):
            if runtime.template_namespace_fd is None:
                raise ValueError("the zygote has no template root")
            # A private copy of the template root (already pivoted, host tree detached).
            _linux.setns(runtime.template_namespace_fd, _linux.CLONE_NEWNS)
            _linux.unshare(_linux.CLONE_NEWNS)
            os.chdir("/")
    elif "mount" in layers:
        with _step("mount"):
            _linux.unshare(_linux.CLONE_NEWNS)


def _confine(spawn: dict[str, Any], fds: list[int], runtime: Runtime) -> str:
    """Apply the rest of the layers for this request; return the function's module name."""
    layers = set(spawn["layers"])
    code_fd = fds.pop()
    name, is_dir = str(spawn["code_name"]), bool(spawn["code_is_dir"])
    module_name = name if is_dir else name.removesuffix(".py")
    if "pivot_root" in layers and "mount" in layers:
        with _step("pivot_root"):
            _add_code_and_tmp(
                _read_code(code_fd, name, is_dir), tmp_bytes=int(spawn["limits"]["tmp_bytes"])
            )
    os.close(code_fd)
    # Descriptors: 0 reads nothing, 1 and 2 are the log pipes, 3.. the protocol.
    with _step("descriptors"):
        _arrange_descriptors(fds)
    _drop_privileges(spawn, runtime, layers)
    return module_name


def _drop_privileges(spawn: dict[str, Any], runtime: Runtime, layers: set[str]) -> None:
    """rlimits, the slot uid without capabilities, a user namespace, no_new_privs, seccomp."""
    limits = spawn["limits"]
    if "rlimits" in layers:
        with _step("rlimits"):
            nofile = int(limits["open_files"])
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
            nproc = int(limits["pids"])
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            fsize = int(limits["file_size_bytes"])
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if "capabilities" in layers:
        with _step("capabilities"):
            uid, gid = int(spawn["uid"]), int(spawn["gid"])
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
    if "user" in layers:
        with _step("user"):
            _linux.unshare(_linux.CLONE_NEWUSER)
    if "capabilities" in layers:
        with _step("capabilities"):
            # A new user namespace starts with full capability and bounding sets (in that
            # namespace), so both are emptied only now, after entering it.
            _linux.drop_bounding_set(runtime.last_capability)
            _linux.clear_capabilities()
    if "no_new_privs" in layers:
        with _step("no_new_privs"):
            _linux.set_no_new_privs()
    with _step("dumpable"):
        _linux.prctl(_linux.PR_SET_DUMPABLE, 0)
    if "seccomp" in layers:
        with _step("seccomp"):
            if runtime.seccomp_program is None:
                raise ValueError("the zygote has no compiled seccomp program")
            _linux.load_seccomp_program(runtime.seccomp_program)


def _bind_read_only(source: str, target: str) -> None:
    _linux.mount(source, target, None, _linux.MS_BIND | _linux.MS_REC)
    _linux.mount(
        None,
        target,
        None,
        _linux.MS_REMOUNT | _linux.MS_BIND | _linux.MS_RDONLY | _linux.MS_NOSUID | _linux.MS_NODEV,
    )


def build_template_root(runtime: Runtime) -> None:
    """In a fresh mount namespace, build the sandbox root once and pivot onto it.

    Run by a helper process the zygote forks at start; the zygote keeps the namespace (by a
    descriptor) as the *template* every sandbox copies. The root is a read-only tmpfs holding
    the runtime (read-only binds), empty mount points for ``/function`` and ``/tmp``, and
    ``/dev/null``; the host's tree is detached. Building it once saves each sandbox the bind
    mounts and the detach of the old root (an RCU grace period in the kernel).
    """
    root = runtime.root_mount_point
    _linux.unshare(_linux.CLONE_NEWNS)
    _linux.mount(None, "/", None, _linux.MS_REC | _linux.MS_PRIVATE)
    _linux.mount(
        "lakevault-root", root, "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV, "size=1m,mode=0755"
    )
    for source in runtime.read_only_binds:
        target = root + source
        os.makedirs(target, mode=0o755, exist_ok=True)
        _bind_read_only(source, target)
    for hidden in runtime.hidden_directories:
        _linux.mount(
            "lakevault-empty",
            root + hidden,
            "tmpfs",
            _linux.MS_RDONLY | _linux.MS_NOSUID | _linux.MS_NODEV | _linux.MS_NOEXEC,
            "size=4k,mode=0555",
        )
    for link, destination in runtime.symlinks:
        os.symlink(destination, root + link)
    os.mkdir(root + "/function", 0o755)
    os.mkdir(root + "/dev", 0o755)
    with open(root + "/dev/null", "wb"):
        pass
    _linux.mount("/dev/null", root + "/dev/null", None, _linux.MS_BIND)
    os.mkdir(root + "/tmp", 0o1777)  # noqa: S108 - a mount point in the sandbox's root
    os.mkdir(root + "/.old", 0o700)
    _linux.mount(
        None, root, None, _linux.MS_REMOUNT | _linux.MS_RDONLY | _linux.MS_NOSUID | _linux.MS_NODEV
    )
    os.chdir(root)
    _linux.pivot_root(".", ".old")
    os.chdir("/")
    _linux.umount("/.old", _linux.MNT_DETACH)


def _read_code(code_fd: int, name: str, is_dir: bool) -> list[tuple[str, bytes | None]]:
    """The function's files as (relative path, content; None for a directory), capped.

    Read through the descriptor the supervisor opened, so it works after the sandbox has left
    the host's mount namespace. Symbolic links are skipped, never followed.
    """
    if not is_dir:
        return [(name, _read_descriptor(code_fd))]
    entries: list[tuple[str, bytes | None]] = [(name, None)]
    total = 0
    for directory, subdirectories, files, directory_fd in os.fwalk(".", dir_fd=code_fd):
        relative = os.path.normpath(os.path.join(name, directory))
        entries.extend((os.path.join(relative, sub), None) for sub in sorted(subdirectories))
        for file_name in sorted(files):
            try:
                descriptor = os.open(file_name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory_fd)
            except OSError:
                continue  # a symbolic link or something else that is not a plain file
            try:
                content = _read_descriptor(descriptor)
            finally:
                os.close(descriptor)
            total += len(content)
            if total > CODE_LIMIT_BYTES:
                raise ValueError(f"the function's code is larger than {CODE_LIMIT_BYTES} bytes")
            entries.append((os.path.join(relative, file_name), content))
    return entries


def _read_descriptor(descriptor: int) -> bytes:
    chunks = []
    total = 0
    while chunk := os.read(descriptor, 1 << 20):
        chunks.append(chunk)
        total += len(chunk)
        if total > CODE_LIMIT_BYTES:
            raise ValueError(f"the function's code is larger than {CODE_LIMIT_BYTES} bytes")
    return b"".join(chunks)


def _add_code_and_tmp(files: list[tuple[str, bytes | None]], *, tmp_bytes: int) -> None:
    """In the sandbox's copy of the template root: a read-only copy of the code at
    /function and a fresh, size-limited, noexec /tmp."""
    size = sum(len(content or b"") for _, content in files) + (1 << 20)
    _linux.mount(
        "lakevault-function",
        "/function",
        "tmpfs",
        _linux.MS_NOSUID | _linux.MS_NODEV,
        f"size={size},mode=0755",
    )
    for relative, content in files:
        target = "/function/" + relative
        if content is None:
            os.mkdir(target, 0o755)
        else:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
    _linux.mount(
        None,
        "/function",
        None,
        _linux.MS_REMOUNT | _linux.MS_RDONLY | _linux.MS_NOSUID | _linux.MS_NODEV,
    )
    _linux.mount(
        "lakevault-tmp",
        "/tmp",  # noqa: S108 - the sandbox's own, fresh tmpfs
        "tmpfs",
        _linux.MS_NOSUID | _linux.MS_NODEV | _linux.MS_NOEXEC,
        f"size={tmp_bytes},mode=1777",
    )


def _arrange_descriptors(fds: list[int]) -> None:
    """Put the protocol descriptors at fixed numbers and close every other descriptor.

    ``fds`` is ``[status, request, result, stdout, stderr(, broker)]`` as received from the
    supervisor; afterwards the status pipe is at :data:`STATUS_FD` (closed before the handler
    runs) and ``fds[0]`` says so.
    """
    targets = [STATUS_FD, REQUEST_FD, RESULT_FD, 1, 2, BROKER_FD][: len(fds)]
    # Move every source above all targets first, so that no dup2 below clobbers a source.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in fds]
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    for source, target in zip(high, targets, strict=True):
        os.dup2(source, target, inheritable=False)
    keep_until = max(targets) + 1
    for fd in range(3, keep_until):
        if fd not in targets:
            with contextlib.suppress(OSError):
                os.close(fd)
    os.closerange(keep_until, _highest_descriptor())
    fds[0] = STATUS_FD


def _highest_descriptor() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return min(soft, 1 << 20)
