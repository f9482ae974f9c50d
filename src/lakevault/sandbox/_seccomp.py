"""The seccomp allow-list of a sandbox, compiled once per zygote with libseccomp.

The default action is EPERM: a system call not named here fails with "Operation not
permitted" instead of killing the process, so a function gets an ordinary Python error it can
report (and tests can assert the exact errno). What is allowed is what CPython 3.11 needs to
run pure-Python and C-extension code from the standard library, fork (bounded by the pids
cgroup), and use sockets it was handed. Everything that reaches for the kernel's wider surface
is absent: mount, unshare/setns, chroot/pivot_root, ptrace and process_vm_*, keyctl, bpf,
perf_event_open, io_uring, module loading, reboot/kexec, userfaultfd, execve. ``clone`` is
allowed only without namespace flags; ``clone3`` answers ENOSYS so that glibc falls back to
``clone``, whose flags the filter can see.

libseccomp is reached through ``pyseccomp`` (PyPI) and needs Debian's ``libseccomp2``.
"""

from __future__ import annotations

import errno
import os

from lakevault.sandbox._linux import CLONE_NAMESPACE_FLAGS

ALLOWED_SYSCALLS = (
    # Files and descriptors.
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "close", "close_range", "fstat", "newfstatat", "stat", "lstat", "statx", "lseek",
    "open", "openat", "creat", "access", "faccessat", "faccessat2", "getdents", "getdents64",
    "getcwd", "chdir", "fchdir", "readlink", "readlinkat", "rename", "renameat", "renameat2",
    "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "link", "linkat", "symlink", "symlinkat",
    "chmod", "fchmod", "fchmodat", "truncate", "ftruncate", "fallocate", "fsync", "fdatasync",
    "utimensat", "umask", "dup", "dup2", "dup3", "pipe", "pipe2", "fcntl", "flock", "ioctl",
    "statfs", "fstatfs", "fadvise64", "sendfile", "splice", "tee", "copy_file_range",
    "memfd_create",
    # Waiting and time.
    "select", "pselect6", "poll", "ppoll", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "timerfd_create",
    "timerfd_settime", "timerfd_gettime", "nanosleep", "clock_nanosleep", "clock_gettime",
    "clock_getres", "gettimeofday", "time", "alarm", "setitimer", "getitimer", "times",
    # Memory.
    "mmap", "mprotect", "munmap", "mremap", "madvise", "brk", "msync", "mincore", "membarrier",
    # Signals.
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait",
    "rt_sigsuspend", "sigaltstack", "kill", "tgkill", "tkill",
    # Processes and threads (namespaces excluded below; pids bounded by the cgroup).
    "fork", "vfork", "wait4", "waitid", "exit", "exit_group", "futex", "futex_waitv",
    "set_robust_list", "get_robust_list", "set_tid_address", "rseq", "arch_prctl", "prctl",
    "sched_yield", "sched_getaffinity", "sched_getparam", "sched_getscheduler", "getpriority",
    # Identity and limits (read-only).
    "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getresuid", "getresgid", "getpgrp", "getpgid", "getsid", "getrlimit", "prlimit64",
    "getrusage", "sysinfo", "uname", "getrandom", "capget",
    # Sockets: the network namespace has no interface, so only descriptors the broker hands
    # over (already connected to an allowed endpoint) reach anything.
    "socket", "socketpair", "connect", "accept", "accept4", "sendto", "recvfrom", "sendmsg",
    "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "getsockname", "getpeername", "setsockopt",
    "getsockopt", "bind", "listen",
)  # fmt: skip


def compile_program() -> bytes:
    """Compile the allow-list to a classic-BPF program for this machine's architecture.

    Raises :class:`OSError` or :class:`ImportError` when libseccomp or pyseccomp is missing.
    """
    import pyseccomp

    program = pyseccomp.SyscallFilter(pyseccomp.ERRNO(errno.EPERM))
    for name in ALLOWED_SYSCALLS:
        try:
            program.add_rule(pyseccomp.ALLOW, name)
        except (OSError, ValueError, RuntimeError):
            continue  # Not a system call on this architecture (for example "open" on arm64).
    program.add_rule(
        pyseccomp.ALLOW,
        "clone",
        pyseccomp.Arg(0, pyseccomp.MASKED_EQ, CLONE_NAMESPACE_FLAGS, 0),
    )
    program.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    # A memory file, not a pipe: export_bpf writes the whole program before we read it.
    descriptor = os.memfd_create("lakevault-seccomp", 0)
    with os.fdopen(descriptor, "w+b", closefd=True) as buffer:
        program.export_bpf(buffer)
        buffer.flush()
        buffer.seek(0)
        return buffer.read()
