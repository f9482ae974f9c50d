"""ListObjectVersions: every version and delete marker, newest first within a key.

Keys come in UTF-8 byte order, and each key's versions newest first (by ``sequence``, which
never ties). Paging follows S3: ``key-marker`` alone resumes after that key; with
``version-id-marker`` it resumes after that version of that key. The answer names the next
markers when it is truncated. ``s3:ListBucketVersions`` decides, with ``s3:prefix`` and
``s3:max-keys`` (and ``s3:delimiter``) in the context. A delimiter rolls keys up into common
prefixes as in ListObjectsV2 (docs/storage.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from lakevault.core.errors import InvalidParameterValue
from lakevault.db import models
from lakevault.storage._core import StorageCore
from lakevault.storage._listing import MAX_KEYS, successor
from lakevault.storage._names import bucket_arn
from lakevault.storage._objects import _info
from lakevault.storage._types import Caller, ObjectInfo

#: Rows read per query while a page is being filled.
_BATCH = 200


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
    delimiter: str | None = None
    common_prefixes: tuple[str, ...] = ()


def list_object_versions(
    core: StorageCore,
    caller: Caller,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str | None = None,
    max_keys: int = MAX_KEYS,
    key_marker: str | None = None,
    version_id_marker: str | None = None,
) -> VersionsPage:
    """``s3:ListBucketVersions``: versions and delete markers of ``bucket`` under ``prefix``.

    With a ``delimiter``, the keys that contain it after the prefix are rolled up into one
    common prefix each (``CommonPrefixes``), which counts as one entry against ``max_keys``;
    a page that ends on one names it as ``next_key_marker`` (and no version id marker), and a
    ``key_marker`` that is such a prefix resumes after everything under it, as in S3.
    """
    if not max_keys >= 0:
        raise InvalidParameterValue("max-keys must not be negative", code="InvalidArgument")
    if version_id_marker is not None and not key_marker:
        raise InvalidParameterValue(
            "version-id-marker needs key-marker as well", code="InvalidArgument"
        )
    max_keys = min(max_keys, MAX_KEYS)
    delimiter = delimiter or None
    record = core.load_bucket(bucket)
    context: dict[str, str] = {"s3:prefix": prefix, "s3:max-keys": str(max_keys)}
    parameters: dict[str, object] = {"bucketName": bucket, "prefix": prefix}
    if delimiter is not None:
        context["s3:delimiter"] = delimiter
        parameters["delimiter"] = delimiter
    core.authorize(
        caller,
        action="s3:ListBucketVersions",
        resource=bucket_arn(bucket),
        bucket=record,
        read_only=True,
        parameters=parameters,
        context=context,
    )
    with core.database.read_session() as session:
        after = _start(
            session,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
        )
        entries, truncated = _scan(
            session, bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys, after=after
        )
    versions = tuple(entry for entry in entries if isinstance(entry, VersionEntry))
    last = entries[-1] if truncated and entries else None
    next_key: str | None = None
    next_version: str | None = None
    if isinstance(last, VersionEntry):
        next_key = last.info.key
        next_version = last.info.version_id or "null"
    elif isinstance(last, str):
        next_key = last
    return VersionsPage(
        bucket=bucket,
        prefix=prefix,
        max_keys=max_keys,
        versions=versions,
        is_truncated=truncated,
        next_key_marker=next_key,
        next_version_id_marker=next_version,
        delimiter=delimiter,
        common_prefixes=tuple(entry for entry in entries if isinstance(entry, str)),
    )


def _start(
    session: Session,
    bucket: str,
    *,
    prefix: str,
    delimiter: str | None,
    key_marker: str | None,
    version_id_marker: str | None,
) -> ColumnElement[bool] | None:
    """Where the listing resumes: after a version, after a key, or after a common prefix."""
    objects = models.ObjectVersion
    if not key_marker:
        return None
    if version_id_marker is not None:
        marker_sequence = _marker_sequence(session, bucket, key_marker, version_id_marker)
        return _after_version(key_marker, marker_sequence)
    if delimiter is not None and _rolled_up(key_marker, prefix, delimiter) == key_marker:
        return objects.key >= successor(key_marker)
    return objects.key > key_marker


def _scan(
    session: Session,
    bucket: str,
    *,
    prefix: str,
    delimiter: str | None,
    max_keys: int,
    after: ColumnElement[bool] | None,
) -> tuple[list[VersionEntry | str], bool]:
    """Up to ``max_keys`` entries (versions, common prefixes) in order, and whether more
    follow. Everything under a common prefix is skipped in one step."""
    objects = models.ObjectVersion
    entries: list[VersionEntry | str] = []
    while True:
        query = select(objects).where(objects.bucket_name == bucket)
        if prefix:
            query = query.where(objects.key >= prefix, objects.key < successor(prefix))
        if after is not None:
            query = query.where(after)
        rows = session.scalars(
            query.order_by(objects.key, objects.sequence.desc()).limit(_BATCH)
        ).all()
        restart: str | None = None
        for row in rows:
            if len(entries) >= max_keys:
                return entries, True
            common = _rolled_up(row.key, prefix, delimiter)
            if common is not None:
                entries.append(common)
                restart = common
                break
            entries.append(VersionEntry(info=_info(row), is_latest=row.is_latest))
        if restart is not None:
            after = objects.key >= successor(restart)
            continue
        if len(rows) < _BATCH:
            return entries, False
        after = _after_version(rows[-1].key, rows[-1].sequence)


def _rolled_up(key: str, prefix: str, delimiter: str | None) -> str | None:
    """The common prefix ``key`` rolls up into (through the first delimiter after the
    prefix), or ``None``."""
    if delimiter is None or not key.startswith(prefix):
        return None
    cut = key.find(delimiter, len(prefix))
    return None if cut < 0 else key[: cut + len(delimiter)]


def _after_version(key: str, sequence: int) -> ColumnElement[bool]:
    """Rows after version ``sequence`` of ``key`` in listing order (key, newest first)."""
    objects = models.ObjectVersion
    return or_(objects.key > key, and_(objects.key == key, objects.sequence < sequence))


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
