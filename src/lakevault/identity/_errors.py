"""Errors of identity: authentication failures with their AWS codes.

Where they sit in the tree of :mod:`lakevault.core.errors`::

    LakevaultError
    ├── InvalidInput
    │   ├── IncompleteSignature          400  a SigV4 part is missing or malformed (names the part)
    │   └── XAmzContentSHA256Mismatch    400  the body does not hash to x-amz-content-sha256
    └── AccessDenied
        ├── MissingAuthenticationToken   403  the request carries no signature at all
        ├── InvalidAccessKeyId           403  the access key id is unknown, inactive or deleted
        ├── InvalidClientTokenId         403  the session token is missing, wrong or unexpected
        ├── SignatureDoesNotMatch        403  wrong scope, or the recomputed signature differs
        ├── HeadersNotSigned             403  host or an x-amz-* header is present but unsigned
        ├── RequestTimeTooSkewed         403  X-Amz-Date is outside the allowed clock skew
        └── RequestExpired               403  a pre-signed URL is past its X-Amz-Expires

Each SigV4 error also carries a :class:`SigV4Failure` ``reason``, the precise cause for the
audit log and for tests, the way pyca/cryptography reports a reason enum rather than text.
Faces answer with ``code``; the reason never widens what a client learns beyond the code and
the message. No message or ``repr`` carries a secret, a session token, or the signature the
server expected: a client that could read the expected signature could forge one.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from lakevault.core.errors import AccessDenied, InvalidInput, LakevaultError


class SigV4Failure(enum.Enum):
    """Why a SigV4 verification failed: one member per rule the verifier enforces."""

    NO_AUTHENTICATION = "no-authentication"
    AMBIGUOUS_AUTHENTICATION = "ambiguous-authentication"
    MISSING_ALGORITHM = "missing-algorithm"
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"
    MALFORMED_AUTHORIZATION = "malformed-authorization"
    DUPLICATE_COMPONENT = "duplicate-component"
    MISSING_CREDENTIAL = "missing-credential"
    MALFORMED_CREDENTIAL = "malformed-credential"
    MISSING_SIGNED_HEADERS = "missing-signed-headers"
    MALFORMED_SIGNED_HEADERS = "malformed-signed-headers"
    MISSING_SIGNATURE = "missing-signature"
    MALFORMED_SIGNATURE = "malformed-signature"
    MISSING_DATE = "missing-date"
    MALFORMED_DATE = "malformed-date"
    MISSING_EXPIRES = "missing-expires"
    MALFORMED_EXPIRES = "malformed-expires"
    EXPIRES_OUT_OF_RANGE = "expires-out-of-range"
    DUPLICATE_PARAMETER = "duplicate-parameter"
    DUPLICATE_HEADER = "duplicate-header"
    MISSING_HOST = "missing-host"
    MISSING_CONTENT_SHA256 = "missing-content-sha256"
    MALFORMED_CONTENT_SHA256 = "malformed-content-sha256"
    CONTENT_SHA256_MISMATCH = "content-sha256-mismatch"
    SCOPE_TERMINATOR = "scope-terminator"
    SCOPE_DATE_MISMATCH = "scope-date-mismatch"
    SCOPE_REGION_MISMATCH = "scope-region-mismatch"
    SCOPE_SERVICE_MISMATCH = "scope-service-mismatch"
    HOST_NOT_SIGNED = "host-not-signed"
    HEADERS_NOT_SIGNED = "headers-not-signed"
    SIGNED_HEADER_ABSENT = "signed-header-absent"
    TIME_TOO_SKEWED = "time-too-skewed"
    EXPIRED = "expired"
    UNKNOWN_ACCESS_KEY = "unknown-access-key"
    SESSION_TOKEN_MISSING = "session-token-missing"  # noqa: S105 (a reason, not a token)
    SESSION_TOKEN_MISMATCH = "session-token-mismatch"  # noqa: S105 (a reason, not a token)
    SESSION_TOKEN_UNEXPECTED = "session-token-unexpected"  # noqa: S105 (a reason, not a token)
    SIGNATURE_MISMATCH = "signature-mismatch"


class _SigV4Error(LakevaultError):
    """Mixin giving each SigV4 error its ``reason``; listed first so the tree above stays true.

    It is not a level of the tree: every concrete class also derives from the ``core`` class it
    is drawn under, and nothing catches ``_SigV4Error``.
    """

    default_reason: ClassVar[SigV4Failure]

    def __init__(self, message: str, *, reason: SigV4Failure | None = None) -> None:
        super().__init__(message)
        self.reason = self.default_reason if reason is None else reason


class IncompleteSignature(_SigV4Error, InvalidInput):
    """A part of the SigV4 signature is missing or malformed; the message names the part."""

    code = "IncompleteSignature"
    default_reason = SigV4Failure.MALFORMED_AUTHORIZATION


class XAmzContentSHA256Mismatch(_SigV4Error, InvalidInput):
    """The request body does not hash to the value its ``x-amz-content-sha256`` header claims."""

    code = "XAmzContentSHA256Mismatch"
    default_reason = SigV4Failure.CONTENT_SHA256_MISMATCH


class MissingAuthenticationToken(_SigV4Error, AccessDenied):
    """The request carries neither an ``Authorization`` header nor a pre-signed query."""

    code = "MissingAuthenticationToken"
    default_reason = SigV4Failure.NO_AUTHENTICATION


class InvalidAccessKeyId(_SigV4Error, AccessDenied):
    """The access key id names no active key.

    Credential lookups raise this for an unknown, inactive or deleted key; the verifier lets it
    through unchanged. The message may name the key id (it is not a secret) but never says
    whether the key ever existed.
    """

    code = "InvalidAccessKeyId"
    default_reason = SigV4Failure.UNKNOWN_ACCESS_KEY


class InvalidClientTokenId(_SigV4Error, AccessDenied):
    """The session token is missing, does not belong to the access key, or is not expected."""

    code = "InvalidClientTokenId"
    default_reason = SigV4Failure.SESSION_TOKEN_MISMATCH


class SignatureDoesNotMatch(_SigV4Error, AccessDenied):
    """The credential scope is wrong, or the signature the server computes differs.

    For a mismatch the message never carries the expected signature, string to sign or
    canonical request: those are what a forger would need.
    """

    code = "SignatureDoesNotMatch"
    default_reason = SigV4Failure.SIGNATURE_MISMATCH


class HeadersNotSigned(_SigV4Error, AccessDenied):
    """``host`` or an ``x-amz-*`` header is present in the request but not in SignedHeaders.

    The code is S3's ``AccessDenied``; the message lists the unsigned header names.
    """

    code = "AccessDenied"
    default_reason = SigV4Failure.HEADERS_NOT_SIGNED


class RequestTimeTooSkewed(_SigV4Error, AccessDenied):
    """``X-Amz-Date`` differs from the server's clock by more than the allowed skew."""

    code = "RequestTimeTooSkewed"
    default_reason = SigV4Failure.TIME_TOO_SKEWED


class RequestExpired(_SigV4Error, AccessDenied):
    """A pre-signed request is used after ``X-Amz-Date`` + ``X-Amz-Expires``."""

    code = "RequestExpired"
    default_reason = SigV4Failure.EXPIRED
