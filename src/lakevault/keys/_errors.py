"""Errors of the tenant KMS, with AWS KMS's codes.

Where they sit in the tree of :mod:`lakevault.core.errors`::

    LakevaultError
    ├── InvalidInput
    │   ├── KMSInvalidStateException  400  the key's state does not allow the operation
    │   │   └── DisabledException     400  the key is disabled
    │   └── (kms.IntegrityError       400  InvalidCiphertextException)
    ├── NotFound
    │   └── KeyNotFound               404  NotFoundException: no such key, alias or grant
    └── Conflict
        └── AlreadyExistsException    409  the alias already exists

A state error is raised only *after* the gate allowed the request, so a caller without access
learns nothing about a key's state; the key service records it as an audit event with the
error code (``DisabledException`` / ``KMSInvalidStateException``) for the alarm detectors.
"""

from __future__ import annotations

from lakevault.core.errors import Conflict, InvalidInput, NotFound


class KMSInvalidStateException(InvalidInput):
    """The key's state (pending deletion, say) does not allow the operation."""

    code = "KMSInvalidStateException"


class DisabledException(KMSInvalidStateException):
    """The key is disabled: enable it (EnableKey) to use it again."""

    code = "DisabledException"


class KeyNotFound(NotFound):
    """No key, alias or grant by that name in that tenant (AWS ``NotFoundException``)."""

    code = "NotFoundException"


class AlreadyExistsException(Conflict):
    """An alias by that name already exists in the tenant."""

    code = "AlreadyExistsException"
