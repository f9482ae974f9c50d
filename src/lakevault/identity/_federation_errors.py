"""Errors of OIDC federation, with the reason kept for the audit log only.

Where they sit in the tree of :mod:`lakevault.core.errors`::

    LakevaultError
    ├── InvalidInput
    │   ├── InvalidIdentityToken     400  the ID token is not one lakevault accepts (any reason)
    │   └── ExpiredIdentityToken     400  ExpiredTokenException: the ID token is past its exp
    ├── AccessDenied
    │   └── FederatedSignInFailed    403  the sign-in cannot complete (state, team, IdP answer)
    └── ServiceUnavailable
        └── IDPCommunicationError    503  the identity provider did not answer usefully

Every token failure but expiry is one :class:`InvalidIdentityToken` with one message, the way
pyca/cryptography's Fernet turns every failure into ``InvalidToken`` (STYLE.md §2, fail
closed): a caller probing with forged tokens learns nothing about which check failed. Expiry is
told apart, as AWS does, so that a client knows to sign in again. The precise
:class:`FederationFailure` is on the exception as ``reason`` for the audit log; it is in neither
the message nor the ``repr``. No message carries a token, a code, a state or a client secret.

(These live in their own module while the federation work lands beside other identity work;
``identity/_errors.py`` is the place to merge them into.)
"""

from __future__ import annotations

import enum

from lakevault.core.errors import AccessDenied, InvalidInput, ServiceUnavailable


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
