"""Aborting abandoned multipart uploads: a daily job on the jobs queue.

An upload nobody completes or aborts would keep its part blobs (and its wrapped data key)
forever. S3 leaves this to a lifecycle rule (``AbortIncompleteMultipartUpload``); lakevault also
has a platform default: uploads initiated more than ``storage_multipart_abort_after_days`` days
ago (7 by default) are aborted. A per-bucket number of days, when a lifecycle rule sets one,
is passed in as ``per_bucket`` (the lifecycle rules' reader is not wired yet: docs/storage.md).

Like the orphan sweep this is platform maintenance without the gate (docs/decisions/0151,
0160): nothing of an upload was ever readable, and its blobs go with its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select

from lakevault.core import Clock
from lakevault.db import Database, models
from lakevault.jobs import PeriodicTask, RetryPolicy, TaskContext, TaskDefinition
from lakevault.storage._backends import ObjectBackend
from lakevault.storage._errors import NoSuchUpload
from lakevault.storage._multipart import drop_upload
from lakevault.storage._multipart_types import DEFAULT_ABORT_AFTER_DAYS
from lakevault.storage._sweep import forget_blob

ABORT_UPLOADS_TASK = "storage.abort-stale-uploads"

#: Days after initiation per bucket, for buckets whose lifecycle says so.
BucketAbortDays = Callable[[], Mapping[str, int]]


def abort_stale_uploads(
    database: Database,
    backend: ObjectBackend,
    clock: Clock,
    *,
    older_than: timedelta,
    per_bucket: Mapping[str, timedelta] | None = None,
) -> int:
    """Abort every upload initiated more than ``older_than`` ago (``per_bucket`` overrides the
    age for the buckets it names); return how many were aborted."""
    now = clock.now()
    overrides = dict(per_bucket or {})
    shortest = min([older_than, *overrides.values()])
    with database.read_session() as session:
        candidates = session.execute(
            select(
                models.MultipartUpload.upload_id,
                models.MultipartUpload.bucket_name,
                models.MultipartUpload.initiated_at,
            ).where(models.MultipartUpload.initiated_at < now - shortest)
        ).all()
    aborted = 0
    for upload_id, bucket, initiated_at in candidates:
        if initiated_at >= now - overrides.get(bucket, older_than):
            continue
        try:
            with database.session() as session:
                prefix = drop_upload(session, database, clock, upload_id)
        except NoSuchUpload:
            continue  # completed or aborted meanwhile
        forget_blob(database, backend, prefix)
        aborted += 1
    return aborted


class AbortStaleUploads(BaseModel):
    """Payload of :data:`ABORT_UPLOADS_TASK`: the default age, in days, of an abandoned upload."""

    older_than_days: float = Field(default=DEFAULT_ABORT_AFTER_DAYS, gt=0)


def multipart_tasks(
    *,
    database: Database,
    backend: ObjectBackend,
    clock: Clock,
    abort_after_days: float = DEFAULT_ABORT_AFTER_DAYS,
    bucket_abort_days: BucketAbortDays | None = None,
) -> tuple[list[TaskDefinition[AbortStaleUploads]], list[PeriodicTask]]:
    """The cleanup of abandoned uploads and its daily schedule, for ``runtime/_tasks.py``."""

    def run(context: TaskContext, payload: AbortStaleUploads) -> None:
        overrides = bucket_abort_days() if bucket_abort_days is not None else {}
        abort_stale_uploads(
            database,
            backend,
            clock,
            older_than=timedelta(days=payload.older_than_days),
            per_bucket={bucket: timedelta(days=days) for bucket, days in overrides.items()},
        )

    return (
        [
            TaskDefinition(
                name=ABORT_UPLOADS_TASK,
                payload_model=AbortStaleUploads,
                handler=run,
                timeout_seconds=1800.0,
                retry=RetryPolicy(max_attempts=3, base_delay_seconds=60.0),
            )
        ],
        [
            PeriodicTask(
                name="storage-abort-stale-uploads",
                task_name=ABORT_UPLOADS_TASK,
                cron="41 3 * * *",
                payload=AbortStaleUploads(older_than_days=abort_after_days),
                catch_up_seconds=86400.0,
            )
        ],
    )
