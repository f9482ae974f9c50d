"""Where encrypted object bytes live: a local directory or any S3-compatible store, via obstore.

A backend stores opaque, immutable blobs under paths the storage layer chooses (one per object
version, never reused), so it never overwrites: a new version is a new blob, and the metadata
database says which blob is current. That makes every write atomic by construction as long as a
blob is named by a committed version only once it is complete and durable:

* :class:`LocalBackend` creates the blob's file under its own, never reused name (``O_EXCL``),
  writes it, ``fsync``s it and ``fsync``s its directory (obstore's own local put never syncs,
  so a power cut could leave an empty file behind a committed version: docs/decisions/0150).
  It does not write a temporary file and rename it (docs/decisions/0271): no reader can reach
  a blob before the version row that names it commits, which happens only after ``commit``
  returned, so the rename bought nothing and cost a journal commit per PUT. A blob cut short
  by a crash is an orphan under its final name, which the blob journal lists for the sweep
  exactly as it listed the temporary file before. Reads and ranges are plain ``read`` and
  ``pread`` calls into the caller's buffer (docs/decisions/0274): obstore's stream of a local
  file handed each piece across its runtime's threads and held a download to about half the
  speed of a plain file server. Sizes, deletes and listings go through obstore's
  ``LocalStore``.
* :class:`S3Backend` streams through obstore's buffered writer (a multipart upload for large
  blobs); the store shows the object only when the upload completes, and an aborted writer
  leaves nothing visible.

Backend failures are translated here, once: a full disk is :class:`StorageFull`, an unreachable
store :class:`BackendUnavailable`.
"""

from __future__ import annotations

import contextlib
import errno
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import obstore
from obstore.exceptions import BaseError as ObstoreError
from obstore.store import LocalStore, S3Store

from lakevault.core import Settings, sync_directory
from lakevault.core.errors import ConfigurationError
from lakevault.storage._errors import BackendUnavailable, StorageFull

#: Size of the pieces a download is read in from the store (a multiple of the 16 KiB chunk).
READ_PIECE_BYTES = 1024 * 1024


class BlobWriter(Protocol):
    """A blob being written under a path no other blob ever had.

    The blob is complete and durable only once :meth:`commit` returns, and the storage layer
    names it in a version only then. Before that S3 shows nothing at the path; the local
    backend holds the part written so far (ADR 0271), which nothing reads.
    """

    def write(self, data: memoryview, /) -> int | None: ...

    def commit(self) -> None:
        """Make the blob complete and durable at its path."""

    def abort(self) -> None:
        """Discard everything written; leaves nothing at the path. Safe to call twice."""


class BlobReader(Protocol):
    """A blob opened for sequential reading (``readinto`` as :class:`kms.Readable`)."""

    def readinto(self, buffer: memoryview, /) -> int: ...


class ObjectBackend(Protocol):
    """The operations the encrypted object layer needs from a store of blobs."""

    @property
    def description(self) -> str:
        """Where the blobs are, for messages (never with credentials)."""

    def open_write(self, path: str) -> BlobWriter: ...

    def open_read(self, path: str) -> BlobReader: ...

    def read_range(self, path: str, offset: int, length: int) -> bytes: ...

    def size(self, path: str) -> int: ...

    def delete(self, path: str) -> None:
        """Remove the blob at ``path``; a missing blob is not an error."""

    def list_paths(self, prefix: str) -> Iterator[str]: ...


def _translate(exc: Exception, backend: str, path: str) -> Exception:
    """One translation of store failures into the platform's errors."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(
            f"the object store {backend} has no space left while writing {path!r}; nothing was "
            "stored and existing objects are intact; free space or grow the volume, then retry"
        )
    return BackendUnavailable(
        f"the object store {backend} failed on {path!r} ({type(exc).__name__}); check that it "
        "is reachable and writable, then retry"
    )


class _StreamReader:
    """``readinto`` over obstore's stream of byte pieces."""

    def __init__(self, pieces: Iterator[Any], backend: str, path: str) -> None:
        self._pieces = pieces
        self._current = memoryview(b"")
        self._backend = backend
        self._path = path

    def readinto(self, buffer: memoryview, /) -> int:
        while not len(self._current):
            try:
                piece = next(self._pieces)
            except StopIteration:
                return 0
            except (ObstoreError, OSError) as exc:
                raise _translate(exc, self._backend, self._path) from exc
            self._current = memoryview(piece).cast("B")
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count


