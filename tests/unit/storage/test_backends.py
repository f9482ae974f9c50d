"""The two object backends behave alike: atomic, durable blobs; ranges; deletes; listings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lakevault.storage import BackendUnavailable, BlobWriter, LocalBackend, ObjectBackend


def _write(backend: ObjectBackend, path: str, data: bytes) -> None:
    writer = backend.open_write(path)
    view = memoryview(data)
    while view:
        count = writer.write(view[: 1 << 20])
        view = view[count or len(view[: 1 << 20]) :]
    writer.commit()


def _read(backend: ObjectBackend, path: str) -> bytes:
    reader = backend.open_read(path)
    out = bytearray()
    buffer = bytearray(7000)
    while count := reader.readinto(memoryview(buffer)):
        out += buffer[:count]
    return bytes(out)


def test_a_committed_blob_reads_back_whole_and_by_range(backend: ObjectBackend) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    _write(backend, "t/a/blob", data)
    assert backend.size("t/a/blob") == len(data)
    assert _read(backend, "t/a/blob") == data
    assert backend.read_range("t/a/blob", 1000, 5000) == data[1000:6000]
    assert backend.read_range("t/a/blob", len(data) - 3, 3) == data[-3:]
    assert list(backend.list_paths("t/")) == ["t/a/blob"]


def test_an_empty_blob_is_a_blob(backend: ObjectBackend) -> None:
    _write(backend, "e/empty", b"")
    assert backend.size("e/empty") == 0
    assert _read(backend, "e/empty") == b""


def test_abort_leaves_nothing_at_the_path(backend: ObjectBackend) -> None:
    """Either backend: an aborted blob is gone. S3 shows nothing before the upload completes;
    the local backend writes under the blob's own name (ADR 0271), which no committed version
    names yet, and removes it on abort."""
    writer: BlobWriter = backend.open_write("p/pending")
    writer.write(memoryview(os.urandom(200_000)))
    if not isinstance(backend, LocalBackend):
        with pytest.raises(FileNotFoundError):
            backend.size("p/pending")
    writer.abort()
    writer.abort()
    with pytest.raises(FileNotFoundError):
        backend.size("p/pending")
    assert list(backend.list_paths("p/")) == []


def test_a_local_blob_is_never_written_over(tmp_path: Path) -> None:
    """Blob names are never reused: a second writer for an existing name is refused before it
    writes a byte (``O_EXCL``), and the committed blob is left whole."""
    backend = LocalBackend(tmp_path / "objects")
    _write(backend, "k/blob", b"committed")
    with pytest.raises(BackendUnavailable, match="FileExistsError"):
        backend.open_write("k/blob")
    assert _read(backend, "k/blob") == b"committed"


def test_an_aborted_local_write_removes_its_partial_blob(tmp_path: Path) -> None:
    """The local backend writes under the blob's own name (ADR 0271): until ``commit`` the
    file holds part of the blob, and ``abort`` removes it and closes the writer."""
    backend = LocalBackend(tmp_path / "objects")
    writer = backend.open_write("f/blob")
    writer.write(memoryview(b"part of it"))
    assert (tmp_path / "objects" / "f" / "blob").exists()
    writer.abort()
    assert not (tmp_path / "objects" / "f" / "blob").exists()
    with pytest.raises(BackendUnavailable, match="no longer open"):
        writer.write(memoryview(b"more"))
    with pytest.raises(BackendUnavailable, match="no longer open"):
        writer.commit()


def test_delete_removes_and_a_missing_blob_is_not_an_error(backend: ObjectBackend) -> None:
    _write(backend, "d/x", b"abc")
    backend.delete("d/x")
    backend.delete("d/x")
    with pytest.raises(FileNotFoundError):
        backend.open_read("d/x").readinto(memoryview(bytearray(10)))


def test_local_writes_leave_no_temporary_file_behind(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "objects")
    _write(backend, "a/b/c", b"data")
    files = sorted(p.name for p in (tmp_path / "objects").rglob("*") if p.is_file())
    assert files == ["c"]
    assert oct((tmp_path / "objects" / "a").stat().st_mode & 0o777) == "0o700"


def test_a_local_directory_removed_behind_the_backends_back_is_made_again(
    tmp_path: Path,
) -> None:
    # The backend remembers the directories it made (no stat per PUT); a directory removed
    # from outside must not make later writes into it fail.
    backend = LocalBackend(tmp_path / "objects")
    _write(backend, "a/b/c", b"first")
    shutil.rmtree(tmp_path / "objects" / "a")
    _write(backend, "a/b/d", b"second")
    assert (tmp_path / "objects" / "a" / "b" / "d").is_file()
    assert oct((tmp_path / "objects" / "a" / "b").stat().st_mode & 0o777) == "0o700"


def test_reads_past_the_end_stop_there_and_a_missing_blob_is_file_not_found(
    backend: ObjectBackend,
) -> None:
    data = os.urandom(40_000)
    _write(backend, "t/a/blob", data)
    assert backend.read_range("t/a/blob", 39_990, 100) == data[39_990:]
    reader = backend.open_read("t/a/blob")
    buffer = bytearray(65_536)
    total = 0
    while count := reader.readinto(memoryview(buffer)[total:]):
        total += count
    assert bytes(buffer[:total]) == data
    assert reader.readinto(memoryview(buffer)) == 0  # and stays at its end
    with pytest.raises(FileNotFoundError):
        backend.open_read("t/a/missing")
    with pytest.raises(FileNotFoundError):
        backend.read_range("t/a/missing", 0, 10)


def test_a_local_read_holds_its_file_only_until_the_end(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "objects")
    _write(backend, "t/a/blob", b"x" * 100_000)
    descriptors = len(os.listdir("/proc/self/fd"))
    reader = backend.open_read("t/a/blob")
    assert len(os.listdir("/proc/self/fd")) == descriptors + 1
    buffer = memoryview(bytearray(1 << 20))
    while reader.readinto(buffer):
        pass
    assert len(os.listdir("/proc/self/fd")) == descriptors
    backend.open_read("t/a/blob")  # dropped unread: closed with the reader
    assert len(os.listdir("/proc/self/fd")) == descriptors
