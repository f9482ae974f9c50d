"""The one admission check of every object write: the bucket, the gate, the bucket's limit.

``PutObject``, ``CreateMultipartUpload``, ``UploadPart`` and ``CompleteMultipartUpload`` all
write (part of) a new object version of one key, and all are ``s3:PutObject`` on that key's ARN,
decided with the bucket's policy, and bounded by the bucket's streaming limit. They share this
function so that the checks cannot drift apart, and so that the bucket's record and its limit
come from one cached lookup (``StorageCore.bucket_state``, ADR 0177).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakevault.gate import Proof
from lakevault.kms import Readable
from lakevault.storage._core import BucketRecord, BucketState, StorageCore, _request
from lakevault.storage._deadline import DeadlineReader, RequestDeadline
from lakevault.storage._limits import (
    BucketLimits,
    SizeLimitedReader,
    check_declared_length,
    describe_limit,
)
from lakevault.storage._names import object_arn
from lakevault.storage._types import Caller


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectWrite:
    """An admitted write: the bucket, the gate's proof, and the object size limit that applies
    (``None``: the service runs without streaming limits)."""

    record: BucketRecord
    proof: Proof
    max_object_bytes: int | None
    #: The bucket's maximum request duration, counted from the admission (ADR 0185).
    deadline: RequestDeadline | None = None

    def limit_body(self, body: Readable, content_length: int | None) -> Readable:
        """``body`` bounded by the limit; a declared length over it fails before any read. A
        bucket's maximum request duration cuts a body still streaming when it has passed."""
        if self.deadline is not None:
            body = DeadlineReader(body, self.deadline)
        if self.max_object_bytes is None:
            return body
        what = describe_limit(self.record.name)
        check_declared_length(content_length, max_bytes=self.max_object_bytes, what=what)
        return SizeLimitedReader(body, max_bytes=self.max_object_bytes, what=what)


def authorize_object_write(
    core: StorageCore,
    limits: BucketLimits | None,
    caller: Caller,
    state: BucketState,
    key: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    event_name: str | None = None,
    defer_audit: bool = False,
) -> ObjectWrite:
    """The gate's ``s3:PutObject`` proof for ``key`` in the bucket of ``state``, with the
    bucket's limit; ``AccessDenied`` otherwise (recorded by the gate).

    ``defer_audit`` (ADR 0230): an allowed decision's event is queued, not awaited; the caller
    must make nothing visible before ``proof.wait_recorded()`` (or the data key's
    ``wait_recorded()``, which chains it) and must call it on every path that answers early.
    """
    record = state.record
    proof = core.gate.require(
        _request(
            caller,
            action="s3:PutObject",
            resource=object_arn(record.name, key),
            bucket=record,
            read_only=False,
            parameters=parameters or {"bucketName": record.name, "key": key},
            event_name=event_name,
        ),
        defer_audit=defer_audit,
    )
    return ObjectWrite(
        record=record,
        proof=proof,
        max_object_bytes=None if limits is None else limits.effective(state.max_object_bytes),
        deadline=None if limits is None else limits.start_deadline(state),
    )
