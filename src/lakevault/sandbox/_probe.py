"""Probing which confinement layers this kernel and host really allow.

Each layer is tried for real, in a forked child that exits right after, the way a sandbox
would use it: unshare each namespace, ``pivot_root`` onto a tmpfs, drop to an unprivileged uid
and then enter a user namespace, set ``no_new_privs``, load the seccomp program and check that
it refuses a call, create the slot cgroups, set rlimits. Nothing is inferred from version
numbers or file names, so the answer is what the next sandbox would meet.
"""

from __future__ import annotations

import os
import resource
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from lakevault.sandbox import _cgroups, _linux

#: Every layer a sandbox applies, in the order ``lakevault sandbox check`` prints them.
LAYERS = (
    "user",
    "pid",
    "net",
    "mount",
    "ipc",
    "uts",
    "cgroup-namespace",
    "pivot_root",
    "capabilities",
    "no_new_privs",
    "seccomp",
    "cgroups",
    "rlimits",
)

_PROBE_UID = 3_999_999


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerStatus:
    """Whether one layer works here, and what the kernel said."""

    layer: str
    available: bool
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerReport:
    layers: tuple[LayerStatus, ...]
    cgroup_layout: str

    @property
    def missing(self) -> tuple[LayerStatus, ...]:
        return tuple(status for status in self.layers if not status.available)

    @property
    def available_names(self) -> frozenset[str]:
        return frozenset(status.layer for status in self.layers if status.available)


def _in_child(check: Callable[[], str]) -> tuple[bool, str]:
    """Run ``check`` in a forked child; (True, detail) when it returned, (False, error)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_end)
        code = 0
        try:
            message = check()
        except BaseException as exc:  # noqa: BLE001 - a probe child reports and exits
            message = f"{type(exc).__name__}: {exc}"
            code = 1
        os.write(write_end, message.encode()[:4000])
        os._exit(code)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    detail = b"".join(chunks).decode(errors="replace")
    ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    if not ok and not detail:
        detail = f"probe child ended with wait status {status}"
    return ok, detail


def _namespace(flag: int, name: str) -> Callable[[], str]:
    def check() -> str:
        _linux.unshare(flag)
        return f"unshare(CLONE_NEW{name.upper()}) works"

    return check


def _user_namespace() -> str:
    # As a sandbox does it: first give up root, then enter a user namespace unprivileged.
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(_PROBE_UID, _PROBE_UID, _PROBE_UID)
        os.setresuid(_PROBE_UID, _PROBE_UID, _PROBE_UID)
    _linux.unshare(_linux.CLONE_NEWUSER)
    return "an unprivileged uid can enter a new user namespace"


def _pivot_root() -> str:
    _linux.unshare(_linux.CLONE_NEWNS)
    _linux.mount(None, "/", None, _linux.MS_REC | _linux.MS_PRIVATE)
    # Mounted over /tmp inside this private mount namespace: the host's /tmp is untouched.
    root = tempfile.gettempdir()
    _linux.mount("probe", root, "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV, "size=64k")
    os.mkdir(root + "/.old")
    os.chdir(root)
    _linux.pivot_root(".", ".old")
    _linux.umount("/.old", _linux.MNT_DETACH)
    return "pivot_root onto a tmpfs works"


def _capabilities() -> str:
    # As a sandbox does it: the slot's uid, a user namespace, then empty sets in it.
    last = _linux.last_capability()  # read while the files are still readable
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(_PROBE_UID, _PROBE_UID, _PROBE_UID)
        os.setresuid(_PROBE_UID, _PROBE_UID, _PROBE_UID)
    _linux.unshare(_linux.CLONE_NEWUSER)
    _linux.drop_bounding_set(last)
    _linux.clear_capabilities()
    return "per-slot uid; bounding, effective and permitted sets emptied"


def _no_new_privs() -> str:
    _linux.set_no_new_privs()
    if _linux.prctl(_linux.PR_GET_NO_NEW_PRIVS) != 1:
        raise OSError(1, "PR_GET_NO_NEW_PRIVS did not read back 1")
    return "no_new_privs set"


def _seccomp() -> str:
    from lakevault.sandbox._seccomp import compile_program

    program = compile_program()
    _linux.set_no_new_privs()
    _linux.load_seccomp_program(program)
    try:
        _linux.unshare(_linux.CLONE_NEWUTS)
    except OSError as exc:
        if exc.errno == 1:
            return f"libseccomp allow-list loaded ({len(program) // 8} BPF instructions)"
        raise
    raise OSError(0, "the filter loaded but did not refuse unshare")


def _rlimits() -> str:
    for limit, value in (
        (resource.RLIMIT_NOFILE, 1024),
        (resource.RLIMIT_NPROC, 64),
        (resource.RLIMIT_FSIZE, 1 << 26),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))
    return "NOFILE, NPROC, FSIZE and CORE set"


def _cgroups_check(system: _cgroups.CgroupSystem) -> tuple[bool, str]:
    if system.missing:
        return False, (
            f"layout {system.layout.value}: controllers {', '.join(system.missing)} are not "
            "available to this process"
        )
    group = f"lakevault-probe-{os.getpid()}"
    try:
        slot = _cgroups.create_slot(system, group, 0)
        slot.set_limits(memory_bytes=64 << 20, pids=8, cpu_fraction=0.5)
        slot.remove()
    except OSError as exc:
        return False, f"layout {system.layout.value}: cannot create a limited cgroup: {exc}"
    finally:
        _cgroups.remove_group(system, group)
    where = ", ".join(
        f"{c}={'v2' if h.is_v2 else 'v1'}" for c, h in sorted(system.hierarchies.items())
    )
    return True, f"layout {system.layout.value} ({where})"


def probe_layers() -> LayerReport:
    """Try every layer; the report lists each with whether it works and why not."""
    checks: dict[str, Callable[[], str]] = {
        "user": _user_namespace,
        "pid": _namespace(_linux.CLONE_NEWPID, "pid"),
        "net": _namespace(_linux.CLONE_NEWNET, "net"),
        "mount": _namespace(_linux.CLONE_NEWNS, "ns"),
        "ipc": _namespace(_linux.CLONE_NEWIPC, "ipc"),
        "uts": _namespace(_linux.CLONE_NEWUTS, "uts"),
        "cgroup-namespace": _namespace(_linux.CLONE_NEWCGROUP, "cgroup"),
        "pivot_root": _pivot_root,
        "capabilities": _capabilities,
        "no_new_privs": _no_new_privs,
        "seccomp": _seccomp,
        "rlimits": _rlimits,
    }
    statuses: list[LayerStatus] = []
    try:
        system = _cgroups.detect()
    except OSError:
        system = _cgroups.CgroupSystem(layout=_cgroups.CgroupLayout.NONE, hierarchies={})
    for layer in LAYERS:
        if layer == "cgroups":
            available, detail = _cgroups_check(system)
        else:
            available, detail = _in_child(checks[layer])
        statuses.append(LayerStatus(layer=layer, available=available, detail=detail))
    return LayerReport(layers=tuple(statuses), cgroup_layout=system.layout.value)
