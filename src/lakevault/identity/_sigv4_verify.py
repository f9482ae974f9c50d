"""Verifying AWS Signature Version 4 requests, in the header or the pre-signed query form.

The verifier is pure: the caller passes the time, the expected region and service, and a
``lookup`` that turns an access key id into a :class:`SigningCredential` (raising
``InvalidAccessKeyId`` for an unknown, inactive or deleted key).

It checks, cheapest first, so that junk never reaches the credential store:

1. the form: an ``Authorization`` header or ``X-Amz-*`` query parameters, never both;
2. every part parses: algorithm, credential, signed headers, signature, date, expiry;
3. the credential scope: its date is the date of ``X-Amz-Date``, its region and service are the
   ones this endpoint serves, it ends in ``aws4_request``;
4. ``host`` and every ``x-amz-*`` header present are signed, and every signed header is present;
5. the time: ``X-Amz-Date`` within ``max_skew_seconds`` of ``now``; a pre-signed request not
   used after ``X-Amz-Date`` + ``X-Amz-Expires`` (at most 7 days);
6. the secret, through ``lookup``; the recomputed signature equals the given one
   (``hmac.compare_digest``); then the session token equals the credential's, timing-safe;
7. under S3 rules, a buffered body hashes to ``x-amz-content-sha256``; a streaming upload
   (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, any service) gets its ``chunk_context``, from which
   the face verifies each chunk as the body streams (``_sigv4_chunked``).

Each failure raises the error AWS answers with (see ``_errors``) and a precise ``reason``.
No message carries a secret, a token, the ``Authorization`` value or the expected signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from lakevault.identity._errors import (
    HeadersNotSigned,
    IncompleteSignature,
    InvalidClientTokenId,
    RequestExpired,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    SigV4Failure,
    StreamingPayloadNotImplemented,
    XAmzContentSHA256Mismatch,
)
from lakevault.identity._sigv4_canonical import (
    CONTENT_SHA256_HEADER,
    UNSIGNED_PAYLOAD,
    CredentialScope,
    SignatureForm,
    SigningRules,
    SigV4Request,
    compute_signature,
    derive_signing_key,
    group_headers,
    hash_payload,
    rules_for_service,
)
from lakevault.identity._sigv4_chunked import (
    STREAMING_PAYLOAD,
    UNSUPPORTED_STREAMING_PAYLOADS,
    ChunkSigningContext,
)
from lakevault.identity._sigv4_parse import ParsedSignature, parse_signature, single_header

PrincipalReference = TypeVar("PrincipalReference")

DEFAULT_MAX_SKEW_SECONDS = 900

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SigningCredential(Generic[PrincipalReference]):
    """What a credential lookup returns: the secret and what the caller wants back.

    ``principal`` is opaque to the verifier (a principal, an id, a key record) and comes back in
    :class:`VerifiedRequest`. ``session_token`` is set for temporary credentials: the request's
    ``X-Amz-Security-Token`` must then equal it. The ``repr`` masks the secret and the token,
    and equality is identity, so that no code compares secrets with ``==``.
    """

    access_key_id: str
    secret_access_key: str
    principal: PrincipalReference
    session_token: str | None = None

    def __repr__(self) -> str:
        token = "None" if self.session_token is None else "'[secure]'"
        return (
            f"SigningCredential(access_key_id={self.access_key_id!r}, "
            f"secret_access_key='[secure]', principal={self.principal!r}, "
            f"session_token={token})"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedRequest(Generic[PrincipalReference]):
    """A request whose signature verified, and what the signature vouches for.

    ``unchecked_payload_sha256`` is set only when the body was streamed (``body=None``) under S3
    rules and ``x-amz-content-sha256`` names a hash: the face must hash the body as it reads it
    and refuse the request if the digest differs. ``is_payload_signed`` is false for
    ``UNSIGNED-PAYLOAD``.
    """

    principal: PrincipalReference
    access_key_id: str
    form: SignatureForm
    scope: CredentialScope
    signed_at: datetime
    expires_at: datetime | None
    signed_headers: tuple[str, ...]
    is_temporary_credential: bool
    is_payload_signed: bool
    unchecked_payload_sha256: str | None = None
    chunk_context: ChunkSigningContext | None = None


def verify_sigv4(
    request: SigV4Request,
    *,
    lookup: Callable[[str], SigningCredential[PrincipalReference]],
    now: datetime,
    region: str,
    service: str,
    max_skew_seconds: int = DEFAULT_MAX_SKEW_SECONDS,
    rules: SigningRules | None = None,
) -> VerifiedRequest[PrincipalReference]:
    """Verify the SigV4 signature of ``request`` as of ``now``; return what it vouches for.

    ``region`` and ``service`` are the ones this endpoint serves: a signature scoped to another
    is refused, so a signature made for one service cannot be replayed on another. ``rules``
    default to the service's (S3's or the general ones). ``lookup`` is called once, after every
    check that needs no secret, and its errors (``InvalidAccessKeyId``, an unavailable store)
    propagate unchanged.

    Raises ``MissingAuthenticationToken``, ``IncompleteSignature``, ``SignatureDoesNotMatch``,
    ``HeadersNotSigned``, ``RequestTimeTooSkewed``, ``RequestExpired``,
    ``InvalidClientTokenId`` or ``XAmzContentSHA256Mismatch``, each with a ``reason``.
    Raises ``ValueError`` for caller bugs: a naive ``now``, a negative ``max_skew_seconds``, or
    a streamed body (``body=None``) without ``payload_sha256`` for a service that signs it.
    """
    if now.tzinfo is None:
        raise ValueError("verify_sigv4: now must be timezone-aware (use datetime.now(UTC))")
    if max_skew_seconds < 0:
        raise ValueError(f"verify_sigv4: max_skew_seconds must be >= 0, got {max_skew_seconds}")
    rules = rules_for_service(service) if rules is None else rules
    grouped = group_headers(request.headers)
    parsed = parse_signature(request, grouped)
    _check_scope(parsed, region=region, service=service)
    _check_signed_headers(parsed, grouped)
    expires_at = _check_time(parsed, now=now, max_skew_seconds=max_skew_seconds)
    decoded_length = _streaming_decoded_length(parsed, grouped)
    declared_payload_hash = (
        STREAMING_PAYLOAD
        if decoded_length is not None
        else _declared_payload_hash(parsed, grouped, rules)
    )

    credential = lookup(parsed.access_key_id)
    payload_hash = (
        declared_payload_hash
        if rules.is_payload_hash_in_header or decoded_length is not None
        else hash_payload(request)
    )
    scope = CredentialScope(date=parsed.scope_date, region=region, service=service)
    expected = compute_signature(
        request,
        rules=rules,
        query_pairs=parsed.signed_query_pairs(),
        grouped_headers=grouped,
        signed_headers=parsed.signed_headers,
        payload_hash=payload_hash,
        amz_date=parsed.amz_date,
        scope=scope,
        secret_access_key=credential.secret_access_key,
    ).signature
    if not hmac.compare_digest(expected.encode("ascii"), parsed.signature.encode("ascii")):
        raise SignatureDoesNotMatch(
            "the request signature we calculated does not match the signature you provided; "
            "check your secret access key and signing method",
            reason=SigV4Failure.SIGNATURE_MISMATCH,
        )
    _check_session_token(parsed.session_token, credential.session_token)
    chunk_context = None
    unchecked_payload_sha256 = None
    if decoded_length is not None:
        chunk_context = ChunkSigningContext(
            signing_key=derive_signing_key(
                credential.secret_access_key, scope.date, scope.region, scope.service
            ),
            amz_date=parsed.amz_date,
            scope=scope,
            seed_signature=parsed.signature,
            decoded_length=decoded_length,
        )
    else:
        unchecked_payload_sha256 = _check_payload(request, declared_payload_hash, rules)
    return VerifiedRequest(
        principal=credential.principal,
        access_key_id=parsed.access_key_id,
        form=parsed.form,
        scope=scope,
        signed_at=parsed.signed_at,
        expires_at=expires_at,
        signed_headers=parsed.signed_headers,
        is_temporary_credential=credential.session_token is not None,
        is_payload_signed=payload_hash != UNSIGNED_PAYLOAD,
        unchecked_payload_sha256=unchecked_payload_sha256,
        chunk_context=chunk_context,
    )


# --- Checks that need no secret --------------------------------------------------------------


def _check_scope(parsed: ParsedSignature, *, region: str, service: str) -> None:
    if parsed.scope_date != parsed.amz_date[:8]:
        raise SignatureDoesNotMatch(
            "the date in the Credential scope does not match the date of X-Amz-Date",
            reason=SigV4Failure.SCOPE_DATE_MISMATCH,
        )
    if parsed.scope_region != region:
        raise SignatureDoesNotMatch(
            f"the Credential should be scoped to the region {region!r}",
            reason=SigV4Failure.SCOPE_REGION_MISMATCH,
        )
    if parsed.scope_service != service:
        raise SignatureDoesNotMatch(
            f"the Credential should be scoped to the service {service!r}",
            reason=SigV4Failure.SCOPE_SERVICE_MISMATCH,
        )


def _check_signed_headers(parsed: ParsedSignature, grouped: dict[str, list[str]]) -> None:
    if "host" not in grouped:
        raise IncompleteSignature(
            "the request has no Host header", reason=SigV4Failure.MISSING_HOST
        )
    if len(grouped["host"]) > 1:
        raise IncompleteSignature(
            "the request has more than one Host header; send exactly one",
            reason=SigV4Failure.DUPLICATE_HEADER,
        )
    signed = set(parsed.signed_headers)
    if "host" not in signed:
        raise HeadersNotSigned(
            "the host header must be signed: add it to SignedHeaders",
            reason=SigV4Failure.HOST_NOT_SIGNED,
        )
    unsigned = sorted(name for name in grouped if name.startswith("x-amz-") and name not in signed)
    if unsigned:
        raise HeadersNotSigned(
            "there were headers present in the request which were not signed: "
            + ", ".join(unsigned),
            reason=SigV4Failure.HEADERS_NOT_SIGNED,
        )
    for name in parsed.signed_headers:
        if name not in grouped:
            raise SignatureDoesNotMatch(
                f"the signed header {name!r} is not present in the request",
                reason=SigV4Failure.SIGNED_HEADER_ABSENT,
            )


def _check_time(
    parsed: ParsedSignature, *, now: datetime, max_skew_seconds: int
) -> datetime | None:
    """Return when a pre-signed request expires; raise if ``now`` is outside its window."""
    skew = timedelta(seconds=max_skew_seconds)
    ahead = parsed.signed_at - now
    if ahead > skew or (parsed.expires_seconds is None and -ahead > skew):
        raise RequestTimeTooSkewed(
            f"the difference between the request time ({parsed.amz_date}) and the server "
            f"time ({now.astimezone(UTC):%Y%m%dT%H%M%SZ}) is more than {max_skew_seconds} "
            "seconds; correct the client's clock",
            reason=SigV4Failure.TIME_TOO_SKEWED,
        )
    if parsed.expires_seconds is None:
        return None
    expires_at = parsed.signed_at + timedelta(seconds=parsed.expires_seconds)
    if now > expires_at:
        raise RequestExpired(
            f"the pre-signed request expired at {expires_at:%Y%m%dT%H%M%SZ} (X-Amz-Date + "
            f"X-Amz-Expires); the server time is {now.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            reason=SigV4Failure.EXPIRED,
        )
    return expires_at


def _streaming_decoded_length(parsed: ParsedSignature, grouped: dict[str, list[str]]) -> int | None:
    """For a streaming upload (``x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD``),
    the decoded body length from ``x-amz-decoded-content-length``; else ``None``.

    Accepted whatever the service's rules, because the body is verified chunk by chunk
    (``_sigv4_chunked``); the other ``STREAMING-*`` forms are refused as not implemented.
    """
    declared = single_header(grouped, CONTENT_SHA256_HEADER, "x-amz-content-sha256")
    if declared is None or not declared.startswith("STREAMING-"):
        return None
    if declared in UNSUPPORTED_STREAMING_PAYLOADS:
        raise StreamingPayloadNotImplemented(
            f"x-amz-content-sha256: {declared} is not implemented; sign the chunks with "
            f"{STREAMING_PAYLOAD}, or send the body's SHA-256 or UNSIGNED-PAYLOAD"
        )
    if declared != STREAMING_PAYLOAD:
        raise IncompleteSignature(
            "x-amz-content-sha256 names an unknown streaming payload form",
            reason=SigV4Failure.MALFORMED_CONTENT_SHA256,
        )
    if parsed.form is SignatureForm.QUERY:
        raise IncompleteSignature(
            "a streaming (aws-chunked) upload must be signed in the Authorization header, "
            "not pre-signed",
            reason=SigV4Failure.MALFORMED_CONTENT_SHA256,
        )
    length = single_header(grouped, "x-amz-decoded-content-length", "x-amz-decoded-content-length")
    if length is None or not length.isascii() or not length.isdigit() or len(length) > 19:
        raise IncompleteSignature(
            "a streaming (aws-chunked) upload must send x-amz-decoded-content-length: the "
            "object's size in bytes",
            reason=SigV4Failure.MISSING_DECODED_LENGTH,
        )
    return int(length)


def _declared_payload_hash(
    parsed: ParsedSignature, grouped: dict[str, list[str]], rules: SigningRules
) -> str:
    """Under S3 rules, the payload hash from ``x-amz-content-sha256``; else ``""``."""
    if not rules.is_payload_hash_in_header:
        return ""
    declared = single_header(grouped, CONTENT_SHA256_HEADER, "x-amz-content-sha256")
    if declared is None:
        if parsed.form is SignatureForm.QUERY:
            return UNSIGNED_PAYLOAD
        raise IncompleteSignature(
            "the request has no x-amz-content-sha256 header; send the body's hex SHA-256 "
            "or UNSIGNED-PAYLOAD",
            reason=SigV4Failure.MISSING_CONTENT_SHA256,
        )
    if declared != UNSIGNED_PAYLOAD and not _SHA256_HEX.fullmatch(declared):
        raise IncompleteSignature(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD "
            "or a lower-case hex SHA-256",
            reason=SigV4Failure.MALFORMED_CONTENT_SHA256,
        )
    return declared


# --- Checks after the signature ---------------------------------------------------------------


def _check_session_token(given: str | None, expected: str | None) -> None:
    if expected is None:
        if given is not None:
            raise InvalidClientTokenId(
                "the request carries X-Amz-Security-Token but its access key is a long-term "
                "key; remove the token",
                reason=SigV4Failure.SESSION_TOKEN_UNEXPECTED,
            )
        return
    if given is None:
        raise InvalidClientTokenId(
            "the access key is a temporary credential: send its session token as "
            "X-Amz-Security-Token",
            reason=SigV4Failure.SESSION_TOKEN_MISSING,
        )
    if not hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    ):
        raise InvalidClientTokenId(
            "the security token included in the request is invalid",
            reason=SigV4Failure.SESSION_TOKEN_MISMATCH,
        )


def _check_payload(request: SigV4Request, declared: str, rules: SigningRules) -> str | None:
    """Check a buffered body against ``x-amz-content-sha256``; return the hash left to check."""
    if not rules.is_payload_hash_in_header or declared == UNSIGNED_PAYLOAD:
        return None
    actual = (
        hashlib.sha256(request.body).hexdigest()
        if request.body is not None
        else request.payload_sha256
    )
    if actual is None:
        return declared
    if not hmac.compare_digest(actual.encode("ascii"), declared.encode("ascii")):
        raise XAmzContentSHA256Mismatch(
            "the body's SHA-256 does not match the x-amz-content-sha256 header",
            reason=SigV4Failure.CONTENT_SHA256_MISMATCH,
        )
    return None
