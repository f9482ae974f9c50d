"""A bucket's maximum request duration, enforced on object bodies while they stream.

A bucket may cap how long one object upload or download takes (``maxRequestSeconds`` in its
streaming limits, docs/decisions/0185). The clock starts when the gate has admitted the
transfer; the body reader (upload) or the plaintext writer (download) checks it at every
piece. An upload past the limit fails with ``RequestTimeout`` before anything is committed, so
the partial blob is aborted and forgotten like any cut-off upload; a download past it stops
mid-stream (the face aborts the response, as it does for a later integrity failure).

The time is a monotonic clock (``time.monotonic`` unless injected): elapsed time, which a wall
clock change cannot stretch or shrink.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lakevault.kms import Readable, Writable
from lakevault.storage._errors import RequestTimeout

#: The longest maximum a bucket may set: 7 days (a 5 TiB object at ~10 MB/s).
MAX_REQUEST_SECONDS = 7 * 24 * 3600
Monotonic = Callable[[], float]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestDeadline:
    """The moment (on ``monotonic``) a transfer into or out of ``bucket`` must be done by."""

    bucket: str
    seconds: int
    expires_at: float
    monotonic: Monotonic = time.monotonic

    @classmethod
    def start(
        cls, bucket: str, seconds: int, monotonic: Monotonic = time.monotonic
    ) -> RequestDeadline:
        return cls(
            bucket=bucket, seconds=seconds, expires_at=monotonic() + seconds, monotonic=monotonic
        )

    def check(self, what: str, consequence: str) -> None:
        """Raise ``RequestTimeout`` once the deadline has passed."""
        if self.monotonic() > self.expires_at:
            raise RequestTimeout(
                f"the {what} took longer than the bucket {self.bucket!r}'s maximum request "
                f"duration ({self.seconds} seconds); {consequence}. Send it faster, in smaller "
                "parts (multipart upload, range reads), or raise the bucket's maxRequestSeconds"
            )


class DeadlineReader:
    """Reads from ``source`` until ``deadline`` has passed, then raises ``RequestTimeout``.

    It checks before each read and after it, so a client that trickles its body is cut at the
    first piece after the deadline.
    """

    def __init__(self, source: Readable, deadline: RequestDeadline) -> None:
        self._source = source
        self._deadline = deadline

    def readinto(self, buffer: memoryview, /) -> int | None:
        self._check()
        count = self._source.readinto(buffer)
        self._check()
        return count

    def _check(self) -> None:
        self._deadline.check("upload", "nothing was stored")


class DeadlineWriter:
    """Writes to ``sink`` until ``deadline`` has passed, then raises ``RequestTimeout``."""

    def __init__(self, sink: Writable, deadline: RequestDeadline) -> None:
        self._sink = sink
        self._deadline = deadline

    def write(self, data: memoryview, /) -> int:
        self._check()
        view = data
        while view:
            count = self._sink.write(view)
            view = view[len(view) if count is None else count :]
        self._check()
        return len(data)

    def _check(self) -> None:
        self._deadline.check("download", "the transfer was cut")
