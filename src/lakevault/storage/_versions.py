"""ListObjectVersions: every version and delete marker, newest first within a key.

Keys come in UTF-8 byte order, and each key's versions newest first (by ``sequence``, which
never ties). Paging follows S3: ``key-marker`` alone resumes after that key; with
``version-id-marker`` it resumes after that version of that key. The answer names the next
markers when it is truncated. ``s3:ListBucketVersions`` decides, with ``s3:prefix`` and
``s3:max-keys`` in the context. Delimiters are not supported here (docs/storage.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from lakevault.core.errors import InvalidParameterValue
from lakevault.db import models
from lakevault.storage._core import StorageCore
from lakevault.storage._listing import MAX_KEYS, successor
from lakevault.storage._names import bucket_arn
from lakevault.storage._objects import _info
from lakevault.storage._types import Caller, ObjectInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionEntry:
    """One version or delete marker, and whether it is the key's current one."""

    info: ObjectInfo
    is_latest: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionsPage:
    """One page of a ListObjectVersions answer."""

    bucket: str
    prefix: str
    max_keys: int
    versions: tuple[VersionEntry, ...]
    is_truncated: bool
    next_key_marker: str | None
    next_version_id_marker: str | None


def _version_marker(row: models.ObjectVersion) -> str:
    return "null" if row.is_null_version else row.version_id


def list_object_versions(
    core: StorageCore,
    caller: Caller,
    bucket: str,
    *,
    prefix: str = "",
    max_keys: int = MAX_KEYS,
    key_marker: str | None = None,
    version_id_marker: str | None = None,
) -> VersionsPage:
    """``s3:ListBucketVersions``: versions and delete markers of ``bucket`` under ``prefix``."""
    if not max_keys >= 0:
        raise InvalidParameterValue("max-keys must not be negative", code="InvalidArgument")
    if version_id_marker is not None and not key_marker:
        raise InvalidParameterValue(
            "version-id-marker needs key-marker as well", code="InvalidArgument"
        )
    max_keys = min(max_keys, MAX_KEYS)
    record = core.load_bucket(bucket)
    core.authorize(
        caller,
        action="s3:ListBucketVersions",
        resource=bucket_arn(bucket),
        bucket=record,
        read_only=True,
        parameters={"bucketName": bucket, "prefix": prefix},
        context={"s3:prefix": prefix, "s3:max-keys": str(max_keys)},
    )
    objects = models.ObjectVersion
    with core.database.read_session() as session:
        query = select(objects).where(objects.bucket_name == bucket)
        if prefix:
            query = query.where(objects.key >= prefix, objects.key < successor(prefix))
        if key_marker:
            after_key = objects.key > key_marker
            if version_id_marker is not None:
                marker_sequence = _marker_sequence(session, bucket, key_marker, version_id_marker)
                query = query.where(
                    or_(
                        after_key,
                        and_(objects.key == key_marker, objects.sequence < marker_sequence),
                    )
                )
            else:
                query = query.where(after_key)
        rows = session.scalars(
            query.order_by(objects.key, objects.sequence.desc()).limit(max_keys + 1)
        ).all()
        truncated = len(rows) > max_keys
        page = rows[:max_keys]
        versions = tuple(VersionEntry(info=_info(row), is_latest=row.is_latest) for row in page)
        last = page[-1] if truncated and page else None
        return VersionsPage(
            bucket=bucket,
            prefix=prefix,
            max_keys=max_keys,
            versions=versions,
            is_truncated=truncated,
            next_key_marker=last.key if last is not None else None,
            next_version_id_marker=_version_marker(last) if last is not None else None,
        )


def _marker_sequence(session: Session, bucket: str, key: str, version_id: str) -> int:
    objects = models.ObjectVersion
    condition = (
        objects.is_null_version.is_(True)
        if version_id == "null"
        else objects.version_id == version_id
    )
    found = session.scalar(
        select(objects.sequence).where(objects.bucket_name == bucket, objects.key == key, condition)
    )
    if found is None:
        raise InvalidParameterValue(
            f"version-id-marker {version_id!r} is not a version of {key!r}; start the listing "
            "again from key-marker alone",
            code="InvalidArgument",
        )
    return int(found)
