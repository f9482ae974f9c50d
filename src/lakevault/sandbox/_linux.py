"""The Linux system calls Python 3.11 does not wrap, called through ctypes.

.. warning::
   These functions change the calling process's namespaces, mounts and privileges for good.
   They are meant for the single-use processes forked from a zygote (``_confine``) and for the
   probes (``_probe``), which run each in a child that exits right after; never call them in
   the supervisor or in a long-lived process.

Every function raises :class:`OSError` with the kernel's errno on failure, so callers can say
exactly which call the kernel refused and why.
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
#: Every namespace flag, for the seccomp rule that keeps ``clone`` from making new namespaces.
CLONE_NAMESPACE_FLAGS = (
    CLONE_NEWNS
    | CLONE_NEWCGROUP
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET
)

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
SECCOMP_MODE_FILTER = 2

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

#: System call numbers glibc has no wrapper for, per machine.
_SYSCALLS = {
    "x86_64": {"pivot_root": 155, "capset": 126, "clone": 56},
    "aarch64": {"pivot_root": 41, "capset": 91, "clone": 220},
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]
_libc.syscall.restype = ctypes.c_long
# The same C library, called with the GIL held: a process must not be copied while another
# thread could hold it.
_libc_holding_gil = ctypes.PyDLL(None, use_errno=True)
_libc_holding_gil.syscall.restype = ctypes.c_long


class _SockFilterProgram(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _check(result: int, what: str) -> None:
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _syscall_number(name: str) -> int:
    table = _SYSCALLS.get(platform.machine())
    if table is None:
        raise OSError(38, f"{name}: no system call number known for {platform.machine()}")
    return table[name]


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (``unshare(2)``)."""
    _check(_libc.unshare(flags), f"unshare(0x{flags:x})")


def setns(fd: int, flags: int) -> None:
    """Join the namespace ``fd`` refers to (``setns(2)``)."""
    _check(_libc.setns(fd, flags), f"setns(0x{flags:x})")


def fork_into_new_pid_namespace() -> int:
    """Fork, the child becoming pid 1 of a new pid namespace; returns like :func:`os.fork`.

    ``os.fork`` cannot do this in one step (``unshare(CLONE_NEWPID)`` applies only to the
    caller's later children), so this is ``clone(CLONE_NEWPID | SIGCHLD)`` with no new stack,
    wrapped in CPython's own before/after-fork calls as ``os.fork`` wraps ``fork(2)``. For a
    single-threaded caller (the zygote) it saves the intermediate process a fork would need.
    """
    flags = CLONE_NEWPID | signal.SIGCHLD
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = int(_libc_holding_gil.syscall(_syscall_number("clone"), flags, 0, 0, 0, 0))
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0
    errno = ctypes.get_errno()
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid == -1:
        raise OSError(errno, f"clone(CLONE_NEWPID): {os.strerror(errno)}")
    return pid


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    """``mount(2)``; ``source``/``fstype`` may be None for remounts and propagation changes."""
    result = _libc.mount(
        source.encode() if source is not None else None,
        target.encode(),
        fstype.encode() if fstype is not None else None,
        flags,
        data.encode() if data else None,
    )
    _check(result, f"mount {target}")


def umount(target: str, flags: int = 0) -> None:
    """``umount2(2)``."""
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    """``pivot_root(2)``: make ``new_root`` the root of the mount namespace."""
    result = _libc.syscall(_syscall_number("pivot_root"), new_root.encode(), put_old.encode())
    _check(result, "pivot_root")


def sethostname(name: str) -> None:
    """``sethostname(2)`` (in a new UTS namespace it changes only the sandbox's view)."""
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def prctl(option: int, argument: int = 0) -> int:
    """``prctl(2)`` with one argument; returns the kernel's answer."""
    result = int(_libc.prctl(option, argument, 0, 0, 0))
    _check(result, f"prctl({option})")
    return result


def set_no_new_privs() -> None:
    """``PR_SET_NO_NEW_PRIVS``: no exec can ever grant privileges again; needed for seccomp."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def drop_bounding_set(last_capability: int) -> None:
    """Remove every capability from the bounding set (needs CAP_SETPCAP in the current user
    namespace; a new user namespace starts with a full bounding set, so call it after)."""
    for capability in range(last_capability + 1):
        prctl(PR_CAPBSET_DROP, capability)


def clear_capabilities() -> None:
    """``capset(2)`` with empty effective, permitted and inheritable sets."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    result = _libc.syscall(_syscall_number("capset"), ctypes.byref(header), ctypes.byref(data))
    _check(result, "capset")


def load_seccomp_program(program: bytes) -> None:
    """Install a compiled classic-BPF seccomp program (``PR_SET_SECCOMP``).

    The program is the output of libseccomp's ``seccomp_export_bpf``, compiled once in the
    zygote; loading it here costs one system call instead of a compilation per sandbox.
    """
    if len(program) % 8 != 0 or not program:
        raise ValueError("a seccomp program is a non-empty array of 8-byte BPF instructions")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFilterProgram(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    result = int(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0))
    _check(result, "prctl(PR_SET_SECCOMP)")


def last_capability() -> int:
    """The highest capability number this kernel knows (``/proc/sys/kernel/cap_last_cap``)."""
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as file:
            return int(file.read().strip())
    except (OSError, ValueError):
        return 40
