"""SigV4 streaming uploads (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``): the seed signature, the
chained chunk signatures and the decoder, against the worked example of the S3 API reference
("Signature Calculations for the Authorization Header: Transferring Payload in Multiple Chunks",
"Example: PUT Object"), then every way to break the chain.

``../shared/conformance/sigv4`` (aws-c-auth's suite) has no chunked cases, so the AWS example
is the vector; its values are in this file.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lakevault.identity import (
    STREAMING_PAYLOAD,
    ChunkedPayloadReader,
    ChunkSigningContext,
    IncompleteSignature,
    SignatureDoesNotMatch,
    SignatureForm,
    SigningCredential,
    SigV4Failure,
    SigV4Request,
    StreamingPayloadNotImplemented,
    encode_chunks,
    sign_request,
    verify_sigv4,
)

# -- the AWS example -------------------------------------------------------------------------

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SIGNED_AT = datetime(2013, 5, 24, tzinfo=UTC)
SEED_SIGNATURE = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",  # 64 KiB of 'a'
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",  # 1 KiB of 'a'
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",  # the final, empty
]
CHUNKS = [b"a" * 65536, b"a" * 1024]
DECODED_LENGTH = 66560
ENCODED_LENGTH = 66824
HEADERS = (
    ("Host", "s3.amazonaws.com"),
    ("x-amz-date", "20130524T000000Z"),
    ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
    ("x-amz-content-sha256", STREAMING_PAYLOAD),
    ("Content-Encoding", "aws-chunked"),
    ("x-amz-decoded-content-length", str(DECODED_LENGTH)),
    ("Content-Length", str(ENCODED_LENGTH)),
)
AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
    "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
    f"x-amz-decoded-content-length;x-amz-storage-class,Signature={SEED_SIGNATURE}"
)


def _lookup(access_key_id: str) -> SigningCredential[str]:
    assert access_key_id == ACCESS_KEY_ID
    return SigningCredential(
        access_key_id=access_key_id, secret_access_key=SECRET, principal="example"
    )


def _example_request(headers: tuple[tuple[str, str], ...] = HEADERS) -> SigV4Request:
    return SigV4Request(
        method="PUT",
        raw_path="/examplebucket/chunkObject.txt",
        headers=(*headers, ("Authorization", AUTHORIZATION)),
        body=None,
    )


def _verify(request: SigV4Request, service: str = "s3") -> ChunkSigningContext:
    verified = verify_sigv4(
        request, lookup=_lookup, now=SIGNED_AT, region="us-east-1", service=service
    )
    assert verified.chunk_context is not None
    return verified.chunk_context


def _decode(context: ChunkSigningContext, body: bytes, piece: int = 8192) -> bytes:
    reader = ChunkedPayloadReader(io.BytesIO(body), context)
    out = bytearray()
    buffer = memoryview(bytearray(piece))
    while count := reader.readinto(buffer):
        out += buffer[:count]
    return bytes(out)


def test_the_aws_example_seed_verifies_and_its_chunks_chain() -> None:
    context = _verify(_example_request())
    assert context.seed_signature == SEED_SIGNATURE
    assert context.decoded_length == DECODED_LENGTH
    previous = SEED_SIGNATURE
    for data, expected in zip([*CHUNKS, b""], CHUNK_SIGNATURES, strict=True):
        previous = context.chunk_signature(previous, hashlib.sha256(data).hexdigest())
        assert previous == expected
    body = encode_chunks(context, CHUNKS)
    assert len(body) == ENCODED_LENGTH
    assert body.startswith(f"10000;chunk-signature={CHUNK_SIGNATURES[0]}\r\n".encode())
    assert body.endswith(f"0;chunk-signature={CHUNK_SIGNATURES[2]}\r\n\r\n".encode())
    assert _decode(context, body) == b"".join(CHUNKS)
    assert _decode(context, body, piece=1) == b"".join(CHUNKS)  # any read size
    assert "signing_key" in repr(context) and "[secure]" in repr(context)
    assert context.signing_key.hex() not in repr(context)


def test_our_signer_makes_the_aws_seed() -> None:
    unsigned = SigV4Request(
        method="PUT",
        raw_path="/examplebucket/chunkObject.txt",
        headers=tuple((n, v) for n, v in HEADERS if n != "x-amz-date"),
        body=None,
    )
    signed = sign_request(
        unsigned,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET,
        region="us-east-1",
        service="s3",
        now=SIGNED_AT,
    )
    assert signed.signature == SEED_SIGNATURE
    # Under the general rules too (the lakevault API's service) the seed is the literal.
    general = sign_request(
        unsigned,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET,
        region="local",
        service="lakevault",
        now=SIGNED_AT,
    )
    verified = verify_sigv4(
        general.request, lookup=_lookup, now=SIGNED_AT, region="local", service="lakevault"
    )
    assert verified.chunk_context is not None
    assert verified.chunk_context.seed_signature == general.signature


def _body() -> tuple[ChunkSigningContext, bytes]:
    context = _verify(_example_request())
    return context, encode_chunks(context, CHUNKS)


def _refused(context: ChunkSigningContext, body: bytes) -> Exception:
    with pytest.raises((SignatureDoesNotMatch, IncompleteSignature)) as caught:
        _decode(context, body)
    return caught.value


def test_a_changed_byte_fails_at_the_end_of_its_chunk() -> None:
    context, body = _body()
    header = len(f"10000;chunk-signature={CHUNK_SIGNATURES[0]}\r\n")
    tampered = bytearray(body)
    tampered[header + 100] ^= 0x01
    reader = ChunkedPayloadReader(io.BytesIO(bytes(tampered)), context)
    buffer = memoryview(bytearray(1024))
    handed = 0
    with pytest.raises(SignatureDoesNotMatch) as caught:
        while count := reader.readinto(buffer):
            handed += count
    assert caught.value.reason is SigV4Failure.CHUNK_SIGNATURE_MISMATCH
    assert handed == 65536  # the bad chunk is refused before anything after it is read
    assert SEED_SIGNATURE not in caught.value.message


def test_the_chain_cannot_be_reordered_truncated_or_replayed() -> None:
    context, body = _body()
    # A body signed under another seed (another request) does not verify here.
    other = replace(context, seed_signature="0" * 64)
    assert isinstance(_refused(context, encode_chunks(other, CHUNKS)), SignatureDoesNotMatch)
    # The signed chunks swapped: each chunk intact, the chain broken.
    first = len(f"10000;chunk-signature={CHUNK_SIGNATURES[0]}\r\n") + 65536 + 2
    second = first + len(f"400;chunk-signature={CHUNK_SIGNATURES[1]}\r\n") + 1024 + 2
    reordered = body[first:second] + body[:first] + body[second:]
    assert len(reordered) == len(body)
    assert isinstance(_refused(context, reordered), SignatureDoesNotMatch)
    # Without the final zero-length chunk the body never ends well.
    final = f"0;chunk-signature={CHUNK_SIGNATURES[2]}\r\n\r\n".encode()
    error = _refused(context, body[: -len(final)])
    assert isinstance(error, IncompleteSignature) and "final" in str(error)
    # Cut inside a chunk.
    assert isinstance(_refused(context, body[:1000]), IncompleteSignature)
    # Bytes after the final chunk.
    assert isinstance(_refused(context, body + b"x"), IncompleteSignature)


def test_the_decoded_length_must_match() -> None:
    context, body = _body()
    shorter = replace(context, decoded_length=DECODED_LENGTH - 1)
    error = _refused(shorter, body)
    assert isinstance(error, IncompleteSignature)
    longer = replace(context, decoded_length=DECODED_LENGTH + 1)
    error = _refused(longer, body)
    assert isinstance(error, IncompleteSignature)
    assert error.reason is SigV4Failure.DECODED_LENGTH_MISMATCH  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "body",
    [
        b"zz;chunk-signature=" + b"0" * 64 + b"\r\n",
        b"10000;chunk-signature=ABC\r\n",
        b"10000\r\n",
        b"1" * 300,  # a header line that never ends
        b"",
    ],
)
def test_malformed_framing_is_refused(body: bytes) -> None:
    context, _ = _body()
    error = _refused(context, body)
    assert isinstance(error, IncompleteSignature)


def test_a_huge_chunk_streams_in_constant_memory() -> None:
    data = bytes(range(256)) * 4096 * 16  # one 16 MiB chunk
    context = replace(_verify(_example_request()), decoded_length=len(data))
    body = encode_chunks(context, [data])

    class Trickle(io.BytesIO):
        def readinto(self, buffer: memoryview, /) -> int:  # type: ignore[override]
            return super().readinto(buffer[: 64 * 1024])

    reader = ChunkedPayloadReader(Trickle(body), context)
    buffer = memoryview(bytearray(1024 * 1024))
    total = 0
    peak = 0
    while count := reader.readinto(buffer):
        total += count
        peak = max(peak, len(reader._raw))
    assert total == len(data)
    assert peak <= 64 * 1024 + 128


def test_unsupported_streaming_forms_are_not_implemented() -> None:
    for form in (
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    ):
        headers = tuple((n, form if n == "x-amz-content-sha256" else v) for n, v in HEADERS)
        with pytest.raises(StreamingPayloadNotImplemented) as caught:
            _verify(_example_request(headers))
        assert caught.value.code == "NotImplemented" and caught.value.http_status == 501
    headers = tuple(
        (n, "STREAMING-SOMETHING" if n == "x-amz-content-sha256" else v) for n, v in HEADERS
    )
    with pytest.raises(IncompleteSignature):
        _verify(_example_request(headers))


def test_the_seed_covers_the_decoded_length_and_must_be_in_the_header() -> None:
    headers = tuple((n, "66561" if n == "x-amz-decoded-content-length" else v) for n, v in HEADERS)
    with pytest.raises(SignatureDoesNotMatch):
        _verify(_example_request(headers))
    unsigned = SigV4Request(
        method="PUT",
        raw_path="/examplebucket/chunkObject.txt",
        headers=(
            ("Host", "s3.amazonaws.com"),
            ("x-amz-content-sha256", STREAMING_PAYLOAD),
            ("x-amz-decoded-content-length", "5"),
        ),
        body=None,
    )
    presigned = sign_request(
        unsigned,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET,
        region="us-east-1",
        service="s3",
        now=SIGNED_AT,
        form=SignatureForm.QUERY,
    )
    with pytest.raises(IncompleteSignature) as caught:
        _verify(replace(presigned.request, body=None))
    assert "pre-signed" in caught.value.message
