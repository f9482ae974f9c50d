"""Bodies of any size in constant memory: the bridge between ASGI streams and the object format.

Storage encrypts and decrypts synchronously, in a worker thread, over blocking ``readinto`` and
``write``; the ASGI server delivers and sends bodies as async streams. Uploads: the worker thread
pulls the request's next piece through ``anyio.from_thread.run`` (one piece in memory at a time).
Downloads: a producer thread decrypts into a bounded queue that the response drains (at most
:data:`DOWNLOAD_QUEUE_PIECES` spans of about 1 MiB in flight); a client that goes away stops
the producer at its next write. Nothing of an object is sent before its first block verifies.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
import pydantic
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lakevault.api._errors import describe_validation_errors
from lakevault.core.errors import InvalidInput, ValidationError
from lakevault.storage import EntityTooLarge, IncompleteBody, RequestTimeout

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)

#: Decrypted blocks buffered between the producer thread and the response.
DOWNLOAD_QUEUE_PIECES = 4
#: A download's writes are gathered into pieces of this size before they are queued: the
#: object format writes 32 KiB of plaintext at a time (docs/decisions/0136), and every queued
#: piece costs a thread hop and an ASGI send (1.1-1.7 CPU s/GiB in 128 KiB pieces, 0.4 in 1 MiB).
DOWNLOAD_PIECE_BYTES = 1024 * 1024
#: The largest JSON body a non-streaming endpoint accepts (the issue's 6 MB).
MAX_JSON_BODY_BYTES = 6 * 1024 * 1024
#: The largest body of a request signed with SigV4 in its ``Authorization`` header: the
#: signature covers the body, so the body is in memory before anyone is authenticated.
MAX_SIGNED_BODY_BYTES = 64 * 1024 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Bodies up to this size are read whole before the worker thread starts (RequestBodyReader).
PREFETCH_BODY_BYTES = 256 * 1024
#: The longest an upload's body may send nothing (``RequestTimeout`` after it, nothing stored):
#: a client that stops mid-body must not hold a worker thread, a blob and a connection for
#: ever (nginx's ``client_body_timeout`` is 60 s too; docs/decisions/0235). A bucket's maximum
#: request duration, checked at every piece, cuts a body that trickles.
BODY_IDLE_SECONDS = 60.0


class MissingContentLength(InvalidInput):
    """A request whose body must be read before authentication does not say how long it is."""

    code = "MissingContentLength"
    http_status = 411


#: Where a route raises the body limit for its request (``None``: the route streams the body
#: and enforces its own limits, e.g. a bucket's maximum object size).
BODY_LIMIT_SCOPE_KEY = "lakevault.body_limit"


class BodyLimitMiddleware:
    """Holds every request body to :data:`MAX_JSON_BODY_BYTES` unless its route streams it.

    FastAPI reads a JSON body whole before the route's dependencies run — before anyone is
    authenticated — so without this an anonymous request could make the server hold a body of
    any size. The limit is checked against ``Content-Length`` at the first read (refused before
    a byte is read) and against the bytes as they arrive. Streaming routes lift it for their
    request (:class:`RequestBodyReader`); a SigV4-signed request raises it to
    :data:`MAX_SIGNED_BODY_BYTES` (:func:`read_signed_body`).
    """

    def __init__(self, app: ASGIApp, *, limit: int = MAX_JSON_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        scope.setdefault(BODY_LIMIT_SCOPE_KEY, self.limit)

        async def limited_receive() -> Message:
            nonlocal received
            limit = scope.get(BODY_LIMIT_SCOPE_KEY)
            if limit is not None and received == 0:
                declared = _declared_length(scope)
                if declared is not None and declared > limit:
                    raise HTTPException(
                        413, f"the request body is {declared} bytes; at most {limit} are accepted"
                    )
            message = await receive()
            if message["type"] == "http.request" and limit is not None:
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(
                        413, f"the request body is over {limit} bytes, the most accepted here"
                    )
            return message

        await self.app(scope, limited_receive, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def read_signed_body(request: Request) -> bytes:
    """The body of a SigV4-signed request, which must be read whole to check the signature.

    Nobody is authenticated yet, so nothing unbounded may be read: the request must declare its
    length (``Content-Length``, no ``Transfer-Encoding``) and the length must be at most
    :data:`MAX_SIGNED_BODY_BYTES`; otherwise it is refused before a byte of the body is read.
    The server's HTTP parser holds the body to the declared length. Larger objects are uploaded
    with a token, an API key, a pre-signed URL or as multipart parts (docs/storage.md).
    """
    declared = request.headers.get("content-length")
    if "transfer-encoding" in request.headers or (
        declared is None and request.method in _BODY_METHODS
    ):
        raise MissingContentLength(
            "a request signed with SigV4 must send Content-Length (not a chunked body), so the "
            "body can be checked against the signature before it is read"
        )
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_SIGNED_BODY_BYTES):
        raise EntityTooLarge(
            f"a request signed with SigV4 may carry at most {MAX_SIGNED_BODY_BYTES} bytes "
            f"(Content-Length: {declared}); upload larger objects with a token, an API key, a "
            "pre-signed URL or in multipart parts"
        )
    request.scope[BODY_LIMIT_SCOPE_KEY] = MAX_SIGNED_BODY_BYTES
    return await request.body()


async def read_limited_body(request: Request, limit: int = MAX_JSON_BODY_BYTES) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes (``EntityTooLarge``) before
    reading it when Content-Length says so, and while reading when it does not."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise EntityTooLarge(
            f"the request body is {int(declared)} bytes; this endpoint accepts at most {limit}"
        )
    pieces: list[bytes] = []
    total = 0
    async for piece in request.stream():
        total += len(piece)
        if total > limit:
            raise EntityTooLarge(
                f"the request body is over {limit} bytes, the most this endpoint accepts"
            )
        pieces.append(piece)
    return b"".join(pieces)


async def read_model(
    request: Request, model: type[ModelT], limit: int = MAX_JSON_BODY_BYTES
) -> ModelT:
    """The JSON body as ``model``, read within ``limit`` (:func:`read_limited_body`).

    A body that is not JSON or does not fit the model is ``400 ValidationError`` naming each
    field that is wrong (as FastAPI's own body validation answers), never a 500.
    """
    body = await read_limited_body(request, limit)
    try:
        return model.model_validate_json(body)
    except pydantic.ValidationError as exc:
        raise ValidationError(describe_validation_errors(exc.errors(), prefix="body")) from exc


class RequestBodyReader:
    """``readinto`` over a request's body stream, for a worker thread started by anyio."""

    def __init__(self, request: Request) -> None:
        request.scope[BODY_LIMIT_SCOPE_KEY] = None  # the route enforces its own limits
        self._request = request
        self._receive = request.receive
        self._stream = request.stream()
        self._pending = memoryview(b"")
        self._finished = False
        self._idle_seconds = BODY_IDLE_SECONDS

    async def _next_piece(self) -> bytes | None:
        try:
            with anyio.fail_after(self._idle_seconds):
                return await self._stream.__anext__()
        except StopAsyncIteration:
            return None
        except ClientDisconnect as exc:
            raise _disconnected() from exc
        except TimeoutError as exc:
            raise self._timed_out() from exc

    def _timed_out(self) -> RequestTimeout:
        return RequestTimeout(
            f"the body sent nothing for {self._idle_seconds:g} seconds; nothing was stored. "
            "Send the body without pauses (or in parts: multipart upload)"
        )

    async def prefetch(self, declared_length: int | None) -> None:
        """Read a small body (``Content-Length`` at most :data:`PREFETCH_BODY_BYTES`) whole,
        here on the event loop, so the worker thread never waits on the loop for a piece.

        Each piece pulled from a worker thread costs two thread hops, which under load were a
        visible share of a 4 KiB PUT (docs/performance.md). Bigger bodies keep streaming.
        The ASGI messages are taken straight from ``receive`` under ONE idle deadline, moved
        on at every message (the same :data:`BODY_IDLE_SECONDS` rule as :meth:`_next_piece`):
        through Starlette's stream a 4 KiB body took three pieces (the body, an empty one, the
        end), each with its own cancel scope (docs/decisions/0247).
        """
        if declared_length is None or declared_length > PREFETCH_BODY_BYTES:
            return
        pieces: list[bytes] = []
        total = 0
        if hasattr(self._request, "_body"):
            # Already read whole through Starlette (a SigV4-signed body, read_signed_body):
            # ``receive`` has nothing more to give, and Starlette's stream replays the body.
            while (piece := await self._next_piece()) is not None:
                pieces.append(piece)
            self._finished = True
            self._pending = memoryview(b"".join(pieces))
            return
        try:
            with anyio.fail_after(self._idle_seconds) as scope:
                while total <= PREFETCH_BODY_BYTES:
                    message = await self._receive()
                    if message["type"] != "http.request":  # http.disconnect
                        raise _disconnected()
                    piece = message.get("body", b"")
                    pieces.append(piece)
                    total += len(piece)
                    if not message.get("more_body", False):
                        self._finished = True
                        break
                    scope.deadline = anyio.current_time() + self._idle_seconds
        except TimeoutError as exc:
            raise self._timed_out() from exc
        # A body longer than it said stays unfinished: readinto pulls the rest as before
        # (Starlette's stream goes on with the next message).
        self._pending = memoryview(pieces[0] if len(pieces) == 1 else b"".join(pieces))

    @property
    def complete(self) -> bool:
        """Whether the whole body is in memory: ``readinto`` never waits on the event loop, so
        any thread may read it (not only an anyio worker, which ``anyio.from_thread`` needs)."""
        return self._finished

    def readinto(self, buffer: memoryview, /) -> int:
        while not self._pending and not self._finished:
            piece = anyio.from_thread.run(self._next_piece)
            if piece is None:
                self._finished = True
            else:
                self._pending = memoryview(piece)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def _disconnected() -> IncompleteBody:
    return IncompleteBody(
        "the client disconnected before the body was complete; nothing was stored"
    )


class _Stop(Exception):
    """The consumer went away: the producer stops writing."""


class _Done:
    pass


class DownloadPump:
    """Runs ``produce(writer)`` in a thread; :meth:`pieces` yields what it writes, in order."""

    def __init__(self, produce: Callable[[Any], object]) -> None:
        self._queue: queue.Queue[bytes | BaseException | _Done] = queue.Queue(
            maxsize=DOWNLOAD_QUEUE_PIECES
        )
        self._stopped = threading.Event()
        # One reused buffer: a growing bytearray freed at every piece faulted in fresh pages.
        self._gathered = bytearray(DOWNLOAD_PIECE_BYTES)
        self._filled = 0
        self._produce = produce
        self._thread = threading.Thread(target=self._run, name="lakevault-download", daemon=True)
        self._thread.start()

    def write(self, data: memoryview, /) -> int:
        if self._stopped.is_set():
            raise _Stop
        if not self._filled and len(data) >= DOWNLOAD_PIECE_BYTES:
            self._put(bytes(data))
            return len(data)
        view = data
        while view:
            count = min(len(view), DOWNLOAD_PIECE_BYTES - self._filled)
            self._gathered[self._filled : self._filled + count] = view[:count]
            self._filled += count
            view = view[count:]
            if self._filled == DOWNLOAD_PIECE_BYTES:
                self._flush()
        return len(data)

    def _flush(self) -> None:
        piece = bytes(memoryview(self._gathered)[: self._filled])
        self._filled = 0
        self._put(piece)

    def _put(self, piece: bytes) -> None:
        while True:
            try:
                self._queue.put(piece, timeout=0.5)
                return
            except queue.Full:
                if self._stopped.is_set():
                    raise _Stop from None

    def _run(self) -> None:
        try:
            self._produce(self)
            if self._filled:
                self._flush()
        except _Stop:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put_final(exc)
            return
        self._put_final(_Done())

    def _put_final(self, item: BaseException | _Done) -> None:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    async def first(self) -> bytes | None:
        """The first piece (``None`` for an empty body); raises the producer's error."""
        item = await anyio.to_thread.run_sync(self._queue.get)
        if isinstance(item, BaseException):
            self.stop()
            raise item
        return None if isinstance(item, _Done) else item

    async def rest(self, first: bytes | None) -> AsyncIterator[bytes]:
        """``first``, then every later piece. A later integrity failure aborts the response."""
        try:
            if first is None:
                return
            yield first
            while True:
                item = await anyio.to_thread.run_sync(self._queue.get)
                if isinstance(item, _Done):
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.stop()

    def stop(self) -> None:
        self._stopped.set()
