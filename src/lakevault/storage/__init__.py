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
    open_backend,
)
from lakevault.storage._batch_delete import MAX_DELETE_KEYS, DeleteOutcome, DeleteTarget
from lakevault.storage._bucket_policy import is_public
from lakevault.storage._data_key_registry import ObjectDataKeys
from lakevault.storage._deadline import MAX_REQUEST_SECONDS
from lakevault.storage._errors import (
    BackendUnavailable,
    BucketAlreadyExists,
    BucketNotEmpty,
    EntityTooLarge,
    IncompleteBody,
    InvalidBucketName,
    InvalidBucketState,
    InvalidObjectKey,
    InvalidPart,
    NoSuchBucket,
    NoSuchBucketPolicy,
    NoSuchUpload,
    NoSuchVersion,
    NotModified,
    PreconditionFailed,
    RequestTimeout,
    StorageFull,
)
from lakevault.storage._key_guard import object_lock_key_guard
from lakevault.storage._keys import BucketKeys, GeneratedDataKey
from lakevault.storage._lifecycle import (
    BucketLifecycle,
    LifecycleRule,
    NoSuchLifecycleConfiguration,
    abort_after_days,
)
from lakevault.storage._lifecycle_job import (
    LIFECYCLE_TASK,
    ApplyLifecycle,
    LifecycleReport,
    LifecycleRunner,
    lifecycle_tasks,
)
from lakevault.storage._limits import (
    KEEP_LIMIT,
    MAX_OBJECT_BYTES,
    BucketLimits,
    EntityTooSmall,
    KeepLimit,
    StreamingLimits,
)
from lakevault.storage._listing import MAX_KEYS
from lakevault.storage._lock import (
    ObjectLock,
    apply_object_lock,
    check_version_deletable,
    release_version_lock,
)
from lakevault.storage._lock_types import (
    DefaultRetention,
    NoSuchObjectLockConfiguration,
    ObjectLockConfiguration,
    ObjectLockConfigurationNotFound,
    ObjectLocked,
    ObjectLockRequest,
    ObjectLockState,
    ObjectRetention,
    RetentionMode,
)
from lakevault.storage._multipart import MultipartUploads, multipart_etag
from lakevault.storage._multipart_cleanup import (
    ABORT_UPLOADS_TASK,
    AbortStaleUploads,
    abort_stale_uploads,
    multipart_tasks,
)
from lakevault.storage._multipart_data_keys import MultipartUploadDataKeys
from lakevault.storage._multipart_types import (
    DEFAULT_ABORT_AFTER_DAYS,
    DEFAULT_MIN_PART_BYTES,
    MAX_PART_NUMBER,
    CompletedPart,
    PartInfo,
    PartsPage,
    UploadInfo,
    UploadsPage,
)
from lakevault.storage._names import MAX_KEY_BYTES, bucket_arn, check_object_key, object_arn
from lakevault.storage._objects import ObjectDownload
from lakevault.storage._presign import (
    PresignedURL,
    PresignedUrls,
    PresignedUse,
    PresignMethod,
    PresignRequest,
    Signer,
    SignerKind,
)
from lakevault.storage._public_access import PublicAccess, PublicAccessBlock
from lakevault.storage._service import ObjectStorage
from lakevault.storage._sweep import SWEEP_TASK, SweepOrphans, storage_tasks
from lakevault.storage._types import (
    BucketInfo,
    ByteRange,
    Caller,
    Conditions,
    DeleteResult,
    ListPage,
    ObjectInfo,
    Versioning,
    VisibleObjectLock,
)
from lakevault.storage._versions import VersionEntry, VersionsPage

__all__ = [
    "ABORT_UPLOADS_TASK",
    "DEFAULT_ABORT_AFTER_DAYS",
    "DEFAULT_MIN_PART_BYTES",
    "KEEP_LIMIT",
    "LIFECYCLE_TASK",
    "MAX_DELETE_KEYS",
    "MAX_KEYS",
    "MAX_KEY_BYTES",
    "MAX_OBJECT_BYTES",
    "MAX_PART_NUMBER",
    "MAX_REQUEST_SECONDS",
    "SWEEP_TASK",
    "AbortStaleUploads",
    "ApplyLifecycle",
    "BackendUnavailable",
    "BlobReader",
    "BlobWriter",
    "BucketAlreadyExists",
    "BucketInfo",
    "BucketKeys",
    "BucketLifecycle",
    "BucketLimits",
    "BucketNotEmpty",
    "ByteRange",
    "Caller",
    "CompletedPart",
    "Conditions",
    "DefaultRetention",
    "DeleteOutcome",
    "DeleteResult",
    "DeleteTarget",
    "EntityTooLarge",
    "EntityTooSmall",
    "GeneratedDataKey",
    "IncompleteBody",
    "InvalidBucketName",
    "InvalidBucketState",
    "InvalidObjectKey",
    "InvalidPart",
    "KeepLimit",
    "LifecycleReport",
    "LifecycleRule",
    "LifecycleRunner",
    "ListPage",
    "LocalBackend",
    "MultipartUploadDataKeys",
    "MultipartUploads",
    "NoSuchBucket",
    "NoSuchBucketPolicy",
    "NoSuchLifecycleConfiguration",
    "NoSuchObjectLockConfiguration",
    "NoSuchUpload",
    "NoSuchVersion",
    "NotModified",
    "ObjectBackend",
    "ObjectDataKeys",
    "ObjectDownload",
    "ObjectInfo",
    "ObjectLock",
    "ObjectLockConfiguration",
    "ObjectLockConfigurationNotFound",
    "ObjectLockRequest",
    "ObjectLockState",
    "ObjectLocked",
    "ObjectRetention",
    "ObjectStorage",
    "PartInfo",
    "PartsPage",
    "PreconditionFailed",
    "PresignMethod",
    "PresignRequest",
    "PresignedURL",
    "PresignedUrls",
    "PresignedUse",
    "PublicAccess",
    "PublicAccessBlock",
    "RequestTimeout",
    "RetentionMode",
    "S3Backend",
    "Signer",
    "SignerKind",
    "StorageFull",
    "StreamingLimits",
    "SweepOrphans",
    "UploadInfo",
    "UploadsPage",
    "VersionEntry",
    "Versioning",
    "VersionsPage",
    "VisibleObjectLock",
    "abort_after_days",
    "abort_stale_uploads",
    "apply_object_lock",
    "bucket_arn",
    "check_object_key",
    "check_version_deletable",
    "is_public",
    "lifecycle_tasks",
    "multipart_etag",
    "multipart_tasks",
    "object_arn",
    "object_lock_key_guard",
    "open_backend",
    "release_version_lock",
    "storage_tasks",
]
