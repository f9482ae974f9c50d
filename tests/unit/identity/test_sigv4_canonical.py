"""Canonicalisation rules, signing-key derivation and the credential type of SigV4.

The aws-c-auth suite (test_sigv4_conformance.py) covers the general rules; these tests pin what
it does not: S3's rules, the key-derivation example of the AWS documentation, and the masking
of secrets. Where botocore is installed, its own signer cross-checks the verifier.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from lakevault.identity import (
    SignatureForm,
    SigningCredential,
    SigningRules,
    SigV4Request,
    rules_for_service,
    sign_request,
    verify_sigv4,
)
from lakevault.identity._sigv4_canonical import (
    SIGNING_KEY_CACHE_SIZE,
    canonical_header_value,
    canonical_query,
    canonical_uri,
    derive_signing_key,
    parse_query,
)

S3 = rules_for_service("s3")
GENERAL = rules_for_service("lakevault")


def test_s3_and_only_s3_keeps_paths_as_they_are() -> None:
    assert (
        SigningRules(normalize_path=False, double_encode_path=False, is_payload_hash_in_header=True)
        == S3
    )
    for service in ("lakevault", "sts", "iam", "kms", "secretsmanager"):
        assert rules_for_service(service) == SigningRules(
            normalize_path=True, double_encode_path=True, is_payload_hash_in_header=False
        )


def test_the_signing_key_of_the_aws_documentation() -> None:
    # "Examples of how to derive a signing key for Signature Version 4", AWS General Reference.
    key = derive_signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"
    )
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_the_signing_key_cache_is_bounded() -> None:
    assert derive_signing_key.cache_info().maxsize == SIGNING_KEY_CACHE_SIZE
    derive_signing_key.cache_clear()
    for day in range(SIGNING_KEY_CACHE_SIZE + 10):
        derive_signing_key("secret", f"2026{day:04d}", "r", "s")
    assert derive_signing_key.cache_info().currsize == SIGNING_KEY_CACHE_SIZE


@pytest.mark.parametrize(
    ("raw_path", "s3", "general"),
    [
        ("/bucket/a%20b", "/bucket/a%20b", "/bucket/a%2520b"),
        ("/bucket/a b", "/bucket/a%20b", "/bucket/a%20b"),
        ("/bucket/a+b", "/bucket/a%2Bb", "/bucket/a%2Bb"),
        ("/bucket/a/../b", "/bucket/a/../b", "/bucket/b"),
        ("/bucket//key/", "/bucket//key/", "/bucket/key/"),
        ("/bucket/%E1%88%B4", "/bucket/%E1%88%B4", "/bucket/%25E1%2588%25B4"),
        ("/bucket/~key", "/bucket/~key", "/bucket/~key"),
        ("", "/", "/"),
    ],
)
def test_canonical_uri(raw_path: str, s3: str, general: str) -> None:
    assert canonical_uri(raw_path, S3) == s3
    assert canonical_uri(raw_path, GENERAL) == general


@pytest.mark.parametrize(
    ("raw_query", "canonical"),
    [
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1", "a=1&a=2"),
        ("flag", "flag="),
        ("a=1&&b=2", "a=1&b=2"),
        ("q=a+b", "q=a%2Bb"),
        ("q=a%20b", "q=a%20b"),
        ("q=a b", "q=a%20b"),
        ("q=%7e", "q=~"),
        ("q=caf%C3%A9", "q=caf%C3%A9"),
        ("list-type=2&prefix=", "list-type=2&prefix="),
    ],
)
def test_canonical_query(raw_query: str, canonical: str) -> None:
    assert canonical_query(parse_query(raw_query)) == canonical


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("  value  ", "value"),
        ('"a   b   c"', '"a b c"'),
        ("value1\n  value2\n     value3", "value1 value2 value3"),
        ("a\tb", "a b"),
        ("", ""),
    ],
)
def test_canonical_header_value(value: str, canonical: str) -> None:
    assert canonical_header_value(value) == canonical


def test_a_signing_credential_never_shows_its_secret_or_token() -> None:
    credential = SigningCredential(
        access_key_id="AKIAEXAMPLE",
        secret_access_key="the-secret-access-key",
        principal="user/alice",
        session_token="the-session-token",
    )
    for text in (repr(credential), str(credential)):
        assert "the-secret-access-key" not in text
        assert "the-session-token" not in text
        assert "AKIAEXAMPLE" in text
    same = SigningCredential(
        access_key_id="AKIAEXAMPLE",
        secret_access_key="the-secret-access-key",
        principal="user/alice",
        session_token="the-session-token",
    )
    assert credential != same  # equality is identity: secrets are never compared with ==


def test_a_request_takes_a_body_or_a_streamed_hash_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        SigV4Request(method="GET", raw_path="/", body=b"x", payload_sha256="0" * 64)


def test_the_signer_refuses_a_signed_request_and_a_request_without_host() -> None:
    now = datetime(2026, 11, 29, tzinfo=UTC)
    options = {"access_key_id": "AKID", "secret_access_key": "s", "region": "r", "service": "x"}
    request = SigV4Request.from_target("GET", "/", [("Host", "h")])
    signed = sign_request(request, now=now, **options).request  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already carries"):
        sign_request(signed, now=now, **options)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Host"):
        sign_request(SigV4Request.from_target("GET", "/"), now=now, **options)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expires_seconds"):
        sign_request(request, now=now, form=SignatureForm.QUERY, expires_seconds=0, **options)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsigned_payload"):
        sign_request(request, now=now, unsigned_payload=True, **options)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_request(request, now=now.replace(tzinfo=None), **options)  # type: ignore[arg-type]


# --- botocore, when installed, signs requests the verifier accepts. -------------------------


def _botocore_signed(
    service: str, url: str, *, method: str, presign: bool, body: bytes
) -> SigV4Request:
    botocore_auth = pytest.importorskip("botocore.auth")
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    credentials = Credentials("AKIABOTOCORE", "botocore-secret", "botocore-session-token")
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "text/csv"})
    if service == "s3":
        auth = (botocore_auth.S3SigV4QueryAuth if presign else botocore_auth.S3SigV4Auth)(
            credentials, service, "eu-central-1"
        )
    else:
        auth = (botocore_auth.SigV4QueryAuth if presign else botocore_auth.SigV4Auth)(
            credentials, service, "eu-central-1"
        )
    auth.add_auth(request)
    prepared = request.prepare()
    target = prepared.url.split("://", 1)[1]
    host, _, path_and_query = target.partition("/")
    headers = [("Host", host), *((k, v) for k, v in prepared.headers.items() if k != "Host")]
    return SigV4Request.from_target(method, "/" + path_and_query, headers, body)


@pytest.mark.parametrize("presign", [False, True], ids=["header", "query"])
@pytest.mark.parametrize(
    ("service", "url"),
    [
        ("s3", "https://lakevault.example.com/bucket/reports/2026/a%20b%2Bc~d.csv?tagging=x%20y"),
        ("lakevault", "https://lakevault.example.com/api/v1/a%20b/./c?b=2&a=1&a=0"),
    ],
)
def test_botocore_signed_requests_verify(service: str, url: str, presign: bool) -> None:
    # botocore's pre-signer moves a body into the query, so pre-sign a GET.
    method, body = ("GET", b"") if presign else ("PUT", b"year,total\n")
    request = _botocore_signed(service, url, method=method, presign=presign, body=body)
    amz_date = (
        request.header_values("X-Amz-Date")[0]
        if not presign
        else next(v.decode() for k, v in parse_query(request.raw_query) if k == b"X-Amz-Date")
    )
    now = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

    def lookup(access_key_id: str) -> SigningCredential[str]:
        assert access_key_id == "AKIABOTOCORE"
        return SigningCredential(
            access_key_id=access_key_id,
            secret_access_key="botocore-secret",
            principal="botocore",
            session_token="botocore-session-token",
        )

    verified = verify_sigv4(request, lookup=lookup, now=now, region="eu-central-1", service=service)
    assert verified.principal == "botocore"
    if service == "s3" and not presign:
        assert request.header_values("x-amz-content-sha256") == [hashlib.sha256(body).hexdigest()]
