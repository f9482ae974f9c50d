"""Errors of the key service.

Where they sit in the tree of :mod:`lakevault.core.errors`::

    LakevaultError
    └── InvalidInput
        ├── IntegrityError     400  InvalidCiphertextException: an encrypted object or chunk
        │                           does not authenticate (any reason; see below)
        └── InvalidRange       416  a plaintext range starts beyond the end of the object
    └── ServiceUnavailable
        └── KeyAgentUnavailable 503 KMSInvalidStateException: a tenant's key agent (operator-
                                    blind mode) cannot be reached or refuses the platform

Every integrity failure — truncation, reordering, extension, a flipped bit, a wrong key, a wrong
encryption context, a tampered header — is one :class:`IntegrityError` with one message, the way
pyca/cryptography's Fernet turns every failure into ``InvalidToken`` (STYLE.md §2, fail closed).
The precise reason is kept on the exception as :attr:`IntegrityError.audit_reason` for the audit
log only: it appears in neither the message nor the ``repr``, so a face that maps errors by code
cannot leak which check failed.
"""

from __future__ import annotations

import enum

from lakevault.core.errors import InvalidInput, ServiceUnavailable

INTEGRITY_FAILURE_MESSAGE = (
    "the encrypted object failed its integrity check: it is corrupt, truncated or extended, or "
    "the data key or encryption context is not the one it was written with; discard any "
    "plaintext already produced and read the object again with its own key and context"
)


class IntegrityFailure(enum.Enum):
    """Why an integrity check failed: for the audit log, never for the caller."""

    MALFORMED_HEADER = "malformed-header"
    UNSUPPORTED_FORMAT_VERSION = "unsupported-format-version"
    WRONG_ENCRYPTION_CONTEXT = "wrong-encryption-context"
    INVALID_KEY = "invalid-key"
    INVALID_NONCE = "invalid-nonce"
    COMMITMENT_MISMATCH = "commitment-mismatch"
    CHUNK_NOT_AUTHENTIC = "chunk-not-authentic"
    INVALID_LENGTH = "invalid-length"
    CHUNK_LIMIT_EXCEEDED = "chunk-limit-exceeded"


class IntegrityError(InvalidInput):
    """An encrypted object, or part of it, does not authenticate; nothing of that part decrypted.

    The message is the same whatever failed. ``audit_reason`` says which check failed and goes to
    the audit log only.
    """

    code = "InvalidCiphertextException"

    def __init__(self, reason: IntegrityFailure) -> None:
        super().__init__(INTEGRITY_FAILURE_MESSAGE)
        self.audit_reason = reason


class InvalidRange(InvalidInput):
    """A requested plaintext range starts after the end of the object (S3 ``InvalidRange``)."""

    code = "InvalidRange"
    http_status = 416


class KeyAgentUnavailable(ServiceUnavailable):
    """A tenant's key agent cannot answer, so nothing under that tenant's root decrypts.

    Raised for a stopped or unreachable agent, a TLS failure (the agent's certificate is not
    signed by the tenant's CA, or the agent refuses the platform's client certificate), a
    timeout, or an answer that is not the agent protocol. The key service never falls back to
    another wrapper. AWS's code for a key in a custom key store that is disconnected is
    ``KMSInvalidStateException``; the status is 503 because the tenant can fix it by starting
    the agent (docs/decisions/0143-key-agent-unavailable.md).
    """

    code = "KMSInvalidStateException"
