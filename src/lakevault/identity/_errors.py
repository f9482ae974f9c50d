"""Errors of identity: authentication and federation failures with their AWS codes.

Where they sit in the tree of :mod:`lakevault.core.errors`::

    LakevaultError
    ├── InvalidInput
    │   ├── IncompleteSignature          400  a SigV4 part is missing or malformed (names the part)
    │   ├── XAmzContentSHA256Mismatch    400  the body does not hash to x-amz-content-sha256
    │   ├── InvalidIdentityToken         400  the ID token is not one lakevault accepts (any reason)
    │   └── ExpiredIdentityToken         400  ExpiredTokenException: the ID token is past its exp
    ├── AccessDenied
    │   ├── MissingAuthenticationToken   403  the request carries no signature at all
    │   ├── InvalidAccessKeyId           403  the access key id is unknown, inactive or deleted
    │   ├── InvalidClientTokenId         403  the session token is missing, wrong or unexpected
    │   ├── SignatureDoesNotMatch        403  wrong scope, or the recomputed signature differs
    │   ├── HeadersNotSigned             403  host or an x-amz-* header is present but unsigned
    │   ├── RequestTimeTooSkewed         403  X-Amz-Date is outside the allowed clock skew
    │   ├── RequestExpired               403  a pre-signed URL is past its X-Amz-Expires
    │   └── FederatedSignInFailed        403  the sign-in cannot complete (state, team, IdP answer)
    └── ServiceUnavailable
        └── IDPCommunicationError        503  the identity provider did not answer usefully

Each SigV4 error also carries a :class:`SigV4Failure` ``reason``, the precise cause for the
audit log and for tests, the way pyca/cryptography reports a reason enum rather than text.
Faces answer with ``code``; the reason never widens what a client learns beyond the code and
the message. No message or ``repr`` carries a secret, a session token, or the signature the
server expected: a client that could read the expected signature could forge one.

Federation errors carry a :class:`FederationFailure` ``reason`` the same way. Every token
failure but expiry is one :class:`InvalidIdentityToken` with one message, the way
pyca/cryptography's Fernet turns every failure into ``InvalidToken`` (STYLE.md §2, fail
closed): a caller probing with forged tokens learns nothing about which check failed. Expiry is
told apart, as AWS does, so that a client knows to sign in again. The precise reason is in
neither the message nor the ``repr``. No message carries a token, a code, a state or a client
secret.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from lakevault.core.errors import AccessDenied, InvalidInput, LakevaultError, ServiceUnavailable


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
    CHUNK_SIGNATURE_MISMATCH = "chunk-signature-mismatch"
    MALFORMED_CHUNK = "malformed-chunk"
    MISSING_DECODED_LENGTH = "missing-decoded-length"
    DECODED_LENGTH_MISMATCH = "decoded-length-mismatch"
    STREAMING_NOT_IMPLEMENTED = "streaming-not-implemented"


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


class StreamingPayloadNotImplemented(_SigV4Error, LakevaultError):
    """A streaming payload form lakevault does not verify (trailers, ECDSA): 501, as S3
    answers a feature it does not implement. Only ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``
    is accepted (ADR 0188)."""

    code = "NotImplemented"
    http_status = 501
    default_reason = SigV4Failure.STREAMING_NOT_IMPLEMENTED


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


# --- OIDC federation ------------------------------------------------------------------------


class FederationFailure(enum.Enum):
    """Why a federated sign-in or web-identity exchange failed: for the audit log only."""

    MALFORMED_TOKEN = "malformed-token"  # noqa: S105 - a reason, not a token
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"
    UNKNOWN_KEY = "unknown-key"
    BAD_SIGNATURE = "bad-signature"
    WRONG_ISSUER = "wrong-issuer"
    UNKNOWN_ISSUER = "unknown-issuer"
    WRONG_AUDIENCE = "wrong-audience"
    WRONG_AUTHORIZED_PARTY = "wrong-authorized-party"
    MISSING_CLAIM = "missing-claim"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    ISSUED_IN_FUTURE = "issued-in-future"
    NONCE_MISMATCH = "nonce-mismatch"
    MALFORMED_GROUPS = "malformed-groups"
    UNKNOWN_STATE = "unknown-state"
    EXPIRED_STATE = "expired-state"
    STATE_NOT_BOUND = "state-not-bound"
    PROVIDER_ERROR = "provider-error"
    NO_MAPPED_TEAM = "no-mapped-team"
    TEAM_NOT_A_MEMBER = "team-not-a-member"
    DISCOVERY_MISMATCH = "discovery-mismatch"
    PROVIDER_UNREACHABLE = "provider-unreachable"


INVALID_TOKEN_MESSAGE = (
    "the web identity token is not valid for this provider and role: check that it is an ID "  # noqa: S105
    "token issued by the registered identity provider for one of its allowed audiences"
)


class InvalidIdentityToken(InvalidInput):
    """The ID token failed validation; ``reason`` says why, for the audit log only."""

    code = "InvalidIdentityToken"

    def __init__(self, reason: FederationFailure) -> None:
        super().__init__(INVALID_TOKEN_MESSAGE)
        self.reason = reason


class ExpiredIdentityToken(InvalidInput):
    """The ID token's ``exp`` has passed (beyond the allowed clock skew)."""

    code = "ExpiredTokenException"

    def __init__(self) -> None:
        super().__init__(
            "the web identity token has expired; sign in at the identity provider again"
        )
        self.reason = FederationFailure.EXPIRED


class FederatedSignInFailed(AccessDenied):
    """A sign-in through an identity provider cannot complete; ``reason`` is for the audit log.

    The message is one of a few fixed texts chosen by the caller (no value from the request).
    """

    def __init__(self, message: str, *, reason: FederationFailure) -> None:
        super().__init__(message)
        self.reason = reason


class IDPCommunicationError(ServiceUnavailable):
    """The identity provider's discovery, key or token endpoint failed or answered nonsense."""

    code = "IDPCommunicationError"

    def __init__(self, message: str, *, reason: FederationFailure) -> None:
        super().__init__(message)
        self.reason = reason
