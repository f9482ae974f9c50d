"""Errors of object storage, with the codes Amazon S3 answers.

Where they sit in the tree of :mod:`lakevault.core.errors`::

    LakevaultError
    ├── InvalidInput
    │   ├── InvalidBucketName        400  the name breaks S3's bucket naming rules
    │   ├── InvalidObjectKey         400  empty (InvalidArgument), too long (KeyTooLongError),
    │   │                                 a '.'/'..' segment or a control character
    │   │                                 (InvalidObjectName)
    │   ├── EntityTooLarge           413  a body over the limit of its endpoint
    │   ├── IncompleteBody           400  the body ended before its declared length
    │   ├── RequestTimeout           400  a transfer ran past its bucket's maximum request
    │   │                                 duration (docs/decisions/0185)
    │   ├── PreconditionFailed       412  If-Match / If-None-Match / If-Unmodified-Since
    │   ├── InvalidPart              400  a multipart part missing or with another ETag
    │   │                                 (also InvalidPartOrder, EntityTooSmall via ``code``)
    │   └── InvalidBucketState       409  the bucket's state forbids the request
    ├── NotFound
    │   ├── NoSuchBucket             404
    │   ├── NoSuchVersion            404
    │   ├── NoSuchUpload             404  an unknown (or finished) multipart upload id
    │   └── NoSuchBucketPolicy       404  (also NoSuchTagSet through ``code``)
    ├── Conflict
    │   ├── BucketAlreadyExists      409  (BucketAlreadyOwnedByYou through ``code``)
    │   └── BucketNotEmpty           409
    └── ServiceUnavailable
        ├── StorageFull              507  InsufficientStorage: the object store has no space
        └── BackendUnavailable       503  the object store did not answer

``NotModified`` (304) is not an error of the caller: a face answers it with an empty body.
``NoSuchKey`` is core's. Integrity failures of stored objects are the one
:class:`lakevault.kms.IntegrityError`.
"""

from __future__ import annotations

from lakevault.core.errors import (
    Conflict,
    InvalidInput,
    LakevaultError,
    NotFound,
    ServiceUnavailable,
)


class InvalidBucketName(InvalidInput):
    code = "InvalidBucketName"


class InvalidObjectKey(InvalidInput):
    """A key S3 (or lakevault's stricter rules) refuses; ``code`` says which rule."""

    code = "InvalidObjectName"


class EntityTooLarge(InvalidInput):
    code = "EntityTooLarge"
    http_status = 413


class IncompleteBody(InvalidInput):
    code = "IncompleteBody"


class RequestTimeout(InvalidInput):
    """An upload or download ran past its bucket's maximum request duration (S3's code for a
    connection that was too slow, 400)."""

    code = "RequestTimeout"


class PreconditionFailed(InvalidInput):
    code = "PreconditionFailed"
    http_status = 412


class InvalidBucketState(InvalidInput):
    code = "InvalidBucketState"
    http_status = 409


class NotModified(LakevaultError):
    """The object has not changed since the client's copy (If-None-Match, If-Modified-Since)."""

    code = "NotModified"
    http_status = 304


class NoSuchBucket(NotFound):
    code = "NoSuchBucket"


class NoSuchVersion(NotFound):
    code = "NoSuchVersion"


class NoSuchBucketPolicy(NotFound):
    code = "NoSuchBucketPolicy"


class BucketAlreadyExists(Conflict):
    code = "BucketAlreadyExists"


class BucketNotEmpty(Conflict):
    code = "BucketNotEmpty"


class StorageFull(ServiceUnavailable):
    code = "InsufficientStorage"
    http_status = 507


class BackendUnavailable(ServiceUnavailable):
    code = "ServiceUnavailable"


class InvalidPart(InvalidInput):
    """A CompleteMultipartUpload part list S3 refuses; ``code`` says which rule
    (``InvalidPart``, ``InvalidPartOrder``, ``EntityTooSmall``)."""

    code = "InvalidPart"


class NoSuchUpload(NotFound):
    code = "NoSuchUpload"
