"""Byte plumbing around the object format: hashing while reading, and a pipe between threads."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable

from lakevault.kms import Readable, Writable
from lakevault.storage._errors import IncompleteBody


class HashingReader:
    """Reads from ``source`` and hashes what passes (SHA-256: the one hash a PUT pays for).

    ``expected_length``, when the client declared one, is enforced: a body that ends early is
    ``IncompleteBody`` (an upload cut off mid-stream), and one that runs long is refused too.
    """

    def __init__(self, source: Readable, *, expected_length: int | None = None) -> None:
        self._source = source
        self._hash = hashlib.sha256()
        #: The length the client declared, if any (a small one lets the PUT store inline).
        self.expected_length = expected_length
        self.length = 0

    def readinto(self, buffer: memoryview, /) -> int:
        count = self._source.readinto(buffer)
        if count is None:
            count = 0
        if count:
            self._hash.update(buffer[:count])
            self.length += count
            if self.expected_length is not None and self.length > self.expected_length:
                raise IncompleteBody(
                    f"the body is longer than its declared length of {self.expected_length} bytes"
                )
        return count

    def finish(self) -> str:
        """The SHA-256 (hex) of everything read; checks the declared length."""
        if self.expected_length is not None and self.length != self.expected_length:
            raise IncompleteBody(
                f"the body ended after {self.length} of its declared {self.expected_length} bytes; "
                "nothing was stored; send the whole body again"
            )
        return self._hash.hexdigest()


class _FileReader:
    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor

    def readinto(self, buffer: memoryview, /) -> int:
        return os.readv(self._descriptor, [buffer])


class _FileWriter:
    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor

    def write(self, data: memoryview, /) -> int:
        return os.write(self._descriptor, data)


class Pipe:
    """Runs ``produce(writer)`` in a thread; :attr:`reader` reads what it writes.

    Memory is the kernel pipe buffer. :meth:`finish` joins the thread and re-raises its error:
    call it before trusting that the reader saw the producer's whole output (a producer that
    fails closes the pipe early, which the reader cannot tell from a normal end).
    """

    def __init__(self, produce: Callable[[Writable], object]) -> None:
        read_end, write_end = os.pipe()
        self.reader = _FileReader(read_end)
        self._read_end = read_end
        self._error: BaseException | None = None

        def run() -> None:
            try:
                produce(_FileWriter(write_end))
            except BaseException as exc:  # noqa: BLE001 - re-raised by finish()
                self._error = exc
            finally:
                os.close(write_end)

        self._thread = threading.Thread(target=run, name="lakevault-storage-pipe", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Close the read end (a producer still writing then fails with a broken pipe)."""
        with contextlib.suppress(OSError):
            os.close(self._read_end)
        self._thread.join()
