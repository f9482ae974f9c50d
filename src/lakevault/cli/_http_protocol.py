"""uvicorn's httptools protocol, with a response's head and first body piece in one ``send``.

uvicorn writes the status line and headers at ``http.response.start`` and the body at
``http.response.body``: two ``transport.write`` calls, so two ``send`` system calls and two TCP
segments for every small response. uvloop makes each one at once, on the event loop's thread and
holding the GIL, and on loopback each one wakes the client. Over a virtualised CPU that wake-up
is dear: at 8 clients the heads' ``send`` alone was ~17 % of a small PUT's GIL samples
(docs/decisions/0264, docs/performance.md "Session 8, one send per response").

:class:`CoalescingTransport` holds a write for the rest of the event loop's current turn. The
write that follows in the same turn, which is the body of a response that is sent at once
(every JSON answer and every small object: Starlette sends the head and the body with no
``await`` that yields between them), goes out with it in one ``writelines``. A held write that
nothing follows is written at the end of the turn (``loop.call_soon``), so a streamed body's
head is not delayed behind the body's first piece; ``close``/``write_eof`` write it first.
Only the asyncio ``Transport`` interface is used, and only uvicorn's public ``http=``
protocol-class setting, so no uvicorn code is patched.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport(asyncio.Transport):
    """A transport that merges a write with the next one made in the same loop turn."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: bytes | bytearray | memoryview | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            if not data:
                return
            self._held = data
            self._loop.call_soon(self._flush)
            return
        self._held = None
        self._transport.writelines((held, data))

    def writelines(self, list_of_data: Any) -> None:
        self._flush()
        self._transport.writelines(list_of_data)

    def _flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            # A connection lost since (the peer went away) takes no more writes; uvloop would
            # raise here, inside a loop callback, only to log it.
            if not self._transport.is_closing():
                self._transport.write(held)

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_write_buffer_size(self) -> int:
        held = 0 if self._held is None else len(self._held)
        return self._transport.get_write_buffer_size() + held

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._flush()
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        real = cast(asyncio.Transport, transport)
        super().connection_made(CoalescingTransport(real, asyncio.get_running_loop()))
