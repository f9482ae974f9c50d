"""The one error tree of lakevault.

Every error the platform raises on purpose derives from :class:`LakevaultError` and carries an
AWS-style ``code`` and an HTTP status. Faces (HTTP API, S3 API, CLI) map errors by ``code`` and
never by message text, the way pyca/cryptography reports a reason enum rather than a string.

Messages say what failed, on which resource or parameter, and how to fix it. They never carry
secrets: name the field, never echo its value.

The tree is at most two levels deep below the root::

    LakevaultError
    ├── InvalidInput                       400  (the caller sent something wrong)
    │   ├── InvalidParameterValue          400
    │   ├── MalformedPolicyDocument        400
    │   ├── ValidationError                400
    │   └── InvalidRequest                 400
    ├── AccessDenied                       403  (the gate said no)
    ├── NotFound                           404
    │   ├── NoSuchEntity                   404
    │   └── NoSuchKey                      404
    ├── Conflict                           409
    │   ├── EntityAlreadyExists            409
    │   └── LimitExceeded                  409
    ├── Throttling                         429
    ├── ConfigurationError                 500  (the operator's setup is wrong; found at start)
    │   └── SchemaMismatch                 500  (database not migrated, or newer than the code)
    ├── ServiceUnavailable                 503
    └── InternalFailure                    500

Packages add their own subclasses of these in their ``_errors.py``.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "ConfigurationError",
    "Conflict",
    "EntityAlreadyExists",
    "InternalFailure",
    "InvalidInput",
    "InvalidParameterValue",
    "InvalidRequest",
    "LakevaultError",
    "LimitExceeded",
    "MalformedPolicyDocument",
    "NoSuchEntity",
    "NoSuchKey",
    "NotFound",
    "SchemaMismatch",
    "ServiceUnavailable",
    "Throttling",
    "ValidationError",
]


class LakevaultError(Exception):
    """Root of every error lakevault raises on purpose.

    ``code`` is the AWS-style error code a client sees; ``http_status`` the status a face
    answers with. Subclasses set both as class attributes; an instance may narrow ``code``
    (for example ``InvalidInput(..., code="EntityTooLarge")``) when AWS has a more precise one.
    """

    code: str = "InternalFailure"
    http_status: int = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidInput(LakevaultError):
    """The caller sent something the platform cannot accept; nothing was changed."""

    code = "InvalidInput"
    http_status = 400


class InvalidParameterValue(InvalidInput):
    """A named parameter has a value outside what is allowed."""

    code = "InvalidParameterValue"


class MalformedPolicyDocument(InvalidInput):
    """A policy document does not follow the IAM policy grammar."""

    code = "MalformedPolicyDocument"


class ValidationError(InvalidInput):
    """A request body or parameter set failed validation (AWS ``ValidationError``)."""

    code = "ValidationError"


class InvalidRequest(InvalidInput):
    """The request as a whole is not acceptable (wrong combination, wrong state)."""

    code = "InvalidRequest"


class AccessDenied(LakevaultError):
    """The gate denied the request. The message never says which policy would allow it."""

    code = "AccessDenied"
    http_status = 403


class NotFound(LakevaultError):
    """The named resource does not exist (or the caller may not know that it does)."""

    code = "NotFound"
    http_status = 404


class NoSuchEntity(NotFound):
    """An identity-style entity (tenant, user, role, policy, key) does not exist."""

    code = "NoSuchEntity"


class NoSuchKey(NotFound):
    """An object key does not exist in its bucket."""

    code = "NoSuchKey"


class Conflict(LakevaultError):
    """The request conflicts with the current state."""

    code = "Conflict"
    http_status = 409


class EntityAlreadyExists(Conflict):
    """An entity with that name or id already exists."""

    code = "EntityAlreadyExists"


class LimitExceeded(Conflict):
    """A quota or size limit would be exceeded."""

    code = "LimitExceeded"


class Throttling(LakevaultError):
    """The caller exceeded a rate limit; retry after a pause."""

    code = "Throttling"
    http_status = 429


class ConfigurationError(LakevaultError):
    """The platform's configuration or environment is wrong; found before serving anything."""

    code = "InvalidConfiguration"
    http_status = 500


class SchemaMismatch(ConfigurationError):
    """The metadata database schema does not match this version of the code."""

    code = "SchemaMismatch"


class ServiceUnavailable(LakevaultError):
    """A dependency (database, object store, key agent) cannot be reached right now."""

    code = "ServiceUnavailable"
    http_status = 503


class InternalFailure(LakevaultError):
    """An unexpected failure; details are logged with the request id, never returned."""

    code = "InternalFailure"
    http_status = 500
