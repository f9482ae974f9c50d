"""The SigV4 verifier, one named test per rule, each asserting the exact code and reason."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lakevault.core.errors import AccessDenied, InvalidInput, LakevaultError
from lakevault.identity import (
    HeadersNotSigned,
    IncompleteSignature,
    InvalidAccessKeyId,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    RequestExpired,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    SignatureForm,
    SigningCredential,
    SigV4Failure,
    SigV4Request,
    VerifiedRequest,
    XAmzContentSHA256Mismatch,
    sign_request,
    verify_sigv4,
)

NOW = datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)
KEY_ID = "AKIALAKEVAULTTEST01"
SECRET = "lakevault-test-secret/0123456789+abcdefghijklmnop"
TOKEN = "session-token-of-the-temporary-credential"
REGION = "eu-central-1"
HOST = "lakevault.example.com"


def unsigned(
    method: str = "GET", target: str = "/datasets/sales?list-type=2&prefix=2026", body: bytes = b""
) -> SigV4Request:
    return SigV4Request.from_target(
        method, target, [("Host", HOST), ("Content-Type", "application/json")], body
    )


def signed(
    request: SigV4Request | None = None,
    *,
    form: SignatureForm = SignatureForm.HEADER,
    service: str = "lakevault",
    session_token: str | None = None,
    now: datetime = NOW,
    **options: object,
) -> SigV4Request:
    return sign_request(
        unsigned() if request is None else request,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        session_token=session_token,
        region=REGION,
        service=service,
        now=now,
        form=form,
        **options,  # type: ignore[arg-type]
    ).request


class Lookup:
    """A credential store of one key that counts how often it is asked."""

    def __init__(self, *, session_token: str | None = None) -> None:
        self.calls = 0
        self.session_token = session_token

    def __call__(self, access_key_id: str) -> SigningCredential[str]:
        self.calls += 1
        if access_key_id != KEY_ID:
            raise InvalidAccessKeyId("the access key id you provided does not exist")
        return SigningCredential(
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            principal="user/alice",
            session_token=self.session_token,
        )


def verify(
    request: SigV4Request,
    *,
    service: str = "lakevault",
    now: datetime = NOW,
    lookup: Lookup | None = None,
    max_skew_seconds: int = 900,
) -> VerifiedRequest[str]:
    return verify_sigv4(
        request,
        lookup=Lookup() if lookup is None else lookup,
        now=now,
        region=REGION,
        service=service,
        max_skew_seconds=max_skew_seconds,
    )


def with_authorization(request: SigV4Request, change: Callable[[str], str]) -> SigV4Request:
    headers = tuple(
        (name, change(value) if name == "Authorization" else value)
        for name, value in request.headers
    )
    return replace(request, headers=headers)


def with_header(request: SigV4Request, name: str, value: str | None) -> SigV4Request:
    """Replace (or with ``None`` remove) every header called ``name``."""
    headers = [(n, v) for n, v in request.headers if n.lower() != name.lower()]
    if value is not None:
        headers.append((name, value))
    return replace(request, headers=tuple(headers))


def with_query(request: SigV4Request, change: Callable[[str], str]) -> SigV4Request:
    return replace(request, raw_query=change(request.raw_query))


def refused(
    error: type[LakevaultError], reason: SigV4Failure, request: SigV4Request, **options: object
) -> LakevaultError:
    with pytest.raises(error) as caught:
        verify(request, **options)  # type: ignore[arg-type]
    assert caught.value.reason is reason  # type: ignore[attr-defined]
    return caught.value


# --- Accepting ------------------------------------------------------------------------------


def test_a_signed_request_verifies_and_returns_the_principal() -> None:
    verified = verify(signed())
    assert verified.principal == "user/alice"
    assert verified.access_key_id == KEY_ID
    assert verified.scope.region == REGION
    assert verified.scope.service == "lakevault"
    assert verified.signed_headers == ("content-type", "host", "x-amz-date")
    assert verified.is_temporary_credential is False
    assert verified.is_payload_signed is True


def test_a_presigned_request_verifies_until_it_expires() -> None:
    request = signed(form=SignatureForm.QUERY, expires_seconds=600)
    verified = verify(request, now=NOW + timedelta(seconds=600))
    assert verified.form is SignatureForm.QUERY
    assert verified.expires_at == NOW + timedelta(seconds=600)
    refused(RequestExpired, SigV4Failure.EXPIRED, request, now=NOW + timedelta(seconds=601))


def test_a_presigned_request_may_last_seven_days() -> None:
    request = signed(form=SignatureForm.QUERY, expires_seconds=7 * 24 * 3600)
    verify(request, now=NOW + timedelta(days=7))


# --- Which form ----------------------------------------------------------------------------


def test_an_unsigned_request_is_missing_authentication_token() -> None:
    error = refused(MissingAuthenticationToken, SigV4Failure.NO_AUTHENTICATION, unsigned())
    assert error.code == "MissingAuthenticationToken"
    assert error.http_status == 403


def test_header_and_query_signatures_together_are_ambiguous() -> None:
    presigned = signed(form=SignatureForm.QUERY)
    header_signed = signed()
    both = replace(header_signed, raw_query=presigned.raw_query)
    refused(IncompleteSignature, SigV4Failure.AMBIGUOUS_AUTHENTICATION, both)


def test_two_authorization_headers_are_refused() -> None:
    request = signed()
    authorization = request.header_values("Authorization")[0]
    doubled = replace(request, headers=(*request.headers, ("Authorization", authorization)))
    refused(IncompleteSignature, SigV4Failure.DUPLICATE_HEADER, doubled)


# --- The Authorization header, part by part --------------------------------------------------


def test_another_algorithm_is_refused_without_echoing_the_header() -> None:
    request = with_authorization(signed(), lambda v: "Bearer eyJhbGciOiJFUzI1NiJ9.secret")
    error = refused(IncompleteSignature, SigV4Failure.UNSUPPORTED_ALGORITHM, request)
    assert "eyJhbGciOiJFUzI1NiJ9" not in error.message
    assert error.code == "IncompleteSignature"
    assert error.http_status == 400


def test_sigv4a_is_refused() -> None:
    request = with_authorization(
        signed(), lambda v: v.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")
    )
    refused(IncompleteSignature, SigV4Failure.UNSUPPORTED_ALGORITHM, request)


def test_a_component_without_equals_sign_is_refused() -> None:
    request = with_authorization(signed(), lambda v: v + ", Junk")
    error = refused(IncompleteSignature, SigV4Failure.MALFORMED_AUTHORIZATION, request)
    assert "component 4" in error.message


def test_an_unknown_component_is_refused() -> None:
    request = with_authorization(signed(), lambda v: v + ", Policy=abc")
    refused(IncompleteSignature, SigV4Failure.MALFORMED_AUTHORIZATION, request)


def test_a_repeated_component_is_refused() -> None:
    request = with_authorization(signed(), lambda v: v + ", SignedHeaders=host")
    error = refused(IncompleteSignature, SigV4Failure.DUPLICATE_COMPONENT, request)
    assert "SignedHeaders" in error.message


@pytest.mark.parametrize(
    ("component", "reason"),
    [
        ("Credential", SigV4Failure.MISSING_CREDENTIAL),
        ("SignedHeaders", SigV4Failure.MISSING_SIGNED_HEADERS),
        ("Signature", SigV4Failure.MISSING_SIGNATURE),
    ],
)
def test_a_missing_component_is_named(component: str, reason: SigV4Failure) -> None:
    def drop(value: str) -> str:
        algorithm, _, rest = value.partition(" ")
        kept = [c for c in rest.split(", ") if not c.startswith(component + "=")]
        return f"{algorithm} {', '.join(kept)}"

    error = refused(IncompleteSignature, reason, with_authorization(signed(), drop))
    assert component in error.message


@pytest.mark.parametrize(
    "credential",
    [
        f"{KEY_ID}/20261129/{REGION}/lakevault",
        f"{KEY_ID}/20261129/{REGION}/lakevault/aws4_request/extra",
        "/20261129/eu-central-1/lakevault/aws4_request",
        "AKIA WITH SPACE/20261129/eu-central-1/lakevault/aws4_request",
        f"{'A' * 129}/20261129/eu-central-1/lakevault/aws4_request",
        f"{KEY_ID}/2026-11-29/{REGION}/lakevault/aws4_request",
        f"{KEY_ID}/20261129//lakevault/aws4_request",
        f"{KEY_ID}/20261129/{REGION}//aws4_request",
    ],
    ids=[
        "four-parts",
        "six-parts",
        "empty-key-id",
        "space-in-key-id",
        "key-id-too-long",
        "date-with-dashes",
        "empty-region",
        "empty-service",
    ],
)
def test_a_malformed_credential_is_refused(credential: str) -> None:
    request = with_authorization(
        signed(), lambda v: re.sub(r"Credential=[^,]*", f"Credential={credential}", v)
    )
    refused(IncompleteSignature, SigV4Failure.MALFORMED_CREDENTIAL, request)


def test_a_scope_not_ending_in_aws4_request_is_refused() -> None:
    request = with_authorization(signed(), lambda v: v.replace("/aws4_request", "/aws5_request"))
    refused(IncompleteSignature, SigV4Failure.SCOPE_TERMINATOR, request)


@pytest.mark.parametrize(
    "signed_headers",
    [
        "",
        "host;;x-amz-date",
        "x-amz-date;host",
        "Host;x-amz-date",
        "host;host;x-amz-date",
        "host x",
    ],
    ids=["empty", "empty-name", "unsorted", "upper-case", "repeated", "space"],
)
def test_malformed_signed_headers_are_refused(signed_headers: str) -> None:
    request = with_authorization(
        signed(), lambda v: re.sub(r"SignedHeaders=[^,]*", f"SignedHeaders={signed_headers}", v)
    )
    refused(IncompleteSignature, SigV4Failure.MALFORMED_SIGNED_HEADERS, request)


@pytest.mark.parametrize(
    "signature",
    ["", "abc", "0" * 63, "0" * 65, "G" * 64, "A" * 64],
    ids=["empty", "short", "63-digits", "65-digits", "not-hex", "upper-case"],
)
def test_a_malformed_signature_is_refused(signature: str) -> None:
    request = with_authorization(
        signed(), lambda v: re.sub(r"Signature=[0-9a-f]*", f"Signature={signature}", v)
    )
    refused(IncompleteSignature, SigV4Failure.MALFORMED_SIGNATURE, request)


def test_a_missing_x_amz_date_is_refused() -> None:
    request = with_header(signed(), "X-Amz-Date", None)
    refused(IncompleteSignature, SigV4Failure.MISSING_DATE, request)


@pytest.mark.parametrize(
    "amz_date",
    ["2026-11-29T08:00:00Z", "20261129T080000", "20261329T080000Z", "20261129T246000Z", "x"],
    ids=["iso-8601-extended", "no-zulu", "month-13", "hour-24", "junk"],
)
def test_a_malformed_x_amz_date_is_refused(amz_date: str) -> None:
    request = with_header(signed(), "X-Amz-Date", amz_date)
    refused(IncompleteSignature, SigV4Failure.MALFORMED_DATE, request)


def test_two_x_amz_date_headers_are_refused() -> None:
    request = signed()
    doubled = replace(request, headers=(*request.headers, ("X-Amz-Date", "20261129T080000Z")))
    refused(IncompleteSignature, SigV4Failure.DUPLICATE_HEADER, doubled)


# --- The credential scope ------------------------------------------------------------------


def test_a_scope_date_other_than_the_x_amz_date_is_refused() -> None:
    request = with_authorization(signed(), lambda v: v.replace("/20261129/", "/20261128/"))
    error = refused(SignatureDoesNotMatch, SigV4Failure.SCOPE_DATE_MISMATCH, request)
    assert error.code == "SignatureDoesNotMatch"
    assert error.http_status == 403


def test_a_signature_for_another_region_is_refused() -> None:
    request = with_authorization(signed(), lambda v: v.replace(REGION, "us-east-1"))
    error = refused(SignatureDoesNotMatch, SigV4Failure.SCOPE_REGION_MISMATCH, request)
    assert REGION in error.message


def test_a_signature_for_another_service_is_not_replayable() -> None:
    request = signed(service="sts")
    error = refused(SignatureDoesNotMatch, SigV4Failure.SCOPE_SERVICE_MISMATCH, request)
    assert "'lakevault'" in error.message
    verify(request, service="sts")


# --- Which headers are signed --------------------------------------------------------------


def test_a_request_without_host_is_refused() -> None:
    request = with_header(signed(), "Host", None)
    refused(IncompleteSignature, SigV4Failure.MISSING_HOST, request)


def test_two_host_headers_are_refused() -> None:
    request = signed()
    doubled = replace(request, headers=(*request.headers, ("Host", "evil.example.com")))
    refused(IncompleteSignature, SigV4Failure.DUPLICATE_HEADER, doubled)


def test_host_must_be_signed() -> None:
    request = signed(unsigned_header_names=frozenset({"host", "authorization"}))
    error = refused(HeadersNotSigned, SigV4Failure.HOST_NOT_SIGNED, request)
    assert error.code == "AccessDenied"
    assert error.http_status == 403


def test_every_x_amz_header_must_be_signed() -> None:
    request = signed()
    added = replace(request, headers=(*request.headers, ("X-Amz-Meta-Owner", "mallory")))
    error = refused(HeadersNotSigned, SigV4Failure.HEADERS_NOT_SIGNED, added)
    assert "x-amz-meta-owner" in error.message
    assert "mallory" not in error.message


def test_x_amz_headers_must_be_signed_in_presigned_requests_too() -> None:
    request = signed(form=SignatureForm.QUERY)
    added = replace(request, headers=(*request.headers, ("x-amz-acl", "public-read")))
    refused(HeadersNotSigned, SigV4Failure.HEADERS_NOT_SIGNED, added)


def test_a_signed_header_must_be_present() -> None:
    request = with_header(signed(), "Content-Type", None)
    error = refused(SignatureDoesNotMatch, SigV4Failure.SIGNED_HEADER_ABSENT, request)
    assert "content-type" in error.message


def test_an_unsigned_header_other_than_x_amz_may_be_added() -> None:
    request = signed()
    verify(replace(request, headers=(*request.headers, ("User-Agent", "curl/8"))))


# --- Time ----------------------------------------------------------------------------------


def test_clock_skew_is_fifteen_minutes_either_way() -> None:
    request = signed()
    verify(request, now=NOW + timedelta(seconds=900))
    verify(request, now=NOW - timedelta(seconds=900))
    error = refused(
        RequestTimeTooSkewed,
        SigV4Failure.TIME_TOO_SKEWED,
        request,
        now=NOW + timedelta(seconds=901),
    )
    assert error.code == "RequestTimeTooSkewed"
    assert "20261129T080000Z" in error.message
    refused(
        RequestTimeTooSkewed,
        SigV4Failure.TIME_TOO_SKEWED,
        request,
        now=NOW - timedelta(seconds=901),
    )


def test_the_allowed_skew_is_a_parameter() -> None:
    request = signed()
    verify(request, max_skew_seconds=0)
    refused(
        RequestTimeTooSkewed,
        SigV4Failure.TIME_TOO_SKEWED,
        request,
        now=NOW + timedelta(seconds=1),
        max_skew_seconds=0,
    )


def test_a_presigned_request_from_the_future_is_refused() -> None:
    request = signed(form=SignatureForm.QUERY, now=NOW + timedelta(seconds=901))
    refused(RequestTimeTooSkewed, SigV4Failure.TIME_TOO_SKEWED, request)


def test_an_expired_presigned_request_names_its_expiry() -> None:
    request = signed(form=SignatureForm.QUERY, expires_seconds=60)
    error = refused(RequestExpired, SigV4Failure.EXPIRED, request, now=NOW + timedelta(seconds=61))
    assert error.code == "RequestExpired"
    assert "20261129T080100Z" in error.message


def test_the_time_is_checked_before_the_credential_store_is_asked() -> None:
    lookup = Lookup()
    with pytest.raises(RequestTimeTooSkewed):
        verify(signed(), now=NOW + timedelta(hours=1), lookup=lookup)
    assert lookup.calls == 0


def test_a_naive_now_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(signed(), now=NOW.replace(tzinfo=None))


def test_a_streamed_body_without_its_hash_is_a_caller_bug() -> None:
    request = replace(signed(unsigned("PUT", "/datasets/sales", b"rows")), body=None)
    with pytest.raises(ValueError, match="payload_sha256"):
        verify(request)
    verify(replace(request, payload_sha256=hashlib.sha256(b"rows").hexdigest()))


def test_a_negative_skew_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="max_skew_seconds"):
        verify(signed(), max_skew_seconds=-1)


# --- The pre-signed query, part by part ------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "reason"),
    [
        ("X-Amz-Credential", SigV4Failure.MISSING_CREDENTIAL),
        ("X-Amz-Date", SigV4Failure.MISSING_DATE),
        ("X-Amz-Expires", SigV4Failure.MISSING_EXPIRES),
        ("X-Amz-SignedHeaders", SigV4Failure.MISSING_SIGNED_HEADERS),
        ("X-Amz-Signature", SigV4Failure.MISSING_SIGNATURE),
        ("X-Amz-Algorithm", SigV4Failure.MISSING_ALGORITHM),
    ],
)
def test_a_missing_query_parameter_is_named(parameter: str, reason: SigV4Failure) -> None:
    request = with_query(
        signed(form=SignatureForm.QUERY),
        lambda q: "&".join(p for p in q.split("&") if not p.startswith(parameter + "=")),
    )
    error = refused(IncompleteSignature, reason, request)
    assert parameter in error.message


def test_a_repeated_query_parameter_is_refused() -> None:
    request = with_query(signed(form=SignatureForm.QUERY), lambda q: q + "&X-Amz-Expires=60")
    error = refused(IncompleteSignature, SigV4Failure.DUPLICATE_PARAMETER, request)
    assert "X-Amz-Expires" in error.message


def test_another_query_algorithm_is_refused() -> None:
    request = with_query(
        signed(form=SignatureForm.QUERY),
        lambda q: q.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
    )
    refused(IncompleteSignature, SigV4Failure.UNSUPPORTED_ALGORITHM, request)


@pytest.mark.parametrize(
    ("expires", "reason"),
    [
        ("soon", SigV4Failure.MALFORMED_EXPIRES),
        ("-5", SigV4Failure.MALFORMED_EXPIRES),
        ("3.5", SigV4Failure.MALFORMED_EXPIRES),
        ("99999999999", SigV4Failure.MALFORMED_EXPIRES),
        ("0", SigV4Failure.EXPIRES_OUT_OF_RANGE),
        ("604801", SigV4Failure.EXPIRES_OUT_OF_RANGE),
    ],
)
def test_a_bad_expiry_is_refused(expires: str, reason: SigV4Failure) -> None:
    request = with_query(
        signed(form=SignatureForm.QUERY),
        lambda q: re.sub(r"X-Amz-Expires=\d+", f"X-Amz-Expires={expires}", q),
    )
    refused(IncompleteSignature, reason, request)


def test_a_credential_that_is_not_utf8_is_refused() -> None:
    request = with_query(
        signed(form=SignatureForm.QUERY),
        lambda q: re.sub(r"X-Amz-Credential=[^&]*", "X-Amz-Credential=%FF%FE", q),
    )
    refused(IncompleteSignature, SigV4Failure.MALFORMED_CREDENTIAL, request)


def test_the_signature_of_a_presigned_request_is_checked() -> None:
    request = signed(form=SignatureForm.QUERY)
    found = re.search(r"X-Amz-Signature=([0-9a-f]{64})", request.raw_query)
    assert found is not None
    signature = found.group(1)
    flipped = ("1" if signature[0] == "0" else "0") + signature[1:]
    mutated = with_query(request, lambda q: q.replace(signature, flipped))
    refused(SignatureDoesNotMatch, SigV4Failure.SIGNATURE_MISMATCH, mutated)


# --- Keys, signatures and session tokens --------------------------------------------------


def test_an_unknown_access_key_id_comes_from_the_lookup() -> None:
    request = with_authorization(signed(), lambda v: v.replace(KEY_ID, "AKIAUNKNOWN"))
    error = refused(InvalidAccessKeyId, SigV4Failure.UNKNOWN_ACCESS_KEY, request)
    assert error.code == "InvalidAccessKeyId"
    assert error.http_status == 403


def test_malformed_requests_never_reach_the_credential_store() -> None:
    lookup = Lookup()
    with pytest.raises(IncompleteSignature):
        verify(with_header(signed(), "X-Amz-Date", "junk"), lookup=lookup)
    with pytest.raises(SignatureDoesNotMatch):
        verify(signed(service="sts"), lookup=lookup)
    assert lookup.calls == 0


def test_a_wrong_signature_never_reveals_the_expected_one() -> None:
    request = signed()
    expected = re.search(r"Signature=([0-9a-f]{64})", request.header_values("Authorization")[0])
    assert expected is not None
    wrong_secret = sign_request(
        unsigned(),
        access_key_id=KEY_ID,
        secret_access_key="not-the-secret",
        region=REGION,
        service="lakevault",
        now=NOW,
    ).request
    error = refused(SignatureDoesNotMatch, SigV4Failure.SIGNATURE_MISMATCH, wrong_secret)
    assert expected.group(1) not in error.message
    assert expected.group(1) not in repr(error)
    assert SECRET not in error.message


def test_a_temporary_credential_needs_its_session_token() -> None:
    request = signed()
    lookup = Lookup(session_token=TOKEN)
    refused(InvalidClientTokenId, SigV4Failure.SESSION_TOKEN_MISSING, request, lookup=lookup)


def test_a_wrong_session_token_is_refused() -> None:
    request = signed(session_token="another-" + TOKEN)
    lookup = Lookup(session_token=TOKEN)
    error = refused(
        InvalidClientTokenId, SigV4Failure.SESSION_TOKEN_MISMATCH, request, lookup=lookup
    )
    assert error.code == "InvalidClientTokenId"
    assert TOKEN not in error.message


def test_a_session_token_with_a_long_term_key_is_refused() -> None:
    request = signed(session_token=TOKEN)
    refused(InvalidClientTokenId, SigV4Failure.SESSION_TOKEN_UNEXPECTED, request)


@pytest.mark.parametrize("form", list(SignatureForm), ids=lambda f: f.value)
def test_a_temporary_credential_verifies_with_its_token(form: SignatureForm) -> None:
    request = signed(form=form, session_token=TOKEN)
    verified = verify(request, lookup=Lookup(session_token=TOKEN))
    assert verified.is_temporary_credential is True


def test_an_unsigned_session_token_header_is_refused() -> None:
    request = signed(session_token=TOKEN, sign_session_token=False)
    refused(
        HeadersNotSigned,
        SigV4Failure.HEADERS_NOT_SIGNED,
        request,
        lookup=Lookup(session_token=TOKEN),
    )


# --- S3 rules ------------------------------------------------------------------------------


def s3_request(body: bytes = b"hello, lakevault") -> SigV4Request:
    return SigV4Request.from_target(
        "PUT", "/bucket/reports/2026/a%20b+c.csv", [("Host", HOST)], body
    )


def test_s3_signs_the_body_hash_in_x_amz_content_sha256() -> None:
    request = signed(s3_request(), service="s3")
    assert request.header_values("x-amz-content-sha256") == [
        hashlib.sha256(b"hello, lakevault").hexdigest()
    ]
    verified = verify(request, service="s3")
    assert verified.is_payload_signed is True
    assert verified.unchecked_payload_sha256 is None


def test_s3_refuses_a_body_that_does_not_match_its_hash() -> None:
    request = replace(signed(s3_request(), service="s3"), body=b"tampered")
    error = refused(
        XAmzContentSHA256Mismatch, SigV4Failure.CONTENT_SHA256_MISMATCH, request, service="s3"
    )
    assert error.code == "XAmzContentSHA256Mismatch"
    assert error.http_status == 400


def test_s3_hands_a_streamed_body_hash_to_the_face() -> None:
    request = replace(signed(s3_request(), service="s3"), body=None)
    verified = verify(request, service="s3")
    assert verified.unchecked_payload_sha256 == hashlib.sha256(b"hello, lakevault").hexdigest()


def test_s3_checks_a_streamed_body_hash_the_face_computed() -> None:
    request = replace(signed(s3_request(), service="s3"), body=None, payload_sha256="0" * 64)
    refused(XAmzContentSHA256Mismatch, SigV4Failure.CONTENT_SHA256_MISMATCH, request, service="s3")


def test_s3_accepts_unsigned_payload() -> None:
    request = signed(s3_request(), service="s3", unsigned_payload=True)
    verified = verify(replace(request, body=b"anything at all"), service="s3")
    assert verified.is_payload_signed is False


def test_s3_header_form_needs_x_amz_content_sha256() -> None:
    request = signed(s3_request(), service="s3")
    # Remove the header and its name from SignedHeaders, so that only its absence is wrong.
    request = with_header(request, "x-amz-content-sha256", None)
    request = with_authorization(request, lambda v: v.replace("x-amz-content-sha256;", ""))
    refused(IncompleteSignature, SigV4Failure.MISSING_CONTENT_SHA256, request, service="s3")


def test_a_streaming_payload_without_its_decoded_length_is_refused() -> None:
    # Streaming uploads are verified chunk by chunk (test_sigv4_chunked.py); the object's size
    # must be declared, signed, in x-amz-decoded-content-length.
    request = SigV4Request.from_target(
        "PUT",
        "/bucket/key",
        [("Host", HOST), ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")],
    )
    error = refused(
        IncompleteSignature,
        SigV4Failure.MISSING_DECODED_LENGTH,
        signed(request, service="s3"),
        service="s3",
    )
    assert "x-amz-decoded-content-length" in error.message


def test_s3_presigned_requests_sign_unsigned_payload() -> None:
    request = signed(s3_request(), service="s3", form=SignatureForm.QUERY)
    verified = verify(replace(request, body=b"any body"), service="s3")
    assert verified.is_payload_signed is False


def test_s3_does_not_normalise_the_path() -> None:
    request = signed(
        SigV4Request.from_target("GET", "/bucket/a/../b", [("Host", HOST)]), service="s3"
    )
    verify(request, service="s3")
    refused(
        SignatureDoesNotMatch,
        SigV4Failure.SIGNATURE_MISMATCH,
        replace(request, raw_path="/bucket/b"),
        service="s3",
    )


def test_other_services_normalise_the_path() -> None:
    request = signed(SigV4Request.from_target("GET", "/a/./b/../c", [("Host", HOST)]))
    verify(replace(request, raw_path="/a/c"))


# --- The error tree --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "parent", "code", "status"),
    [
        (IncompleteSignature, InvalidInput, "IncompleteSignature", 400),
        (XAmzContentSHA256Mismatch, InvalidInput, "XAmzContentSHA256Mismatch", 400),
        (MissingAuthenticationToken, AccessDenied, "MissingAuthenticationToken", 403),
        (InvalidAccessKeyId, AccessDenied, "InvalidAccessKeyId", 403),
        (InvalidClientTokenId, AccessDenied, "InvalidClientTokenId", 403),
        (SignatureDoesNotMatch, AccessDenied, "SignatureDoesNotMatch", 403),
        (HeadersNotSigned, AccessDenied, "AccessDenied", 403),
        (RequestTimeTooSkewed, AccessDenied, "RequestTimeTooSkewed", 403),
        (RequestExpired, AccessDenied, "RequestExpired", 403),
    ],
)
def test_each_error_has_its_aws_code_and_status(
    error: type[LakevaultError], parent: type[LakevaultError], code: str, status: int
) -> None:
    assert issubclass(error, parent)
    instance = error("message")
    assert (instance.code, instance.http_status) == (code, status)
    assert isinstance(instance.reason, SigV4Failure)  # type: ignore[attr-defined]