class _ObstoreReads(ABC):
    """Reads, sizes, deletes and listings through an obstore store."""

    description: str

    @abstractmethod
    def _obstore(self) -> Any:
        """The obstore store the subclass reads from."""

    def open_read(self, path: str) -> BlobReader:
        try:
            result = obstore.get(self._obstore(), path)
        except FileNotFoundError:
            raise
        except (ObstoreError, OSError) as exc:
            raise _translate(exc, self.description, path) from exc
        return _StreamReader(
            iter(result.stream(min_chunk_size=READ_PIECE_BYTES)), self.description, path
        )

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        try:
            return bytes(obstore.get_range(self._obstore(), path, start=offset, length=length))
        except FileNotFoundError:
            raise
        except (ObstoreError, OSError) as exc:
            raise _translate(exc, self.description, path) from exc

    def size(self, path: str) -> int:
        try:
            return int(obstore.head(self._obstore(), path)["size"])
        except FileNotFoundError:
            raise
        except (ObstoreError, OSError) as exc:
            raise _translate(exc, self.description, path) from exc

    def list_paths(self, prefix: str) -> Iterator[str]:
        try:
            for batch in obstore.list(self._obstore(), prefix=prefix or None):
                for meta in batch:
                    yield str(meta["path"])
        except (ObstoreError, OSError) as exc:
            raise _translate(exc, self.description, prefix) from exc


