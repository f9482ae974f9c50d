"""Errors of the secrets manager, with AWS Secrets Manager's codes.

Where they sit in the tree of :mod:`lakevault.core.errors`::

    LakevaultError
    ├── InvalidInput
    │   ├── InvalidParameterException   400  a parameter is malformed or out of range
    │   ├── InvalidRequestException     400  the secret's state does not allow the operation
    │   │                                    (marked for deletion, a label that must move first)
    │   ├── DecryptionFailure           400  the value's KMS key refused (disabled, pending
    │   │                                    deletion) or the ciphertext did not open
    │   └── EncryptionFailure           400  the KMS key refused to make a data key
    ├── NotFound
    │   └── ResourceNotFoundException   404  no such secret, version or staging label
    └── Conflict
        └── ResourceExistsException     409  a secret by that name, or a version by that id
                                             with another value, already exists

A state error is raised only *after* the gate allowed the request, so a caller without access
learns nothing about a secret; the secrets manager records it as an audit event with the error
code. Messages name the secret and the parameter, never a value.
"""

from __future__ import annotations

from lakevault.core.errors import Conflict, InvalidInput, NotFound


class InvalidParameterException(InvalidInput):
    """A parameter is malformed or out of range (the message names it and the allowed range)."""

    code = "InvalidParameterException"


class InvalidRequestException(InvalidInput):
    """The secret's state does not allow the operation (deleted, or a label must move first)."""

    code = "InvalidRequestException"


class DecryptionFailure(InvalidInput):
    """The secret's value cannot be decrypted: its KMS key is disabled, pending deletion, or the
    stored ciphertext does not open under it."""

    code = "DecryptionFailure"


class EncryptionFailure(InvalidInput):
    """The secret's KMS key cannot encrypt a new value (disabled or pending deletion)."""

    code = "EncryptionFailure"


class ResourceNotFoundException(NotFound):
    """No secret, version or staging label by that name in that tenant."""

    code = "ResourceNotFoundException"


class ResourceExistsException(Conflict):
    """A secret by that name already exists, or a version id was reused for another value."""

    code = "ResourceExistsException"
