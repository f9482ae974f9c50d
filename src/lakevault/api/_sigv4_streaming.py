"""SigV4 streaming uploads (``aws-chunked`` with signed chunks) on the HTTP API (ADR 0188).

Authentication (``_auth``) verifies the seed signature from the headers alone — the body of a
streaming upload is not read before the route — and leaves the chunk-signing context in the
request's scope. A route that stores a body (PUT object, UPLOAD part) asks :func:`upload_body`
for the body to read: the decoded, chunk-verified stream and the object's size
(``x-amz-decoded-content-length``). Every other route refuses such a request before reading
its body (:func:`refuse_chunked_body`): a JSON endpoint would otherwise parse the chunk
framing, and nothing would check its signatures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from lakevault import identity
from lakevault.core.errors import InvalidRequest

if TYPE_CHECKING:  # _streaming calls refuse_chunked_body
    from lakevault.api._streaming import RequestBodyReader

#: Where ``_auth`` leaves the :class:`identity.ChunkSigningContext` of a streaming upload.
CHUNKED_PAYLOAD_SCOPE_KEY = "lakevault.sigv4_chunks"


def chunk_context(request: Request) -> identity.ChunkSigningContext | None:
    """The chunk-signing context of a verified streaming upload, or ``None``."""
    context = request.scope.get(CHUNKED_PAYLOAD_SCOPE_KEY)
    return context if isinstance(context, identity.ChunkSigningContext) else None


def refuse_chunked_body(request: Request) -> None:
    """Refuse a streaming-signed request on a route that does not store an object body."""
    if chunk_context(request) is not None:
        raise InvalidRequest(
            "an aws-chunked body (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD) is "
            "accepted only by object uploads (PUT .../objects/KEY and multipart parts); sign "
            "this request with the body's SHA-256"
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
