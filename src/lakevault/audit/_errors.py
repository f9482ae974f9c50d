"""Errors of the audit trail.

Where they sit in the tree of :mod:`lakevault.core.errors`::

    LakevaultError
    ├── InvalidInput
    │   ├── InvalidProof                 400  a Merkle inclusion or consistency proof fails
    │   ├── InvalidCheckpoint            400  a checkpoint note is malformed or its signature fails
    │   └── ExportVerificationFailed     400  an audit export is inconsistent (with its position)
    └── ConfigurationError
        └── SigningKeyUnavailable        500  the checkpoint signing key file is missing or bad

Every failure of a verification is one of these errors, never a ``False``: ignoring a failed
proof would be unsafe, so the API cannot be used that way (pyca/cryptography's rule).
"""

from __future__ import annotations

from lakevault.core.errors import ConfigurationError, InvalidInput


class InvalidProof(InvalidInput):
    """A Merkle proof does not prove what it claims (RFC 9162 §2.1.3.2 / §2.1.4.2)."""

    code = "InvalidProof"


class InvalidCheckpoint(InvalidInput):
    """A signed checkpoint cannot be parsed, or no trusted signature on it verifies."""

    code = "InvalidCheckpoint"


class ExportVerificationFailed(InvalidInput):
    """An audit export does not verify. ``position`` names where the first problem is."""

    code = "AuditExportInvalid"

    def __init__(self, message: str, *, position: str) -> None:
        super().__init__(f"{position}: {message}")
        self.position = position


class SigningKeyUnavailable(ConfigurationError):
    """The audit signing key file is missing, unreadable or not a lakevault signing key."""

    code = "SigningKeyUnavailable"
