"""Atomic file writes: a crash leaves the old file or the new one, never half of one.

Write to a temporary file in the same directory, ``fsync`` it, ``rename`` it over the target,
then ``fsync`` the directory so the rename itself is durable (POSIX rename is atomic within a
file system). The one piece of I/O in ``core``: every layer that keeps a file (signing keys,
exports, configuration) needs exactly this guarantee, so it is written once
(docs/decisions/0001-layers.md).
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data``; the file is created with ``mode`` before any byte lands."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make renames and creations in ``directory`` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
