"""Give every request an id, expose it to logs and errors, and return it in a header.

The id is fresh for every request (a client-supplied id is never trusted as ours); it is sent
back as ``x-amz-request-id`` (AWS's header) and ``x-request-id`` on every answer, the 500 of
an unexpected failure included.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lakevault.api._errors import unexpected_error_response
from lakevault.core import RandomSource, current_request_id, new_request_id


class RequestIdMiddleware:
    """Pure ASGI middleware (no ``BaseHTTPMiddleware``, which buffers streaming bodies)."""

    def __init__(self, app: ASGIApp, *, random: RandomSource) -> None:
        self._app = app
        self._random = random

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = new_request_id(self._random)
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-amz-request-id", request_id.encode("ascii")))
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message["headers"] = headers
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        except Exception as exc:
            # An unexpected failure is answered and logged here, inside this middleware, so
            # that its 500 carries the id in the headers and the body, and its log line (with
            # the traceback) the id too. Left to Starlette's outermost ServerErrorMiddleware,
            # it was answered after the id was reset, without either, while the message asks
            # the client to quote it. Not raised further: that would log it a second time,
            # without the id. A failure after the response started cannot be answered any
            # more; it is raised so that the server logs it and drops the connection.
            if started:
                raise
            await unexpected_error_response(exc)(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
