"""SigV4 streaming uploads: the ``aws-chunked`` body whose every chunk is signed.

Spec: "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
Chunks (Chunked Upload)" of the S3 API reference. The request is signed with the literal
``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` as its payload hash; that signature is the *seed*. The
body is a series of chunks::

    <hex size>;chunk-signature=<64 hex>\\r\\n<size bytes>\\r\\n

ending with a chunk of size 0. Each chunk's signature is an HMAC, under the request's signing
key, of::

    AWS4-HMAC-SHA256-PAYLOAD \\n <X-Amz-Date> \\n <scope> \\n <previous signature> \\n
    <SHA-256 of ""> \\n <SHA-256 of the chunk's data>

so the chunks are chained to the seed and to each other: none can be dropped, reordered,
replayed from another upload or changed. :class:`ChunkedPayloadReader` decodes and verifies the
body as it streams, in constant memory (one chunk header line, at most
:data:`MAX_CHUNK_HEADER_BYTES`, is ever buffered): a chunk's bytes are handed on as they
arrive, and its signature is checked when the chunk ends. The reader signals the end of the
body only after the final zero-length chunk verified and the decoded length equals
``x-amz-decoded-content-length``, so a consumer that commits only at the end (storage does)
never stores a byte of a body whose signature failed (ADR 0188).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Protocol

from lakevault.identity._errors import IncompleteSignature, SignatureDoesNotMatch, SigV4Failure
from lakevault.identity._sigv4_canonical import EMPTY_SHA256, CredentialScope, derive_signing_key

#: ``x-amz-content-sha256`` of a streaming upload with signed chunks.
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#: The other streaming payload forms S3 knows; lakevault refuses them (``NotImplemented``).
UNSUPPORTED_STREAMING_PAYLOADS = frozenset(
    {
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    }
)
CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
#: The longest chunk header line accepted (``<hex size>;chunk-signature=<64 hex>``, with room).
MAX_CHUNK_HEADER_BYTES = 256
_CHUNK_HEADER = re.compile(rb"([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})")


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ChunkSigningContext:
    """What chunk signatures chain from: the verified seed signature and its signing key.

    .. warning:: ``signing_key`` is key material (it signs any request of its scope for a
       day). The ``repr`` masks it; never log it.
    """

    signing_key: bytes
    amz_date: str
    scope: CredentialScope
    seed_signature: str
    decoded_length: int

    def __repr__(self) -> str:
        return (
            f"ChunkSigningContext(amz_date={self.amz_date!r}, scope='{self.scope}', "
            f"decoded_length={self.decoded_length}, signing_key='[secure]')"
        )

    @classmethod
    def for_client(
        cls,
        *,
        secret_access_key: str,
        amz_date: str,
        region: str,
        service: str,
        seed_signature: str,
        decoded_length: int,
    ) -> ChunkSigningContext:
        """The context a client signs its chunks with, after signing the request headers
        (``x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD``) to get the seed."""
        scope = CredentialScope(date=amz_date[:8], region=region, service=service)
        return cls(
            signing_key=derive_signing_key(secret_access_key, scope.date, region, service),
            amz_date=amz_date,
            scope=scope,
            seed_signature=seed_signature,
            decoded_length=decoded_length,
        )

    def chunk_signature(self, previous: str, data_sha256: str) -> str:
        """The signature of a chunk whose data hashes to ``data_sha256`` (hex)."""
        string_to_sign = "\n".join(
            (CHUNK_ALGORITHM, self.amz_date, str(self.scope), previous, EMPTY_SHA256, data_sha256)
        )
        return hmac.new(
            self.signing_key, string_to_sign.encode("ascii"), hashlib.sha256
        ).hexdigest()


def encode_chunks(context: ChunkSigningContext, chunks: list[bytes]) -> bytes:
    """The ``aws-chunked`` body of ``chunks`` (the final empty chunk is added): for clients
    and tests. Memory is the size of the body; a streaming client signs chunk by chunk."""
    previous = context.seed_signature
    out: list[bytes] = []
    for data in [*chunks, b""]:
        previous = context.chunk_signature(previous, hashlib.sha256(data).hexdigest())
        out.append(f"{len(data):x};chunk-signature={previous}\r\n".encode("ascii"))
        out.append(data)
        out.append(b"\r\n")
    return b"".join(out)


def _malformed(message: str) -> IncompleteSignature:
    return IncompleteSignature(
        f"the aws-chunked body is malformed: {message}", reason=SigV4Failure.MALFORMED_CHUNK
    )


class ChunkedPayloadReader:
    """``readinto`` of the decoded body of an ``aws-chunked`` upload, verifying as it goes.

    ``source`` yields the raw (encoded) body; ``readinto`` returns 0 (the end) only after the
    final chunk's signature verified, the decoded length matched and nothing followed. Raises
    ``SignatureDoesNotMatch`` at the end of a chunk whose signature is wrong, and
    ``IncompleteSignature`` for a malformed body or a length that does not match.
    """

    def __init__(self, source: Readable, context: ChunkSigningContext) -> None:
        self._source = source
        self._context = context
        self._previous = context.seed_signature
        self._raw = bytearray()
        self._raw_view = memoryview(bytearray(64 * 1024))
        self._source_done = False
        self._remaining = 0  # data bytes left in the current chunk
        self._in_chunk = False
        self._expected = ""
        self._hasher = hashlib.sha256()
        self._decoded = 0
        self._final = False
        self._finished = False

    def _fill(self) -> bool:
        """Pull more raw bytes; ``False`` at the end of the source."""
        if self._source_done:
            return False
        count = self._source.readinto(self._raw_view)
        if count == 0:
            self._source_done = True
            return False
        self._raw += self._raw_view[:count]
        return True

    def _take_line(self) -> bytes:
        while True:
            end = self._raw.find(b"\r\n")
            if end >= 0:
                line = bytes(self._raw[:end])
                del self._raw[: end + 2]
                return line
            if len(self._raw) > MAX_CHUNK_HEADER_BYTES:
                raise _malformed(f"a chunk header is longer than {MAX_CHUNK_HEADER_BYTES} bytes")
            if not self._fill():
                raise _malformed("the body ended before its final zero-length chunk")

    def _take_exact(self, count: int) -> bytes:
        while len(self._raw) < count:
            if not self._fill():
                raise _malformed("the body ended inside a chunk")
        taken = bytes(self._raw[:count])
        del self._raw[:count]
        return taken

    def _start_chunk(self) -> None:
        line = self._take_line()
        match = _CHUNK_HEADER.fullmatch(line)
        if match is None:
            raise _malformed(
                "a chunk header is not '<hex size>;chunk-signature=<64 lower-case hex digits>'"
            )
        self._remaining = int(match.group(1), 16)
        self._expected = match.group(2).decode("ascii")
        self._hasher = hashlib.sha256()
        self._in_chunk = True
        if self._decoded + self._remaining > self._context.decoded_length:
            raise _malformed(
                "the chunks carry more bytes than x-amz-decoded-content-length "
                f"({self._context.decoded_length})"
            )

    def _end_chunk(self) -> bool:
        """Check the chunk's trailing CRLF and signature; ``True`` if it was the final one."""
        if self._take_exact(2) != b"\r\n":
            raise _malformed("a chunk's data is not followed by CRLF")
        computed = self._context.chunk_signature(self._previous, self._hasher.hexdigest())
        if not hmac.compare_digest(computed.encode("ascii"), self._expected.encode("ascii")):
            raise SignatureDoesNotMatch(
                "the chunk signature we calculated does not match the one the body carries; "
                "nothing was stored. Check the signing key and that each chunk is signed with "
                "the previous chunk's signature",
                reason=SigV4Failure.CHUNK_SIGNATURE_MISMATCH,
            )
        self._previous = computed
        self._in_chunk = False
        return self._final

    def readinto(self, buffer: memoryview, /) -> int:
        while not self._finished:
            if not self._in_chunk:
                self._start_chunk()
                self._final = self._remaining == 0
            if self._remaining > 0:
                if not self._raw and not self._fill():
                    raise _malformed("the body ended inside a chunk")
                count = min(len(buffer), self._remaining, len(self._raw))
                buffer[:count] = self._raw[:count]
                self._hasher.update(self._raw[:count])
                del self._raw[:count]
                self._remaining -= count
                self._decoded += count
                return count
            if self._end_chunk():
                self._finish()
        return 0

    def _finish(self) -> None:
        if self._decoded != self._context.decoded_length:
            raise IncompleteSignature(
                f"the chunks carry {self._decoded} bytes but x-amz-decoded-content-length says "
                f"{self._context.decoded_length}",
                reason=SigV4Failure.DECODED_LENGTH_MISMATCH,
            )
        if self._raw or self._fill():
            raise _malformed("bytes follow the final zero-length chunk")
        self._finished = True
