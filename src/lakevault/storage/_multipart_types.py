"""The values multipart uploads hand in and out (frozen, slotted, keyword-only; STYLE.md §4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

_EMPTY: Mapping[str, str] = MappingProxyType({})

#: S3's part numbers: 1 to 10,000.
MIN_PART_NUMBER = 1
MAX_PART_NUMBER = 10_000
#: S3's smallest part but the last (a setting: ``storage_multipart_min_part_bytes``).
DEFAULT_MIN_PART_BYTES = 5 * 1024 * 1024
#: S3's largest part.
MAX_PART_BYTES = 5 * 1024 * 1024 * 1024
#: At most this many parts or uploads in one listing page (S3's default and maximum).
MAX_LISTED = 1000
#: Uploads older than this many days are aborted by the cleanup job unless configured otherwise.
DEFAULT_ABORT_AFTER_DAYS = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadInfo:
    """A multipart upload in progress."""

    bucket: str
    key: str
    upload_id: str
    initiator_arn: str
    initiated_at: datetime
    content_type: str
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class PartInfo:
    """One uploaded part: its number, plaintext size and ETag (truncated SHA-256, as objects)."""

    part_number: int
    size: int
    etag: str
    sha256: str
    last_modified: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CompletedPart:
    """One entry of a CompleteMultipartUpload request: a part number and the ETag it returned."""

    part_number: int
    etag: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PartsPage:
    """One page of ListParts."""

    bucket: str
    key: str
    upload_id: str
    parts: tuple[PartInfo, ...]
    max_parts: int
    part_number_marker: int
    is_truncated: bool
    next_part_number_marker: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadsPage:
    """One page of ListMultipartUploads (ordered by key, then initiation time and upload id)."""

    bucket: str
    prefix: str
    uploads: tuple[UploadInfo, ...]
    max_uploads: int
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None
