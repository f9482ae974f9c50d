"""Control groups for sandbox slots, on cgroup v1, v2 and hybrid hierarchies.

Each sandbox slot owns one cgroup per controller it needs (memory, pids, cpu). On a pure v2
host that is one directory in the unified tree; on v1 it is one directory in each controller's
hierarchy; on a hybrid host (v1 controllers plus an empty or partial v2 tree, as systemd's
"hybrid" mode and this project's VMs have) each controller is taken from wherever it is
actually attached. The slots live under the supervisor's own cgroup, so everything a sandbox
uses is still charged to the supervisor's parents.

The layout is read from ``/proc/self/mountinfo`` and ``/proc/self/cgroup``; nothing is assumed
from paths.
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

#: The controllers a sandbox needs, all of them mandatory.
CONTROLLERS = ("memory", "pids", "cpu")

_CPU_PERIOD_MICROSECONDS = 100_000


class CgroupLayout(enum.Enum):
    V1 = "v1"
    V2 = "v2"
    HYBRID = "hybrid"
    NONE = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class Hierarchy:
    """Where one controller lives: the mount point, v1 or v2, and our own cgroup in it."""

    controller: str
    mount_point: Path
    is_v2: bool
    own_path: str

    @property
    def own_directory(self) -> Path:
        return self.mount_point / self.own_path.lstrip("/")


@dataclass(frozen=True, slots=True, kw_only=True)
class CgroupSystem:
    """What the host offers: its layout and, per controller, the hierarchy that has it."""

    layout: CgroupLayout
    hierarchies: dict[str, Hierarchy]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(c for c in CONTROLLERS if c not in self.hierarchies)


def _own_cgroups() -> tuple[dict[str, str], str | None]:
    """Our cgroup path per v1 controller and our v2 path, from ``/proc/self/cgroup``."""
    v1: dict[str, str] = {}
    v2: str | None = None
    with open("/proc/self/cgroup", encoding="utf-8") as file:
        for line in file:
            number, controllers, path = line.rstrip("\n").split(":", 2)
            if number == "0" and controllers == "":
                v2 = path
            for controller in controllers.split(","):
                if controller:
                    v1[controller] = path
    return v1, v2


def detect() -> CgroupSystem:
    """Read the cgroup layout of this host and where each needed controller is attached."""
    v1_mounts: dict[str, Path] = {}
    v2_mount: Path | None = None
    with open("/proc/self/mountinfo", encoding="utf-8") as file:
        for line in file:
            before, _, after = line.partition(" - ")
            fields = before.split()
            fstype, _source, super_options = [*after.split(), "", "", ""][:3]
            mount_point = Path(fields[4])
            if fstype == "cgroup2":
                v2_mount = v2_mount or mount_point
            elif fstype == "cgroup":
                for option in super_options.split(","):
                    if option in CONTROLLERS:
                        v1_mounts.setdefault(option, mount_point)
    own_v1, own_v2 = _own_cgroups()
    hierarchies: dict[str, Hierarchy] = {}
    v2_controllers: set[str] = set()
    if v2_mount is not None:
        with contextlib.suppress(OSError):
            v2_controllers = set((v2_mount / "cgroup.controllers").read_text().split())
    for controller in CONTROLLERS:
        if controller in v1_mounts:
            hierarchies[controller] = Hierarchy(
                controller=controller,
                mount_point=v1_mounts[controller],
                is_v2=False,
                own_path=own_v1.get(controller, "/"),
            )
        elif v2_mount is not None and controller in v2_controllers:
            hierarchies[controller] = Hierarchy(
                controller=controller, mount_point=v2_mount, is_v2=True, own_path=own_v2 or "/"
            )
    if v1_mounts and v2_mount is not None:
        layout = CgroupLayout.HYBRID
    elif v1_mounts:
        layout = CgroupLayout.V1
    elif v2_mount is not None:
        layout = CgroupLayout.V2
    else:
        layout = CgroupLayout.NONE
    return CgroupSystem(layout=layout, hierarchies=hierarchies)


def _write(path: Path, value: str) -> None:
    with open(path, "w", encoding="ascii") as file:
        file.write(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotCgroup:
    """The cgroup directories of one sandbox slot, one per controller (v2 shares one)."""

    directories: dict[str, Path]
    v2_controllers: frozenset[str]

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a sandbox writes itself into (each directory once)."""
        return sorted({str(d / "cgroup.procs") for d in self.directories.values()})

    def set_limits(self, *, memory_bytes: int, pids: int, cpu_fraction: float) -> None:
        """Apply this invocation's limits (hard memory with OOM kill, pids, CPU quota)."""
        memory = self.directories["memory"]
        if "memory" in self.v2_controllers:
            _write(memory / "memory.max", str(memory_bytes))
            with contextlib.suppress(OSError):
                _write(memory / "memory.swap.max", "0")
        else:
            _set_v1_memory(memory, memory_bytes)
        pids_dir = self.directories["pids"]
        _write(pids_dir / "pids.max", str(pids))
        cpu = self.directories["cpu"]
        quota = max(1000, int(_CPU_PERIOD_MICROSECONDS * cpu_fraction))
        if "cpu" in self.v2_controllers:
            _write(cpu / "cpu.max", f"{quota} {_CPU_PERIOD_MICROSECONDS}")
            _write(cpu / "cpu.weight", "100")
        else:
            _write(cpu / "cpu.cfs_period_us", str(_CPU_PERIOD_MICROSECONDS))
            _write(cpu / "cpu.cfs_quota_us", str(quota))
            _write(cpu / "cpu.shares", "1024")

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer has killed in this slot so far."""
        memory = self.directories["memory"]
        name = "memory.events" if "memory" in self.v2_controllers else "memory.oom_control"
        try:
            text = (memory / name).read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            with contextlib.suppress(OSError):
                found.update(int(p) for p in Path(procs).read_text().split())
        return sorted(found)

    def kill_all(
        self, *, wait_seconds: float = 2.0, keep: frozenset[int] | set[int] = frozenset()
    ) -> bool:
        """SIGKILL every process in the slot but ``keep`` (the slot's zygote) and wait until
        none is left; True when none is."""
        if not keep:
            for directory in self.directories.values():
                kill_file = directory / "cgroup.kill"
                if kill_file.exists():
                    with contextlib.suppress(OSError):
                        _write(kill_file, "1")
        deadline = time.monotonic() + wait_seconds
        while True:
            remaining = [pid for pid in self.pids() if pid not in keep]
            if not remaining:
                return True
            for pid in remaining:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)

    def wait_empty(
        self, *, wait_seconds: float = 2.0, keep: frozenset[int] | set[int] = frozenset()
    ) -> bool:
        """Wait for the processes of a finished sandbox to be gone (the kernel reaps a pid
        namespace's members asynchronously after its init dies); kill stragglers at the end.
        ``keep`` are the pids that belong in the slot (its zygote)."""
        deadline = time.monotonic() + wait_seconds
        while any(pid not in keep for pid in self.pids()):
            if time.monotonic() > deadline:
                return self.kill_all(keep=keep)
            time.sleep(0.0005)
        return True

    def remove(self) -> None:
        self.kill_all()
        for directory in sorted(set(self.directories.values()), reverse=True):
            with contextlib.suppress(OSError):
                directory.rmdir()


def _set_v1_memory(directory: Path, memory_bytes: int) -> None:
    """Set a v1 hard limit; memsw (memory+swap) must stay >= the memory limit, so the order
    of the two writes depends on whether the limit goes up or down."""
    limit = directory / "memory.limit_in_bytes"
    memsw = directory / "memory.memsw.limit_in_bytes"
    if not memsw.exists():
        _write(limit, str(memory_bytes))
        return
    try:
        _write(limit, str(memory_bytes))
        _write(memsw, str(memory_bytes))
    except OSError:
        _write(memsw, str(memory_bytes))
        _write(limit, str(memory_bytes))


def create_slot(system: CgroupSystem, group: str, slot: int) -> SlotCgroup:
    """Create (or reuse) the cgroup directories of ``slot`` under ``group``.

    Raises :class:`OSError` when the host does not let us create them (for example a v2
    tree whose controllers are not delegated to our cgroup).
    """
    directories: dict[str, Path] = {}
    v2_controllers: set[str] = set()
    for controller, hierarchy in system.hierarchies.items():
        base = hierarchy.own_directory / group
        directory = base / f"slot-{slot}"
        directory.mkdir(parents=True, exist_ok=True)
        if hierarchy.is_v2:
            v2_controllers.add(controller)
            # A v2 parent must delegate the controller to its children.
            for parent in (hierarchy.own_directory, base):
                with contextlib.suppress(OSError):
                    _write(parent / "cgroup.subtree_control", f"+{controller}")
        directories[controller] = directory
    return SlotCgroup(directories=directories, v2_controllers=frozenset(v2_controllers))


def remove_group(system: CgroupSystem, group: str) -> None:
    """Remove the (empty) group directories a supervisor created."""
    for hierarchy in system.hierarchies.values():
        with contextlib.suppress(OSError):
            (hierarchy.own_directory / group).rmdir()


def remove_stale_groups(system: CgroupSystem, prefix: str) -> None:
    """Remove the empty groups ``PREFIX-PID-*`` left by supervisors that died (PID gone)."""
    for hierarchy in system.hierarchies.values():
        with contextlib.suppress(OSError):
            for group in hierarchy.own_directory.glob(f"{prefix}-*"):
                pid = group.name[len(prefix) + 1 :].split("-", 1)[0]
                if not pid.isdigit() or Path(f"/proc/{pid}").exists():
                    continue
                for slot in group.glob("slot-*"):
                    with contextlib.suppress(OSError):
                        slot.rmdir()
                with contextlib.suppress(OSError):
                    group.rmdir()
