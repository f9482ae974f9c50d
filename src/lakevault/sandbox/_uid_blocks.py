"""Host uids for sandboxes: a block of 64 per running supervisor, never shared.

Each sandbox runs as its slot's own host uid (``BASE + 64 * block + slot``), so that no sandbox
can signal, trace or read the files of another. A supervisor used to derive its block from its
pid (``pid % 10,000``): two supervisors alive at once whose pids are congruent — the HTTP
processes of one server (two by default, ADR 0268), its job workers, or two installations on one
host — would have run sandboxes under the same uids. Now a supervisor *claims* its block with an
exclusive ``flock`` on ``DIRECTORY/block-N.lock`` for as long as it runs: the first free block
from its preferred one (still ``pid % 10,000``) on. The kernel drops the lock when the process
dies, however it dies, so a block is never lost and never held twice (ADR 0269).

The directory belongs to the supervisor's user (root in production) and is writable by nobody
else: another local user must not be able to hold or swap its lock files. It is under ``/run``
when that is writable, else under the system's temporary directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from pathlib import Path

from lakevault.sandbox._errors import SandboxUnavailable

#: The first sandbox uid; blocks follow it (the range hostile tests and operators look for).
SLOT_UID_BASE = 3_000_000
#: Uids per block: the most zygotes a supervisor may have (``SupervisorSettings``).
BLOCK_UIDS = 64
#: Blocks: 3,000,000 - 3,640,000.
BLOCKS = 10_000


def default_directory() -> Path:
    """``/run/lakevault-sandbox-uids`` when ``/run`` is writable here, else under the temp dir."""
    parent = Path("/run") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
    return parent / "lakevault-sandbox-uids"


class UidBlock:
    """A claimed block: ``base`` is its first uid; :meth:`release` gives it back."""

    def __init__(self, index: int, fd: int) -> None:
        self.index = index
        self.base = SLOT_UID_BASE + index * BLOCK_UIDS
        self._fd: int | None = fd

    def __repr__(self) -> str:
        return f"UidBlock(index={self.index}, base={self.base})"

    def release(self) -> None:
        """Drop the lock (idempotent); closing the descriptor releases the ``flock``."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def claim_uid_block(directory: Path | None = None, *, preferred: int | None = None) -> UidBlock:
    """Claim the first free block from ``preferred`` (default ``pid % BLOCKS``) on.

    Raises ``SandboxUnavailable`` when the directory is not this user's alone or every block is
    held (10,000 supervisors on one host).
    """
    directory = directory if directory is not None else default_directory()
    _own_directory(directory)
    start = (os.getpid() if preferred is None else preferred) % BLOCKS
    for offset in range(BLOCKS):
        index = (start + offset) % BLOCKS
        path = directory / f"block-{index}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        return UidBlock(index, fd)
    raise SandboxUnavailable(
        f"every sandbox uid block is held ({BLOCKS} supervisors on this host, locks in "
        f"{directory}); stop unused lakevault processes"
    )


def _own_directory(directory: Path) -> None:
    """Create ``directory`` (0700) or check that an existing one is ours and closed to others."""
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    info = os.lstat(directory)
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.geteuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        raise SandboxUnavailable(
            f"{directory} holds the sandboxes' uid locks but is not a directory of this user "
            "writable only by it; remove it (another user may have planted it) and retry"
        )
