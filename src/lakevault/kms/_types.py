"""The I/O shapes the object format reads from and writes to.

They are structural (:class:`typing.Protocol`) so that files opened in binary mode, sockets'
file objects, ``io.BytesIO`` and an object store's streaming body all fit without adapters.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias

#: What the AEAD and the parsers accept as input bytes.
BytesLike: TypeAlias = bytes | bytearray | memoryview


class Readable(Protocol):
    """A blocking binary stream read into caller-owned buffers (``io.BufferedReader`` fits).

    ``readinto`` returns how many bytes it stored, ``0`` at the end of the stream. A short count
    is not taken as the end. ``None`` (a non-blocking stream with no data) is refused, since
    taking it for the end would silently truncate an object.
    """

    def readinto(self, buffer: memoryview, /) -> int | None: ...


class Writable(Protocol):
    """A blocking binary sink. A returned count shorter than the data is retried with the rest."""

    def write(self, data: memoryview, /) -> int | None: ...


class RangeReadable(Protocol):
    """Random access to stored bytes, like ``os.pread`` or an HTTP ``Range`` GET.

    ``read_range(offset, length)`` returns up to ``length`` bytes from ``offset``; fewer only at
    the end of the stored object.
    """

    def read_range(self, offset: int, length: int, /) -> bytes: ...
