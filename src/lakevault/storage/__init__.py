"""Object storage: buckets and encrypted objects, every action through the gate.

Object bytes are stored only in the encrypted chunked format of :mod:`lakevault.kms`, under a
data key of their own that the bucket's KMS key wraps (:mod:`lakevault.keys`); metadata is in
the database; blobs are in a backend (a local directory or any S3-compatible store, through
obstore). docs/storage.md explains the model.
"""

from lakevault.storage._backends import (
    BlobReader,
    BlobWriter,
    LocalBackend,
    ObjectBackend,
    S3Backend,
)
from lakevault.storage._errors import (
    BackendUnavailable,
    BucketAlreadyExists,
    BucketNotEmpty,
    EntityTooLarge,
    IncompleteBody,
    InvalidBucketName,
    InvalidBucketState,
    InvalidObjectKey,
    NoSuchBucket,
    NoSuchBucketPolicy,
    NoSuchVersion,
    NotModified,
    PreconditionFailed,
    StorageFull,
)

__all__ = [
    "BackendUnavailable",
    "BlobReader",
    "BlobWriter",
    "BucketAlreadyExists",
    "BucketNotEmpty",
    "EntityTooLarge",
    "IncompleteBody",
    "InvalidBucketName",
    "InvalidBucketState",
    "InvalidObjectKey",
    "LocalBackend",
    "NoSuchBucket",
    "NoSuchBucketPolicy",
    "NoSuchVersion",
    "NotModified",
    "ObjectBackend",
    "PreconditionFailed",
    "S3Backend",
    "StorageFull",
]