class _LocalBlobWriter:
    """Create under the final name (``O_EXCL``) → write → fsync → fsync directory.

    The name is the blob's own (a random version id), so the file is new, and nothing reads it
    before the storage layer commits a version naming it, after :meth:`commit` (ADR 0271).
    :meth:`abort` and a failed :meth:`commit` remove it. Paths are plain strings: building and
    converting ``pathlib`` paths (``joinpath``, ``with_name``, ``__fspath__`` per system call)
    was ~6 % of a 4 KiB PUT's storage CPU (docs/performance.md, session 6).
    """

    def __init__(self, final: str, backend: str, path: str) -> None:
        self._final = final
        self._backend = backend
        self._path = path
        self._directory = final.rpartition("/")[0]
        self._descriptor: int | None = None
        #: Whether the file is ours to remove: made here and not committed.
        self._created = False
        try:
            self._descriptor = os.open(
                final, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
            )
        except OSError as exc:
            raise _translate(exc, backend, path) from exc
        self._created = True

    def write(self, data: memoryview, /) -> int:
        if self._descriptor is None:
            raise BackendUnavailable(f"the blob {self._path!r} is no longer open for writing")
        try:
            return os.write(self._descriptor, data)
        except OSError as exc:
            self.abort()
            raise _translate(exc, self._backend, self._path) from exc

    def commit(self) -> None:
        if self._descriptor is None:
            raise BackendUnavailable(f"the blob {self._path!r} is no longer open for writing")
        try:
            os.fsync(self._descriptor)
            os.close(self._descriptor)
            self._descriptor = None
            directory = os.open(self._directory, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as exc:
            self.abort()
            raise _translate(exc, self._backend, self._path) from exc
        self._created = False

    def abort(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
        if self._created:
            self._created = False
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._final)


def _open_blob(final: str, backend: str, path: str) -> int:
    """A descriptor of the blob's file for reading. ``FileNotFoundError`` passes through (the
    caller names the missing version); any other failure is the backend's."""
    try:
        return os.open(final, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _translate(exc, backend, path) from exc


class _LocalBlobReader:
    """``readinto`` straight from the blob's file into the caller's buffer (one ``read`` per
    call, no copy in between); the file is closed at its end, on an error, or when dropped."""

    def __init__(self, final: str, backend: str, path: str) -> None:
        self._backend = backend
        self._path = path
        self._descriptor: int | None = None  # set first: ``__del__`` runs if the open fails
        self._descriptor = _open_blob(final, backend, path)

    def readinto(self, buffer: memoryview, /) -> int:
        if self._descriptor is None:
            return 0
        try:
            count = os.readv(self._descriptor, [buffer])
        except OSError as exc:
            self.close()
            raise _translate(exc, self._backend, self._path) from exc
        if count == 0:
            self.close()
        return count

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def __del__(self) -> None:
        self.close()


#: Remembered directories at most (one per bucket and key prefix level); then start afresh.
_KNOWN_DIRECTORIES = 4096


class LocalBackend(_ObstoreReads):
    """Blobs as files under ``root`` (the data directory's ``objects/``)."""

    def __init__(self, root: Path) -> None:
        """Touches nothing: the directory is made by the first write."""
        self.root = root
        self._store: LocalStore | None = None
        self.description = f"file://{root}"
        #: Directories this process made or saw, durable (synced into their parents): a PUT
        #: skips the ``stat`` of its bucket's directory (0.1-0.7 ms each on a loaded overlay
        #: file system). A directory removed behind our back fails the temporary file's
        #: ``open``, which forgets the entry and takes the slow path again.
        self._known_directories: set[str] = set()
        self._root = os.fspath(root)

    def _obstore(self) -> LocalStore:
        if self._store is None:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._store = LocalStore(self.root)
        return self._store

    def open_read(self, path: str) -> BlobReader:
        return _LocalBlobReader(f"{self._root}/{path}", self.description, path)

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        descriptor = _open_blob(f"{self._root}/{path}", self.description, path)
        try:
            pieces = []
            while length > 0:
                piece = os.pread(descriptor, length, offset)
                if not piece:
                    break
                pieces.append(piece)
                offset += len(piece)
                length -= len(piece)
            return b"".join(pieces) if len(pieces) != 1 else pieces[0]
        except OSError as exc:
            raise _translate(exc, self.description, path) from exc
        finally:
            os.close(descriptor)

    def _directory_for(self, path: str) -> str:
        """The blob's file name, its directory made (durably) unless remembered."""
        if self._store is None:
            self._obstore()
        directory, _, name = f"{self._root}/{path}".rpartition("/")
        if directory in self._known_directories:
            return f"{directory}/{name}"
        level_path = Path(directory)
        if not level_path.is_dir():
            # Create each missing level and sync its parent, so that a durable blob is never
            # behind a directory entry that a power cut could lose.
            missing = []
            probe = level_path
            while not probe.is_dir():
                missing.append(probe)
                probe = probe.parent
            for level in reversed(missing):
                level.mkdir(mode=0o700, exist_ok=True)
                sync_directory(level.parent)
        if len(self._known_directories) >= _KNOWN_DIRECTORIES:
            self._known_directories.clear()
        self._known_directories.add(directory)
        return f"{directory}/{name}"

    def open_write(self, path: str) -> BlobWriter:
        try:
            final = self._directory_for(path)
            directory = final.rpartition("/")[0]
            try:
                return _LocalBlobWriter(final, self.description, path)
            except BackendUnavailable:
                if directory not in self._known_directories or os.path.isdir(directory):
                    raise
            # The remembered directory is gone: make it again.
            self._known_directories.discard(directory)
            final = self._directory_for(path)
        except OSError as exc:
            raise _translate(exc, self.description, path) from exc
        return _LocalBlobWriter(final, self.description, path)

    def delete(self, path: str) -> None:
        """Remove the blob, or the temporary file that a writer of before ADR 0271, killed
        while writing, left for it."""
        target = self.root.joinpath(*path.split("/"))
        try:
            try:
                target.unlink()
                return  # Written under its own name: no temporary file is left.
            except FileNotFoundError:
                pass
            # Not there: a writer of before ADR 0271 may have been killed while writing its
            # temporary file. Listing the directory is the costly part, so a blob that exists
            # skips it.
            if target.parent.is_dir():
                for leftover in target.parent.glob(f".tmp-{target.name}-*"):
                    leftover.unlink(missing_ok=True)
        except OSError as exc:
            raise _translate(exc, self.description, path) from exc


class _S3BlobWriter:
    """obstore's buffered writer: a multipart upload completed by :meth:`commit`."""

    def __init__(self, store: Any, backend: str, path: str) -> None:
        self._backend = backend
        self._path = path
        self._file: Any = obstore.open_writer(store, path, buffer_size=8 * 1024 * 1024)
        self._entered = self._file.__enter__()

    def write(self, data: memoryview, /) -> int:
        if self._file is None:
            raise BackendUnavailable(f"the blob {self._path!r} is no longer open for writing")
        try:
            # A copy: obstore may keep the buffer past this call, and the caller reuses it.
            self._entered.write(bytes(data))
        except (ObstoreError, OSError) as exc:
            self.abort()
            raise _translate(exc, self._backend, self._path) from exc
        return len(data)

    def commit(self) -> None:
        if self._file is None:
            raise BackendUnavailable(f"the blob {self._path!r} is no longer open for writing")
        file, self._file = self._file, None
        try:
            file.__exit__(None, None, None)
        except (ObstoreError, OSError) as exc:
            raise _translate(exc, self._backend, self._path) from exc

    def abort(self) -> None:
        if self._file is None:
            return
        file, self._file = self._file, None
        error = RuntimeError("upload aborted")
        # Leaving the writer with an exception aborts the multipart upload: nothing appears.
        file.__exit__(RuntimeError, error, None)


class S3Backend(_ObstoreReads):
    """Blobs in one bucket of an S3-compatible store (SeaweedFS, MinIO, Ceph RGW, AWS S3)."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str,
        region: str,
        access_key_id: str,
        secret_access_key: str,
        prefix: str = "",
    ) -> None:
        self._store = S3Store(
            bucket,
            prefix=prefix or None,
            endpoint=endpoint,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            virtual_hosted_style_request=False,
            client_options={"allow_http": endpoint.startswith("http://")},
        )
        self.description = f"s3://{bucket}/{prefix} at {endpoint}"

    def _obstore(self) -> S3Store:
        return self._store

    def open_write(self, path: str) -> BlobWriter:
        try:
            return _S3BlobWriter(self._store, self.description, path)
        except (ObstoreError, OSError) as exc:
            raise _translate(exc, self.description, path) from exc

    def delete(self, path: str) -> None:
        try:
            obstore.delete(self._store, path)
        except FileNotFoundError:
            return
        except (ObstoreError, OSError) as exc:
            raise _translate(exc, self.description, path) from exc


def open_backend(settings: Settings) -> ObjectBackend:
    """The backend ``settings`` name: ``file://DIR`` (default: ``objects/`` in the data
    directory) or ``s3://BUCKET/PREFIX`` with ``object_store_endpoint`` and credentials.

    Raises ``ConfigurationError`` for an s3:// URL without credentials. Opens no connection.
    """
    url = urlsplit(settings.effective_object_store_url)
    if url.scheme == "file":
        return LocalBackend(Path(unquote(url.path)))
    secret = settings.object_store_secret_access_key
    if not url.netloc or settings.object_store_access_key_id is None or secret is None:
        raise ConfigurationError(
            "object_store_url is an s3:// URL: give the bucket (s3://BUCKET/PREFIX) and set "
            "object_store_access_key_id and object_store_secret_access_key (and "
            "object_store_endpoint for a store other than AWS S3)"
        )
    region = settings.object_store_region
    return S3Backend(
        bucket=url.netloc,
        endpoint=settings.object_store_endpoint or f"https://s3.{region}.amazonaws.com",
        region=region,
        access_key_id=settings.object_store_access_key_id,
        secret_access_key=secret.get_secret_value(),
        prefix=url.path.strip("/"),
    )
