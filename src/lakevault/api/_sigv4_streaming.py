"""SigV4 streaming uploads (``aws-chunked`` with signed chunks) on the HTTP API (ADR 0188).

Authentication (``_auth``) verifies the seed signature from the headers alone — the body of a
streaming upload is not read before the route — and leaves the chunk-signing context in the
request's scope. Only a route marked :func:`accepts_streaming_payload` (PUT object, upload
part) may receive such a request; it asks :func:`upload_body` for the body to read: the
decoded, chunk-verified stream and the object's size (``x-amz-decoded-content-length``).
Authentication refuses a streaming request to any other route before its body is read
(:func:`refuse_unless_streaming_route`): the seed signature covers no byte of the body, so a
route that parses its body itself (a FastAPI model, ``read_limited_body``) would otherwise act
on bytes nobody signed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request

from lakevault import identity
from lakevault.api._streaming import RequestBodyReader
from lakevault.core.errors import InvalidRequest

#: Where ``_auth`` leaves the :class:`identity.ChunkSigningContext` of a streaming upload.
CHUNKED_PAYLOAD_SCOPE_KEY = "lakevault.sigv4_chunks"


def chunk_context(request: Request) -> identity.ChunkSigningContext | None:
    """The chunk-signing context of a verified streaming upload, or ``None``."""
    context = request.scope.get(CHUNKED_PAYLOAD_SCOPE_KEY)
    return context if isinstance(context, identity.ChunkSigningContext) else None


_Endpoint = TypeVar("_Endpoint", bound=Callable[..., object])

#: The attribute that marks an endpoint as storing an aws-chunked body.
_ACCEPTS_STREAMING = "__lakevault_accepts_aws_chunked__"


def accepts_streaming_payload(endpoint: _Endpoint) -> _Endpoint:
    """Mark a route endpoint that stores its body through :func:`upload_body`.

    Apply it under the router's decorator (``@router.put(...)`` above, this below), so the
    function the router calls is the marked one.
    """
    setattr(endpoint, _ACCEPTS_STREAMING, True)
    return endpoint


def refuse_unless_streaming_route(request: Request) -> None:
    """Refuse a streaming-signed request unless its route stores an object body.

    Called by authentication, which FastAPI runs after routing: ``scope["endpoint"]`` is the
    matched route's function. The check is by route, not by how the route reads its body, so
    a new JSON route is safe without remembering anything.
    """
    if getattr(request.scope.get("endpoint"), _ACCEPTS_STREAMING, False) is not True:
        raise InvalidRequest(
            "an aws-chunked body (x-amz-content-sha256: STREAMING-...) is accepted only by "
            "object uploads (PUT .../objects/KEY and multipart parts); sign this request with "
            "the body's SHA-256"
        )


def upload_body(
    request: Request, reader: RequestBodyReader
) -> tuple[RequestBodyReader | identity.ChunkedPayloadReader, int | None]:
    """The body an upload route stores, and its length if known.

    For a streaming-signed request: the decoded body, verified chunk by chunk as it is read
    (a bad chunk signature raises ``SignatureDoesNotMatch`` from ``readinto``, before the end
    of the body, so storage stores nothing), and ``x-amz-decoded-content-length``. Otherwise
    the raw body and ``Content-Length``.
    """
    context = chunk_context(request)
    if context is not None:
        return identity.ChunkedPayloadReader(reader, context), context.decoded_length
    declared = request.headers.get("content-length")
    return reader, int(declared) if declared and declared.isdigit() else None
