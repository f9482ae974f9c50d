"""Streaming limits per bucket: the largest object a PUT may store, enforced while streaming.

A bucket's limit is a lakevault setting (S3 has no such bucket property), so its actions use the
``lakevault:`` prefix: ``lakevault:PutBucketStreamingLimits`` and
``lakevault:GetBucketStreamingLimits`` on the bucket's ARN, decided by the gate like every
other bucket action. Without a bucket setting the platform default applies
(``storage_max_object_bytes``, 5 TiB unless configured: S3's largest object).

Enforcement has two steps: a declared ``Content-Length`` over the limit is refused before a
byte is read (and before a data key is made); a body that runs past the limit — no declared
length, or a lying one — is refused at the first byte over it, while streaming. Either way it
is ``EntityTooLarge`` (413) and nothing is stored: the partial blob is aborted and forgotten in
the same ``except`` that handles a cut-off upload, and the data key only ever existed wrapped in
that blob's header (docs/decisions/0165).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from sqlalchemy import delete

from lakevault.core.errors import InvalidParameterValue
from lakevault.db import models
from lakevault.gate import ContextValue
from lakevault.kms import Readable
from lakevault.storage._core import BucketState, StorageCore
from lakevault.storage._deadline import MAX_REQUEST_SECONDS, Monotonic, RequestDeadline
from lakevault.storage._errors import EntityTooLarge
from lakevault.storage._names import bucket_arn
from lakevault.storage._types import Caller

#: S3's largest object, and the platform default when settings name none.
MAX_OBJECT_BYTES = 5 * 1024**4
PUT_LIMITS_ACTION = "lakevault:PutBucketStreamingLimits"
GET_LIMITS_ACTION = "lakevault:GetBucketStreamingLimits"


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamingLimits:
    """A bucket's streaming limits: its own setting (``None``: none) and what applies."""

    bucket: str
    max_object_bytes: int | None
    platform_max_object_bytes: int
    #: The longest one object upload or download may take (``None``: no limit; ADR 0185).
    max_request_seconds: int | None = None

    @property
    def effective_max_object_bytes(self) -> int:
        """The limit a PUT meets: the bucket's, else the platform default."""
        if self.max_object_bytes is not None:
            return self.max_object_bytes
        return self.platform_max_object_bytes


class KeepLimit(enum.Enum):
    """The sentinel for "leave this limit as it is" in :meth:`BucketLimits.put_limits`."""

    KEEP = "keep"


#: Leave a limit as the bucket has it (a ``PUT`` that names only the other one).
KEEP_LIMIT = KeepLimit.KEEP


class EntityTooSmall(InvalidParameterValue):
    """A body shorter than a pre-signed URL's minimum length (S3's POST-policy code)."""

    code = "EntityTooSmall"


class SizeLimitedReader:
    """Reads from ``source`` and refuses a body outside ``[min_bytes, max_bytes]``.

    Over the maximum: ``EntityTooLarge`` at the first byte past it, so at most one buffer more
    than the limit is ever read. Under the minimum: ``EntityTooSmall`` when the body ends,
    before the caller can commit anything. ``what`` names the rule in the message.
    """

    def __init__(
        self, source: Readable, *, max_bytes: int | None, min_bytes: int = 0, what: str
    ) -> None:
        self._source = source
        self._max = max_bytes
        self._min = min_bytes
        self._what = what
        self.length = 0

    def readinto(self, buffer: memoryview, /) -> int:
        count = self._source.readinto(buffer) or 0
        self.length += count
        if self._max is not None and self.length > self._max:
            raise EntityTooLarge(
                f"the body is larger than {self._what} allows ({self._max} bytes); nothing "
                "was stored"
            )
        if count == 0 and self.length < self._min:
            raise EntityTooSmall(
                f"the body is {self.length} bytes, smaller than {self._what} allows "
                f"(at least {self._min}); nothing was stored"
            )
        return count


def check_declared_length(
    content_length: int | None, *, max_bytes: int | None, min_bytes: int = 0, what: str
) -> None:
    """Refuse a declared ``Content-Length`` outside the range before any byte is read."""
    if content_length is None:
        return
    if max_bytes is not None and content_length > max_bytes:
        raise EntityTooLarge(
            f"Content-Length {content_length} is larger than {what} allows ({max_bytes} "
            "bytes); nothing was read or stored"
        )
    if content_length < min_bytes:
        raise EntityTooSmall(
            f"Content-Length {content_length} is smaller than {what} allows (at least "
            f"{min_bytes} bytes); nothing was read or stored"
        )


