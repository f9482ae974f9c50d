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
7. under S3 rules, a buffered body hashes to ``x-amz-content-sha256``.

Each failure raises the error AWS answers with (see ``_errors``) and a precise ``reason``.
No message carries a secret, a token, the ``Authorization`` value or the expected signature.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from lakevault.identity._errors import (
    HeadersNotSigned,
    IncompleteSignature,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    RequestExpired,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    SigV4Failure,
    XAmzContentSHA256Mismatch,
)
from lakevault.identity._sigv4_canonical import (
    ALGORITHM,
    CONTENT_SHA256_HEADER,
    SCOPE_TERMINATOR,
    UNSIGNED_PAYLOAD,
    CredentialScope,
    SignatureForm,
    SigningRules,
    SigV4Request,
    compute_signature,
    group_headers,
    hash_payload,
    parse_query,
    rules_for_service,
)
from lakevault.identity._sigv4_sign import MAX_EXPIRES_SECONDS

PrincipalReference = TypeVar("PrincipalReference")

DEFAULT_MAX_SKEW_SECONDS = 900

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_SCOPE_DATE = re.compile(r"\d{8}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_ACCESS_KEY_ID = re.compile(r"[\x21-\x2e\x30-\x7e]{1,128}")
_QUERY_PARAMETERS = {
    b"X-Amz-Algorithm": "X-Amz-Algorithm",
    b"X-Amz-Credential": "X-Amz-Credential",
    b"X-Amz-Date": "X-Amz-Date",
    b"X-Amz-Expires": "X-Amz-Expires",
    b"X-Amz-SignedHeaders": "X-Amz-SignedHeaders",
    b"X-Amz-Signature": "X-Amz-Signature",
    b"X-Amz-Security-Token": "X-Amz-Security-Token",
}
_QUERY_FORM_MARKERS = frozenset({b"X-Amz-Algorithm", b"X-Amz-Credential", b"X-Amz-Signature"})
_AUTHORIZATION_COMPONENTS = ("Credential", "SignedHeaders", "Signature")


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


@dataclass(frozen=True, slots=True, kw_only=True)
class _ParsedSignature:
    """The signature parts of a request, parsed but not yet trusted."""

    form: SignatureForm
    access_key_id: str
    scope_date: str
    scope_region: str
    scope_service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    signed_at: datetime
    expires_seconds: int | None
    session_token: str | None
    query_pairs: tuple[tuple[bytes, bytes], ...]


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
    Raises ``ValueError`` for a naive ``now`` or a negative ``max_skew_seconds`` (caller bugs).
    """
    if now.tzinfo is None:
        raise ValueError("verify_sigv4: now must be timezone-aware (use datetime.now(UTC))")
    if max_skew_seconds < 0:
        raise ValueError(f"verify_sigv4: max_skew_seconds must be >= 0, got {max_skew_seconds}")
    rules = rules_for_service(service) if rules is None else rules
    grouped = group_headers(request.headers)
    parsed = _parse_signature(request, grouped)
    _check_scope(parsed, region=region, service=service)
    _check_signed_headers(parsed, grouped)
    expires_at = _check_time(parsed, now=now, max_skew_seconds=max_skew_seconds)
    declared_payload_hash = _declared_payload_hash(parsed, grouped, rules)

    credential = lookup(parsed.access_key_id)
    payload_hash = (
        declared_payload_hash if rules.is_payload_hash_in_header else hash_payload(request)
    )
    scope = CredentialScope(date=parsed.scope_date, region=region, service=service)
    expected = compute_signature(
        request,
        rules=rules,
        query_pairs=_signed_query_pairs(parsed),
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
    )


# --- Parsing -------------------------------------------------------------------------------


def _single_header(grouped: dict[str, list[str]], name: str, display: str) -> str | None:
    values = grouped.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise IncompleteSignature(
            f"the request has {len(values)} {display} headers; send exactly one",
            reason=SigV4Failure.DUPLICATE_HEADER,
        )
    return values[0].strip()


def _parse_signature(request: SigV4Request, grouped: dict[str, list[str]]) -> _ParsedSignature:
    query_pairs = tuple(parse_query(request.raw_query))
    has_query_form = any(name in _QUERY_FORM_MARKERS for name, _ in query_pairs)
    authorization = _single_header(grouped, "authorization", "Authorization")
    if authorization is not None and has_query_form:
        raise IncompleteSignature(
            "the request has both an Authorization header and X-Amz-* query parameters; "
            "sign it one way only",
            reason=SigV4Failure.AMBIGUOUS_AUTHENTICATION,
        )
    if authorization is not None:
        return _parse_header_form(authorization, grouped, query_pairs)
    if has_query_form:
        return _parse_query_form(query_pairs, grouped)
    raise MissingAuthenticationToken(
        "the request is not signed: send an Authorization header (AWS4-HMAC-SHA256) or "
        "pre-signed X-Amz-* query parameters",
        reason=SigV4Failure.NO_AUTHENTICATION,
    )


def _parse_header_form(
    authorization: str,
    grouped: dict[str, list[str]],
    query_pairs: tuple[tuple[bytes, bytes], ...],
) -> _ParsedSignature:
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignature(
            f"the Authorization header must start with the algorithm {ALGORITHM}",
            reason=SigV4Failure.UNSUPPORTED_ALGORITHM,
        )
    components: dict[str, str] = {}
    for position, component in enumerate(rest.split(","), start=1):
        key, separator, value = component.strip().partition("=")
        if not separator:
            raise IncompleteSignature(
                f"component {position} of the Authorization header is not Key=Value",
                reason=SigV4Failure.MALFORMED_AUTHORIZATION,
            )
        if key not in _AUTHORIZATION_COMPONENTS:
            raise IncompleteSignature(
                f"component {position} of the Authorization header is not one of "
                "Credential, SignedHeaders, Signature",
                reason=SigV4Failure.MALFORMED_AUTHORIZATION,
            )
        if key in components:
            raise IncompleteSignature(
                f"the Authorization header has {key} more than once",
                reason=SigV4Failure.DUPLICATE_COMPONENT,
            )
        components[key] = value
    missing = {
        "Credential": SigV4Failure.MISSING_CREDENTIAL,
        "SignedHeaders": SigV4Failure.MISSING_SIGNED_HEADERS,
        "Signature": SigV4Failure.MISSING_SIGNATURE,
    }
    for key, reason in missing.items():
        if key not in components:
            raise IncompleteSignature(
                f"the Authorization header has no {key}= component", reason=reason
            )
    amz_date = _single_header(grouped, "x-amz-date", "X-Amz-Date")
    if amz_date is None:
        raise IncompleteSignature(
            "the request has no X-Amz-Date header; send the signing time as YYYYMMDDTHHMMSSZ",
            reason=SigV4Failure.MISSING_DATE,
        )
    return _assemble(
        form=SignatureForm.HEADER,
        credential=components["Credential"],
        signed_headers=components["SignedHeaders"],
        signature=components["Signature"],
        amz_date=amz_date,
        expires=None,
        session_token=_single_header(grouped, "x-amz-security-token", "X-Amz-Security-Token"),
        query_pairs=query_pairs,
        where="Authorization header",
    )


def _parse_query_form(
    query_pairs: tuple[tuple[bytes, bytes], ...], grouped: dict[str, list[str]]
) -> _ParsedSignature:
    values: dict[str, str] = {}
    for name, value in query_pairs:
        display = _QUERY_PARAMETERS.get(name)
        if display is None:
            continue
        if display in values:
            raise IncompleteSignature(
                f"the query has {display} more than once",
                reason=SigV4Failure.DUPLICATE_PARAMETER,
            )
        try:
            values[display] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise IncompleteSignature(
                f"the query parameter {display} is not valid UTF-8",
                reason=_MALFORMED_PARAMETER.get(display, SigV4Failure.MALFORMED_AUTHORIZATION),
            ) from None
    required = {
        "X-Amz-Algorithm": SigV4Failure.MISSING_ALGORITHM,
        "X-Amz-Credential": SigV4Failure.MISSING_CREDENTIAL,
        "X-Amz-Date": SigV4Failure.MISSING_DATE,
        "X-Amz-Expires": SigV4Failure.MISSING_EXPIRES,
        "X-Amz-SignedHeaders": SigV4Failure.MISSING_SIGNED_HEADERS,
        "X-Amz-Signature": SigV4Failure.MISSING_SIGNATURE,
    }
    for display, reason in required.items():
        if display not in values:
            raise IncompleteSignature(
                f"the pre-signed query has no {display} parameter", reason=reason
            )
    if values["X-Amz-Algorithm"] != ALGORITHM:
        raise IncompleteSignature(
            f"X-Amz-Algorithm must be {ALGORITHM}", reason=SigV4Failure.UNSUPPORTED_ALGORITHM
        )
    return _assemble(
        form=SignatureForm.QUERY,
        credential=values["X-Amz-Credential"],
        signed_headers=values["X-Amz-SignedHeaders"],
        signature=values["X-Amz-Signature"],
        amz_date=values["X-Amz-Date"],
        expires=values["X-Amz-Expires"],
        session_token=(
            values["X-Amz-Security-Token"]
            if "X-Amz-Security-Token" in values
            else _single_header(grouped, "x-amz-security-token", "X-Amz-Security-Token")
        ),
        query_pairs=query_pairs,
        where="query",
    )


_MALFORMED_PARAMETER = {
    "X-Amz-Algorithm": SigV4Failure.UNSUPPORTED_ALGORITHM,
    "X-Amz-Credential": SigV4Failure.MALFORMED_CREDENTIAL,
    "X-Amz-Date": SigV4Failure.MALFORMED_DATE,
    "X-Amz-Expires": SigV4Failure.MALFORMED_EXPIRES,
    "X-Amz-SignedHeaders": SigV4Failure.MALFORMED_SIGNED_HEADERS,
    "X-Amz-Signature": SigV4Failure.MALFORMED_SIGNATURE,
}


def _assemble(
    *,
    form: SignatureForm,
    credential: str,
    signed_headers: str,
    signature: str,
    amz_date: str,
    expires: str | None,
    session_token: str | None,
    query_pairs: tuple[tuple[bytes, bytes], ...],
    where: str,
) -> _ParsedSignature:
    """Validate the syntax of each part; the message names the part, never its value."""
    parts = credential.split("/")
    if len(parts) != 5:
        raise IncompleteSignature(
            f"the Credential of the {where} must be "
            "<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request",
            reason=SigV4Failure.MALFORMED_CREDENTIAL,
        )
    access_key_id, scope_date, scope_region, scope_service, terminator = parts
    if not _ACCESS_KEY_ID.fullmatch(access_key_id):
        raise IncompleteSignature(
            f"the access key id in the Credential of the {where} is empty, too long "
            "(over 128 characters) or contains spaces or control characters",
            reason=SigV4Failure.MALFORMED_CREDENTIAL,
        )
    if not _SCOPE_DATE.fullmatch(scope_date) or not scope_region or not scope_service:
        raise IncompleteSignature(
            f"the Credential scope of the {where} must have a YYYYMMDD date, a region and "
            "a service",
            reason=SigV4Failure.MALFORMED_CREDENTIAL,
        )
    if terminator != SCOPE_TERMINATOR:
        raise IncompleteSignature(
            f"the Credential scope of the {where} must end in {SCOPE_TERMINATOR}",
            reason=SigV4Failure.SCOPE_TERMINATOR,
        )
    names = tuple(signed_headers.split(";"))
    if not all(_HEADER_NAME.fullmatch(name) for name in names) or any(
        earlier >= later for earlier, later in itertools.pairwise(names)
    ):
        raise IncompleteSignature(
            f"the SignedHeaders of the {where} must be lower-case header names, sorted, "
            "without repeats, separated by ';'",
            reason=SigV4Failure.MALFORMED_SIGNED_HEADERS,
        )
    if not _SIGNATURE.fullmatch(signature):
        raise IncompleteSignature(
            f"the Signature of the {where} must be 64 lower-case hexadecimal digits",
            reason=SigV4Failure.MALFORMED_SIGNATURE,
        )
    signed_at = _parse_amz_date(amz_date)
    return _ParsedSignature(
        form=form,
        access_key_id=access_key_id,
        scope_date=scope_date,
        scope_region=scope_region,
        scope_service=scope_service,
        signed_headers=names,
        signature=signature,
        amz_date=amz_date,
        signed_at=signed_at,
        expires_seconds=None if expires is None else _parse_expires(expires),
        session_token=session_token,
        query_pairs=query_pairs,
    )


def _parse_amz_date(amz_date: str) -> datetime:
    if _AMZ_DATE.fullmatch(amz_date):
        try:
            return datetime(
                int(amz_date[0:4]),
                int(amz_date[4:6]),
                int(amz_date[6:8]),
                int(amz_date[9:11]),
                int(amz_date[11:13]),
                int(amz_date[13:15]),
                tzinfo=UTC,
            )
        except ValueError:
            pass
    raise IncompleteSignature(
        "X-Amz-Date must be a UTC time written YYYYMMDDTHHMMSSZ (for example 20150830T123600Z)",
        reason=SigV4Failure.MALFORMED_DATE,
    )


def _parse_expires(expires: str) -> int:
    if not expires.isascii() or not expires.isdigit() or len(expires) > 7:
        raise IncompleteSignature(
            "X-Amz-Expires must be a whole number of seconds",
            reason=SigV4Failure.MALFORMED_EXPIRES,
        )
    seconds = int(expires)
    if not 1 <= seconds <= MAX_EXPIRES_SECONDS:
        raise IncompleteSignature(
            f"X-Amz-Expires must be between 1 and {MAX_EXPIRES_SECONDS} seconds (7 days); "
            f"got {seconds}",
            reason=SigV4Failure.EXPIRES_OUT_OF_RANGE,
        )
    return seconds


# --- Checks that need no secret --------------------------------------------------------------


def _check_scope(parsed: _ParsedSignature, *, region: str, service: str) -> None:
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


def _check_signed_headers(parsed: _ParsedSignature, grouped: dict[str, list[str]]) -> None:
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
    parsed: _ParsedSignature, *, now: datetime, max_skew_seconds: int
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


def _declared_payload_hash(
    parsed: _ParsedSignature, grouped: dict[str, list[str]], rules: SigningRules
) -> str:
    """Under S3 rules, the payload hash from ``x-amz-content-sha256``; else ``""``."""
    if not rules.is_payload_hash_in_header:
        return ""
    declared = _single_header(grouped, CONTENT_SHA256_HEADER, "x-amz-content-sha256")
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
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a lower-case hex SHA-256 "
            "(streaming payload signatures are not supported)",
            reason=SigV4Failure.MALFORMED_CONTENT_SHA256,
        )
    return declared


def _signed_query_pairs(parsed: _ParsedSignature) -> Sequence[tuple[bytes, bytes]]:
    if parsed.form is SignatureForm.HEADER:
        return parsed.query_pairs
    return [pair for pair in parsed.query_pairs if pair[0] != b"X-Amz-Signature"]


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
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
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
