"""Kernel randomness fetched a page at a time and handed out once, piece by piece.

A 4 KiB PUT asks for random bytes nine times (a version id, a data key, its wrapping nonce, the
chunked format's salt, four request ids, a temporary file name). Each ``os.urandom`` call is a
``getrandom`` system call that CPython makes with the GIL released; with a dozen threads waiting
for the GIL, every release is a hand-off to another thread and back — two context switches
that cost more than the call itself (ADR 0265: 11 % of a PUT's GIL re-acquisitions, measured
with a uprobe on ``PyEval_RestoreThread``). :class:`EntropyPool` takes 4 KiB from the kernel
at once and cuts requests from it, as OpenSSL's and the Go runtime's generators serve many
requests from one draw.

What it keeps true:

* **Every byte is the kernel's and is handed out once.** Requests are cut from the page under a
  lock; a request never overlaps another. A handed-out piece is overwritten with zeros in the
  pool at once, so the pool never holds a copy of a key or nonce it gave away — only bytes not
  yet handed out.
* **A forked child never repeats its parent.** The pool registers an ``after_in_child`` fork
  hook that throws the inherited page away; the child's first request draws a new one. (A
  process started with ``exec`` has a fresh interpreter and a fresh pool anyway.)
* **Large requests bypass it.** More than 256 bytes at once goes to ``os.urandom`` directly, so
  a bulk draw does not drain the page for the small ones.
"""

from __future__ import annotations

import os
import threading

#: Bytes drawn from the kernel per refill.
PAGE = 4096
#: Requests larger than this go straight to ``os.urandom``.
LARGEST_POOLED = 256


class EntropyPool:
    """Random bytes from ``os.urandom``, drawn :data:`PAGE` at a time (see module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._page = bytearray()
        self._offset = 0
        os.register_at_fork(after_in_child=self._discard)

    def take(self, length: int) -> bytes:
        """``length`` bytes no one else has been given."""
        if length < 0:
            raise ValueError(f"length must not be negative, got {length}")
        if length > LARGEST_POOLED:
            return os.urandom(length)
        with self._lock:
            start = self._offset
            end = start + length
            if end > len(self._page):
                self._page = bytearray(os.urandom(PAGE))
                start, end = 0, length
            piece = bytes(self._page[start:end])
            self._page[start:end] = bytes(length)  # no copy of what was handed out stays here
            self._offset = end
        return piece

    def _discard(self) -> None:
        # In a forked child: the parent may still hand out the rest of this page.
        self._lock = threading.Lock()
        self._page = bytearray()
        self._offset = 0


#: The process's pool (the fork hook keeps it per process).
POOL = EntropyPool()
