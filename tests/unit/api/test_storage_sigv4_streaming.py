"""SigV4 streaming uploads through the HTTP API: ``aws-chunked`` bodies with signed chunks,
verified as they stream; a bad chunk leaves nothing behind. The seed is signed by lakevault's
signer and, where botocore is installed (a test-only use), by botocore's."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from lakevault import identity
from tests.unit.api.conftest import World, error

BUCKET = "stream-data"


@dataclass
class Signer:
    world: World
    access_key_id: str
    secret_access_key: str

    def headers(
        self, method: str, target: str, decoded_length: int, extra: dict[str, str] | None = None
    ) -> tuple[dict[str, str], identity.ChunkSigningContext]:
        """Signed headers of a streaming upload of ``decoded_length`` bytes, and the context
        to sign its chunks with."""
        unsigned = identity.SigV4Request.from_target(
            method,
            target,
            [
                ("host", "testserver"),
                ("content-encoding", "aws-chunked"),
                ("x-amz-content-sha256", identity.STREAMING_PAYLOAD),
                ("x-amz-decoded-content-length", str(decoded_length)),
                *(extra or {}).items(),
            ],
        )
        unsigned = identity.SigV4Request(
            method=unsigned.method,
            raw_path=unsigned.raw_path,
            raw_query=unsigned.raw_query,
            headers=unsigned.headers,
            body=None,
        )
        now = self.world.clock.now()
        signed = identity.sign_request(
            unsigned,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            region=self.world.platform.settings.region,
            service="lakevault",
            now=now,
        )
        context = identity.ChunkSigningContext.for_client(
            secret_access_key=self.secret_access_key,
            amz_date={k.lower(): v for k, v in signed.request.headers}["x-amz-date"],
            region=self.world.platform.settings.region,
            service="lakevault",
            seed_signature=signed.signature,
            decoded_length=decoded_length,
        )
        headers = {k: v for k, v in signed.request.headers if k.lower() != "host"}
        return headers, context


def _tenant_with_signer(
    world: World, tenant: str, user: str, action: str
) -> tuple[str, dict[str, str], Signer]:
    """A new tenant (its id and root headers) and a signer for a user allowed ``action``."""
    account, admin, _ = world.new_tenant(tenant)
    c = world.client
    base = f"/api/v1/tenants/{account}"
    assert c.post(f"{base}/users", json={"userName": user}, headers=admin).is_success
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
    }
    c.put(f"{base}/users/{user}/policies/p", json={"policyDocument": policy}, headers=admin)
    key = c.post(f"{base}/users/{user}/access-keys", headers=admin).json()
    return account, admin, Signer(world, key["accessKeyId"], key["secretAccessKey"])


@pytest.fixture
def signer(world: World) -> Signer:
    _, admin, signer = _tenant_with_signer(world, "streaming", "uploader", "s3:*")
    assert world.client.post("/api/v1/buckets", json={"name": BUCKET}, headers=admin).is_success
    return signer


def _pieces(body: bytes, size: int = 50_000) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _blobs(world: World) -> list[str]:
    return sorted(world.platform.storage.backend.list_paths(""))


def test_a_streaming_upload_is_stored_and_reads_back(world: World, signer: Signer) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    target = f"/api/v1/buckets/{BUCKET}/objects/dir/streamed.bin"
    headers, context = signer.headers("PUT", target, len(data), {"x-amz-meta-kind": "chunked"})
    chunks = [data[i : i + 256 * 1024] for i in range(0, len(data), 256 * 1024)]
    body = identity.encode_chunks(context, chunks)
    put = world.client.put(target, content=_pieces(body), headers=headers)  # no Content-Length
    assert put.status_code == 200, put.text
    assert put.json()["size"] == len(data)
    assert put.json()["sha256"] == hashlib.sha256(data).hexdigest()
    got = world.client.get(target, headers=headers_for_get(signer, target))
    assert got.status_code == 200 and got.content == data
    assert got.headers["x-amz-meta-kind"] == "chunked"
    # A small one in a single chunk, with Content-Length (prefetched whole).
    headers, context = signer.headers("PUT", target + ".small", 5)
    small = world.client.put(
        target + ".small", content=identity.encode_chunks(context, [b"hello"]), headers=headers
    )
    assert small.status_code == 200, small.text
    assert small.json()["size"] == 5


def headers_for_get(signer: Signer, target: str) -> dict[str, str]:
    signed = identity.sign_request(
        identity.SigV4Request.from_target("GET", target, [("host", "testserver")]),
        access_key_id=signer.access_key_id,
        secret_access_key=signer.secret_access_key,
        region=signer.world.platform.settings.region,
        service="lakevault",
        now=signer.world.clock.now(),
    )
    return {k: v for k, v in signed.request.headers if k.lower() != "host"}


def test_a_bad_chunk_signature_aborts_and_leaves_nothing(world: World, signer: Signer) -> None:
    data = os.urandom(600 * 1024)
    target = f"/api/v1/buckets/{BUCKET}/objects/tampered"
    headers, context = signer.headers("PUT", target, len(data))
    body = bytearray(identity.encode_chunks(context, [data[:300_000], data[300_000:]]))
    body[400_000] ^= 0x01  # inside the second chunk's data
    put = world.client.put(target, content=_pieces(bytes(body)), headers=headers)
    assert error(put) == (403, "SignatureDoesNotMatch")
    assert world.client.get(target, headers=headers_for_get(signer, target)).status_code == 404
    assert _blobs(world) == []
    # A truncated body (no final chunk) and a wrong decoded length also store nothing.
    headers, context = signer.headers("PUT", target, len(data))
    whole = identity.encode_chunks(context, [data])
    assert error(world.client.put(target, content=whole[:-90], headers=headers))[0] == 400
    headers, context = signer.headers("PUT", target, len(data) + 1)
    short = identity.encode_chunks(context, [data])
    assert error(world.client.put(target, content=short, headers=headers))[0] == 400
    assert _blobs(world) == []


def test_a_tampered_decoded_length_breaks_the_seed(world: World, signer: Signer) -> None:
    target = f"/api/v1/buckets/{BUCKET}/objects/seed"
    headers, context = signer.headers("PUT", target, 5)
    headers["x-amz-decoded-content-length"] = "4"
    put = world.client.put(
        target, content=identity.encode_chunks(context, [b"abcd"]), headers=headers
    )
    assert error(put) == (403, "SignatureDoesNotMatch")


def test_a_streaming_part_of_a_multipart_upload(world: World, signer: Signer) -> None:
    base = f"/api/v1/buckets/{BUCKET}/uploads"
    create = identity.sign_request(
        identity.SigV4Request.from_target(
            "POST", base, [("host", "testserver")], b'{"key": "parts"}'
        ),
        access_key_id=signer.access_key_id,
        secret_access_key=signer.secret_access_key,
        region=world.platform.settings.region,
        service="lakevault",
        now=world.clock.now(),
    )
    upload = world.client.post(
        base,
        content=b'{"key": "parts"}',
        headers={k: v for k, v in create.request.headers if k.lower() != "host"},
    )
    assert upload.status_code == 200, upload.text
    upload_id = upload.json()["uploadId"]
    target = f"{base}/{upload_id}/parts/1"
    headers, context = signer.headers("PUT", target, 11)
    part = world.client.put(
        target, content=identity.encode_chunks(context, [b"hello ", b"world"]), headers=headers
    )
    assert part.status_code == 200, part.text
    assert part.json()["size"] == 11


def test_json_routes_refuse_a_streaming_body(world: World, signer: Signer) -> None:
    target = f"/api/v1/buckets/{BUCKET}/tags"
    headers, context = signer.headers("PUT", target, 12)
    answer = world.client.put(
        target, content=identity.encode_chunks(context, [b'{"tags": {}}']), headers=headers
    )
    assert error(answer) == (400, "InvalidRequest")


@pytest.fixture
def administrator(world: World) -> tuple[str, dict[str, str], Signer]:
    """A tenant (its id and root headers) and a signer for a user allowed everything."""
    return _tenant_with_signer(world, "streaming-admin", "operator", "*")


def test_a_streaming_seed_does_not_vouch_for_a_model_body(
    world: World, administrator: tuple[str, dict[str, str], Signer]
) -> None:
    """The seed signature signs no byte of the body. A route whose body FastAPI parses into a
    model (KMS CreateKey, IAM CreateUser) must not act on a plain body sent under it, even for
    a caller allowed the action: refused, and nothing is created."""
    account, admin, signer = administrator
    json_type = {"content-type": "application/json"}
    body = b'{"description": "nobody signed this"}'
    headers, _ = signer.headers("POST", "/api/v1/kms/keys", len(body), json_type)
    answer = world.client.post("/api/v1/kms/keys", content=body, headers=headers)
    assert error(answer) == (400, "InvalidRequest")
    assert "only by object uploads" in answer.json()["error"]["message"]
    keys = world.client.get("/api/v1/kms/keys", headers=admin).json()
    assert all(k.get("description") != "nobody signed this" for k in keys)

    target = f"/api/v1/tenants/{account}/users"
    body = b'{"userName": "unsigned"}'
    headers, _ = signer.headers("POST", target, len(body), json_type)
    assert error(world.client.post(target, content=body, headers=headers)) == (
        400,
        "InvalidRequest",
    )
    users = world.client.get(target, headers=admin).json()
    assert "unsigned" not in str(users)

    # The same user signing the body's own hash creates the key: the refusal is the payload
    # form's, not a missing permission.
    body = b'{"description": "signed"}'
    request = identity.SigV4Request.from_target(
        "POST", "/api/v1/kms/keys", [("host", "testserver"), *json_type.items()], body
    )
    signed = identity.sign_request(
        request,
        access_key_id=signer.access_key_id,
        secret_access_key=signer.secret_access_key,
        region=world.platform.settings.region,
        service="lakevault",
        now=world.clock.now(),
    )
    plain = {k: v for k, v in signed.request.headers if k.lower() != "host"}
    created = world.client.post("/api/v1/kms/keys", content=body, headers=plain)
    assert created.status_code == 201, created.text


def test_unsigned_trailer_uploads_are_not_implemented(world: World, signer: Signer) -> None:
    target = f"/api/v1/buckets/{BUCKET}/objects/trailer"
    unsigned = identity.SigV4Request(
        method="PUT",
        raw_path=target,
        headers=(
            ("host", "testserver"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-decoded-content-length", "5"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ),
        body=None,
    )
    signed = identity.sign_request(
        unsigned,
        access_key_id=signer.access_key_id,
        secret_access_key=signer.secret_access_key,
        region=world.platform.settings.region,
        service="lakevault",
        now=world.clock.now(),
        rules=identity.rules_for_service("s3"),  # the payload hash is the header's literal
    )
    headers = {k: v for k, v in signed.request.headers if k.lower() != "host"}
    answer = world.client.put(target, content=b"5\r\nhello\r\n0\r\n\r\n", headers=headers)
    assert error(answer) == (501, "NotImplemented")
    assert "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" in answer.json()["error"]["message"]


def test_botocore_signs_the_same_seed(world: World, signer: Signer) -> None:
    """A real client's signer (botocore, if installed: a test-only use) makes the seed."""
    auth = pytest.importorskip("botocore.auth", reason="botocore is not installed")
    awsrequest = pytest.importorskip("botocore.awsrequest")
    credentials = pytest.importorskip("botocore.credentials")
    world.clock.current = datetime.now(UTC).replace(microsecond=0)
    data = b"streamed by a seed from botocore" * 1000
    target = f"/api/v1/buckets/{BUCKET}/objects/boto"
    request: Any = awsrequest.AWSRequest(
        method="PUT",
        url=f"http://testserver{target}",
        headers={
            "Content-Encoding": "aws-chunked",
            "X-Amz-Content-SHA256": identity.STREAMING_PAYLOAD,
            "x-amz-decoded-content-length": str(len(data)),
        },
    )
    auth.SigV4Auth(
        credentials.Credentials(signer.access_key_id, signer.secret_access_key),
        "lakevault",
        world.platform.settings.region,
    ).add_auth(request)
    seed = request.headers["Authorization"].rpartition("Signature=")[2]
    context = identity.ChunkSigningContext.for_client(
        secret_access_key=signer.secret_access_key,
        amz_date=request.headers["X-Amz-Date"],
        region=world.platform.settings.region,
        service="lakevault",
        seed_signature=seed,
        decoded_length=len(data),
    )
    headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
    put = world.client.put(
        target,
        content=identity.encode_chunks(context, [data[:10000], data[10000:]]),
        headers=headers,
    )
    assert put.status_code == 200, put.text
    assert put.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_streaming_body_needs_a_sigv4_header_signature(world: World, signer: Signer) -> None:
    """With a token, an API key, a pre-signed URL or no credentials, the chunk framing would
    be stored as the object: refused before the body is read."""
    target = f"/api/v1/buckets/{BUCKET}/objects/framed"
    _, admin, _ = world.new_tenant("streaming-token")
    streaming = {
        "x-amz-content-sha256": identity.STREAMING_PAYLOAD,
        "x-amz-decoded-content-length": "5",
    }
    for credentials in (admin, {}):
        answer = world.client.put(target, content=b"0\r\n\r\n", headers=credentials | streaming)
        assert error(answer) == (400, "InvalidRequest")
    presigned = f"{target}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x"
    assert error(world.client.put(presigned, content=b"", headers=streaming)) == (
        400,
        "InvalidRequest",
    )
