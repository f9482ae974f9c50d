"""Small object versions stored beside their rows in the metadata database (ADR 0272).

A 4 KiB PUT that writes a blob file pays for a new inode, a file ``fsync`` and a directory
``fsync`` (on S3, a network PUT), on top of the metadata transaction it needs anyway; a
``perf`` profile put a quarter of the server's CPU in creating the file alone. A version whose
declared length is at most :data:`INLINE_MAX_BYTES` is therefore encrypted into memory and its
ciphertext (the same chunked format a blob holds, header included) is inserted in the very
transaction that commits the version: one durable write instead of three, and no journal row,
since bytes that commit with their version can never be orphans. The row goes with its
version (``ON DELETE CASCADE``), in the transaction that deletes it.

Nothing else changes for these versions: reads authenticate every chunk exactly as for a blob,
ranges decrypt only the chunks they need. Their ``blob_path`` is ``inline:ACCOUNT/BUCKET/
VERSION-ID`` so that every path that would touch the object store can tell.
"""

from __future__ import annotations

from typing import TypeGuard

from sqlalchemy import Table, bindparam, select

from lakevault.db import Database, DriverStatement, models
from lakevault.storage._errors import BackendUnavailable

#: The largest declared plaintext length stored inline (MinIO inlines below 128 KiB).
INLINE_MAX_BYTES = 64 * 1024
_PREFIX = "inline:"
_INLINE: Table = models.InlineObjectData.__table__  # type: ignore[assignment]
_SELECT_DATA = select(_INLINE.c.data).where(_INLINE.c.version_id == bindparam("version_id"))
#: The insert runs in the PUT's version commit, on the driver's cursor (ADR 0222).
INSERT_INLINE = DriverStatement(
    _INLINE.insert(), columns={column.name: column for column in _INLINE.columns}
)


def inline_path(account_id: str, bucket: str, version_id: str) -> str:
    """The ``blob_path`` of a version stored inline."""
    return f"{_PREFIX}{account_id}/{bucket}/{version_id}"


def is_inline_blob(blob_path: str) -> bool:
    """Whether a version's ``blob_path`` says its bytes are in the metadata database."""
    return blob_path.startswith(_PREFIX)


def has_stored_blob(blob_path: str | None) -> TypeGuard[str]:
    """Whether a version's bytes are in the object store (a blob or a multipart prefix), so
    that removing the version must also remove them from there."""
    return blob_path is not None and not is_inline_blob(blob_path)


class InlineWriter:
    """A ``BlobWriter`` into memory, for a body known to be small: the version commit then
    inserts :attr:`data`."""

    def __init__(self) -> None:
        self._data = bytearray()

    def write(self, data: memoryview, /) -> int:
        self._data += data
        return len(data)

    def commit(self) -> None:
        """Nothing to make durable yet: the version commit does that."""

    def abort(self) -> None:
        self._data = bytearray()

    @property
    def data(self) -> bytes:
        return bytes(self._data)


class InlineBlob:
    """A version's inline ciphertext, read as a stream (``readinto``) or by range
    (``read_range``), as ``kms.decrypt_stream`` and ``kms.decrypt_range`` read a blob."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._position = 0

    def readinto(self, buffer: memoryview, /) -> int:
        piece = self._data[self._position : self._position + len(buffer)]
        buffer[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)

    def read_range(self, offset: int, length: int, /) -> bytes:
        return bytes(self._data[offset : offset + length])


def load_inline(database: Database, version_id: str, blob_path: str) -> InlineBlob:
    """The stored bytes of an inline version; :class:`BackendUnavailable` if they are gone."""
    with database.read_session() as session:
        data = session.execute(_SELECT_DATA, {"version_id": version_id}).scalar()
    if data is None:
        raise BackendUnavailable(
            f"the stored bytes of an object version ({blob_path}) are missing from the "
            "metadata database; restore the database from its backup"
        )
    return InlineBlob(bytes(data))
