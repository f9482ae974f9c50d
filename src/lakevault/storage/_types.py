"""The values storage hands in and out: frozen, slotted, keyword-only (STYLE.md §4)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from lakevault.identity import Principal
from lakevault.storage._lock_types import RetentionMode

_EMPTY: Mapping[str, str] = MappingProxyType({})


class Versioning(enum.StrEnum):
    """A bucket's versioning state, as S3 names it (``Unversioned`` is S3's "never enabled")."""

    UNVERSIONED = "Unversioned"
    ENABLED = "Enabled"
    SUSPENDED = "Suspended"


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    """The authenticated caller of one request and the facts of its connection."""

    principal: Principal
    request_id: str
    source_ip: str | None = None
    user_agent: str | None = None
    secure_transport: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketInfo:
    name: str
    account_id: str
    created_at: datetime
    versioning: Versioning
    kms_key_id: str
    tags: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    block_public_access: bool = True
    has_policy: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectInfo:
    """One object version as a client sees it. ``version_id`` is ``None`` for S3's null version."""

    bucket: str
    key: str
    version_id: str | None
    size: int
    etag: str
    sha256: str
    content_type: str
    last_modified: datetime
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    is_delete_marker: bool = False
    #: The version's lock as far as the caller may see it (GET and HEAD only; ``None``: no
    #: lock state, or none the caller may read — docs/decisions/0183).
    object_lock: VisibleObjectLock | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VisibleObjectLock:
    """What S3's ``x-amz-object-lock-*`` response headers show of a version's lock.

    ``mode``/``retain_until`` are set when the version has a retention and the caller may
    ``s3:GetObjectRetention``; ``legal_hold`` is set when the caller may
    ``s3:GetObjectLegalHold`` (``False``: the hold is off).
    """

    mode: RetentionMode | None = None
    retain_until: datetime | None = None
    legal_hold: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Conditions:
    """S3's conditional request headers. ETags are compared with or without quotes."""

    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ByteRange:
    """An HTTP byte range: ``first``..``last`` inclusive (``last`` ``None``: to the end), or the
    final ``suffix_length`` bytes."""

    first: int | None = None
    last: int | None = None
    suffix_length: int | None = None

    def resolve(self, size: int) -> tuple[int, int]:
        """(offset, length) within an object of ``size`` bytes; length may be clipped to 0."""
        if self.suffix_length is not None:
            length = min(self.suffix_length, size)
            return size - length, length
        first = self.first or 0
        last = size - 1 if self.last is None else min(self.last, size - 1)
        return first, max(0, last - first + 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListPage:
    """One page of a ListObjectsV2 answer."""

    bucket: str
    prefix: str
    delimiter: str | None
    max_keys: int
    objects: tuple[ObjectInfo, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_continuation_token: str | None

    @property
    def key_count(self) -> int:
        return len(self.objects) + len(self.common_prefixes)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteResult:
    """What DeleteObject did: removed a version, or added a delete marker (``version_id``)."""

    version_id: str | None
    delete_marker: bool
