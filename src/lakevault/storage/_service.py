"""The storage service: buckets, objects and listings over one core (gate, keys, backend)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lakevault.core import Clock, RandomSource
from lakevault.db import Database
from lakevault.gate import Gate
from lakevault.kms import PlatformRootKey
from lakevault.storage._backends import ObjectBackend
from lakevault.storage._batch_delete import DeleteOutcome, DeleteTarget, delete_objects
from lakevault.storage._buckets import Buckets
from lakevault.storage._core import StorageCore
from lakevault.storage._keys import BucketKeys
from lakevault.storage._lifecycle import BucketLifecycle
from lakevault.storage._lifecycle_job import LifecycleRunner
from lakevault.storage._limits import MAX_OBJECT_BYTES, BucketLimits
from lakevault.storage._listing import MAX_KEYS, list_objects
from lakevault.storage._lock import ObjectLock
from lakevault.storage._multipart import MultipartUploads
from lakevault.storage._multipart_types import DEFAULT_MIN_PART_BYTES
from lakevault.storage._objects import Objects
from lakevault.storage._presign import PresignedUrls
from lakevault.storage._public_access import PublicAccess
from lakevault.storage._types import Caller, ListPage
from lakevault.storage._versions import VersionsPage, list_object_versions


class ObjectStorage:
    """Every storage operation of one process: ``buckets``, ``objects``, ``lock`` (object lock)
    and :meth:`list_objects`."""

    def __init__(
        self,
        *,
        database: Database,
        gate: Gate,
        keys: BucketKeys,
        backend: ObjectBackend,
        clock: Clock,
        random: RandomSource,
        region: str,
        root_key: Callable[[], PlatformRootKey] | None = None,
        max_object_bytes: int = MAX_OBJECT_BYTES,
        multipart_min_part_bytes: int = DEFAULT_MIN_PART_BYTES,
    ) -> None:
        self._core = StorageCore(
            database=database,
            gate=gate,
            keys=keys,
            backend=backend,
            clock=clock,
            random=random,
            region=region,
        )
        self.backend = backend
        self.buckets = Buckets(self._core)
        self.limits = BucketLimits(self._core, platform_max_object_bytes=max_object_bytes)
        self.objects = Objects(self._core, limits=self.limits)
        self.multipart = MultipartUploads(
            self._core, self.objects, min_part_bytes=multipart_min_part_bytes, limits=self.limits
        )
        self.presigned = PresignedUrls(self._core, root_key=root_key)
        self.public_access = PublicAccess(self._core)
        self.lock = ObjectLock(self._core)
        self.lifecycle = BucketLifecycle(self._core)

    def lifecycle_runner(self) -> LifecycleRunner:
        """The runner of the lifecycle job (``storage.lifecycle``), over this storage's core."""
        return LifecycleRunner(self._core)

    def delete_objects(
        self,
        caller: Caller,
        bucket: str,
        targets: Sequence[DeleteTarget],
        *,
        bypass_governance: bool = False,
    ) -> tuple[DeleteOutcome, ...]:
        """DeleteObjects: each key its own ``s3:DeleteObject(Version)`` decision; see
        :mod:`lakevault.storage._batch_delete`."""
        return delete_objects(
            self.objects, caller, bucket, targets, bypass_governance=bypass_governance
        )

    def list_object_versions(
        self,
        caller: Caller,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        max_keys: int = MAX_KEYS,
        key_marker: str | None = None,
        version_id_marker: str | None = None,
    ) -> VersionsPage:
        """``s3:ListBucketVersions``; see :mod:`lakevault.storage._versions`."""
        return list_object_versions(
            self._core,
            caller,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
        )

    def list_objects(
        self,
        caller: Caller,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        max_keys: int = MAX_KEYS,
        continuation_token: str | None = None,
        start_after: str | None = None,
    ) -> ListPage:
        """``s3:ListBucket`` (ListObjectsV2 semantics); see :mod:`lakevault.storage._listing`."""
        return list_objects(
            self._core,
            caller,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            continuation_token=continuation_token,
            start_after=start_after,
        )