class BucketLimits:
    """Get and set a bucket's streaming limits through the gate; apply them to uploads."""

    def __init__(
        self,
        core: StorageCore,
        *,
        platform_max_object_bytes: int,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        if not 1 <= platform_max_object_bytes <= MAX_OBJECT_BYTES:
            raise ValueError(
                f"platform_max_object_bytes must be 1..{MAX_OBJECT_BYTES}, "
                f"got {platform_max_object_bytes}"
            )
        self._core = core
        self.platform_max_object_bytes = platform_max_object_bytes
        self._monotonic = monotonic

    def start_deadline(self, state: BucketState) -> RequestDeadline | None:
        """The deadline of a transfer into or out of the bucket of ``state`` starting now, or
        ``None`` when the bucket sets no maximum request duration (docs/decisions/0185)."""
        if state.max_request_seconds is None:
            return None
        return RequestDeadline.start(
            state.record.name, state.max_request_seconds, monotonic=self._monotonic
        )

    def max_object_bytes(self, bucket: str) -> int:
        """The limit a PUT into ``bucket`` meets (no decision: the caller already has one)."""
        return self.effective(self._core.bucket_state(bucket).max_object_bytes)

    def effective(self, own: int | None) -> int:
        """The limit that applies given a bucket's own setting ``own`` (``None``: none)."""
        return own if own is not None else self.platform_max_object_bytes

    def check_size(self, bucket: str, size: int) -> None:
        """Refuse an object of known ``size`` (a copy's source) over the bucket's limit."""
        check_declared_length(
            size, max_bytes=self.max_object_bytes(bucket), what=describe_limit(bucket)
        )

    def limit_body(self, bucket: str, body: Readable, content_length: int | None) -> Readable:
        """``body`` bounded by the bucket's limit; a declared length over it fails at once."""
        limit = self.max_object_bytes(bucket)
        check_declared_length(content_length, max_bytes=limit, what=describe_limit(bucket))
        return SizeLimitedReader(body, max_bytes=limit, what=describe_limit(bucket))

    def get_limits(self, caller: Caller, bucket: str) -> StreamingLimits:
        """``lakevault:GetBucketStreamingLimits``."""
        core = self._core
        record = core.load_bucket(bucket)
        core.authorize(
            caller,
            action=GET_LIMITS_ACTION,
            resource=bucket_arn(bucket),
            bucket=record,
            read_only=True,
            parameters={"bucketName": bucket},
        )
        with core.database.read_session() as session:
            row = session.get(models.BucketLimits, bucket)
            own = row.max_object_bytes if row is not None else None
            seconds = row.max_request_seconds if row is not None else None
        return StreamingLimits(
            bucket=bucket,
            max_object_bytes=own,
            platform_max_object_bytes=self.platform_max_object_bytes,
            max_request_seconds=seconds,
        )

    def put_limits(
        self,
        caller: Caller,
        bucket: str,
        *,
        max_object_bytes: int | KeepLimit | None = KEEP_LIMIT,
        max_request_seconds: int | KeepLimit | None = KEEP_LIMIT,
    ) -> StreamingLimits:
        """``lakevault:PutBucketStreamingLimits``: ``None`` returns the size to the platform
        default and removes the maximum request duration; :data:`KEEP_LIMIT` leaves one as is.

        A bucket may set any limit from 1 byte to 5 TiB, also above the platform default: the
        default is a default, not a ceiling (an operator who wants one uses a guardrail on this
        action with ``lakevault:MaxObjectBytes``, or ``lakevault:MaxRequestSeconds``).
        """
        if isinstance(max_object_bytes, int) and not 1 <= max_object_bytes <= MAX_OBJECT_BYTES:
            raise InvalidParameterValue(
                f"maxObjectBytes must be between 1 and {MAX_OBJECT_BYTES} (5 TiB); got "
                f"{max_object_bytes}",
                code="InvalidArgument",
            )
        if (
            isinstance(max_request_seconds, int)
            and not 1 <= max_request_seconds <= MAX_REQUEST_SECONDS
        ):
            raise InvalidParameterValue(
                f"maxRequestSeconds must be between 1 and {MAX_REQUEST_SECONDS} (7 days); got "
                f"{max_request_seconds}",
                code="InvalidArgument",
            )
        core = self._core
        record = core.load_bucket(bucket)
        if isinstance(max_object_bytes, KeepLimit) or isinstance(max_request_seconds, KeepLimit):
            with core.database.read_session() as session:
                row = session.get(models.BucketLimits, bucket)
                if isinstance(max_object_bytes, KeepLimit):
                    max_object_bytes = row.max_object_bytes if row is not None else None
                if isinstance(max_request_seconds, KeepLimit):
                    max_request_seconds = row.max_request_seconds if row is not None else None
        context: dict[str, ContextValue] = {}
        if max_object_bytes is not None:
            context["lakevault:MaxObjectBytes"] = max_object_bytes
        if max_request_seconds is not None:
            context["lakevault:MaxRequestSeconds"] = max_request_seconds
        parameters = {
            "bucketName": bucket,
            "maxObjectBytes": max_object_bytes,
            "maxRequestSeconds": max_request_seconds,
        }
        core.authorize(
            caller,
            action=PUT_LIMITS_ACTION,
            resource=bucket_arn(bucket),
            bucket=record,
            read_only=False,
            parameters=parameters,
            context=context,
        )
        with core.database.session() as session:
            core.lock_bucket(session, bucket)
            session.execute(
                delete(models.BucketLimits).where(models.BucketLimits.bucket_name == bucket)
            )
            if max_object_bytes is not None or max_request_seconds is not None:
                session.add(
                    models.BucketLimits(
                        bucket_name=bucket,
                        max_object_bytes=max_object_bytes,
                        max_request_seconds=max_request_seconds,
                        updated_at=core.clock.now(),
                    )
                )
            core.record_change(
                session,
                caller,
                action=PUT_LIMITS_ACTION,
                resource=bucket_arn(bucket),
                resource_account=record.account_id,
                parameters=parameters,
            )
        return StreamingLimits(
            bucket=bucket,
            max_object_bytes=max_object_bytes,
            platform_max_object_bytes=self.platform_max_object_bytes,
            max_request_seconds=max_request_seconds,
        )


def describe_limit(bucket: str) -> str:
    """How messages name ``bucket``'s object size limit."""
    return f"the bucket {bucket!r}'s maximum object size"
