"""Aborting abandoned multipart uploads: a daily job on the jobs queue.

An upload nobody completes or aborts would keep its part blobs (and its wrapped data key)
forever. S3 leaves this to a lifecycle rule (``AbortIncompleteMultipartUpload``); lakevault
applies the bucket's rule for the upload's key when there is one
(:func:`lakevault.storage._lifecycle.abort_after_days`), and otherwise a platform default:
uploads initiated more than ``storage_multipart_abort_after_days`` days ago (7 by default).

Like the orphan sweep this is platform maintenance without the gate (docs/decisions/0151,
0160): nothing of an upload was ever readable, and its blobs go with its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy import delete, exists, select

from lakevault.core import Clock
from lakevault.db import Database, models
from lakevault.jobs import PeriodicTask, RetryPolicy, TaskContext, TaskDefinition
from lakevault.storage._backends import ObjectBackend
from lakevault.storage._errors import NoSuchUpload
from lakevault.storage._lifecycle import abort_after_days as lifecycle_abort_days
from lakevault.storage._multipart import drop_upload
from lakevault.storage._multipart_types import DEFAULT_ABORT_AFTER_DAYS
from lakevault.storage._sweep import forget_blob

ABORT_UPLOADS_TASK = "storage.abort-stale-uploads"

#: The lifecycle's abort age in days for (bucket, key), or ``None`` when no rule says.
RuleDays = Callable[[str, str], int | None]


def abort_stale_uploads(
    database: Database,
    backend: ObjectBackend,
    clock: Clock,
    *,
    older_than: timedelta,
    rule_days: RuleDays | None = None,
) -> int:
    """Abort every upload older than its bucket's lifecycle rule says for its key (``rule_days``)
    or, where no rule says, than ``older_than``; return how many were aborted."""
    now = clock.now()
    with database.read_session() as session:
        candidates = session.execute(
            select(
                models.MultipartUpload.upload_id,
                models.MultipartUpload.bucket_name,
                models.MultipartUpload.key,
                models.MultipartUpload.initiated_at,
            )
        ).all()
    aborted = 0
    for upload_id, bucket, key, initiated_at in candidates:
        days = rule_days(bucket, key) if rule_days is not None else None
        limit = timedelta(days=days) if days is not None else older_than
        if initiated_at >= now - limit:
            continue
        try:
            with database.session() as session:
                prefix = drop_upload(session, database, clock, upload_id)
        except NoSuchUpload:
            continue  # completed or aborted meanwhile
        forget_blob(database, backend, prefix)
        aborted += 1
    forget_stray_parts(database)
    return aborted


def forget_stray_parts(database: Database) -> int:
    """Delete part rows whose version is neither an upload nor an object version any more (a
    version deleted on a path that removed its blobs but not its rows); return how many."""
    parts = models.MultipartPart
    with database.session() as session:
        result = session.execute(
            delete(parts)
            .where(
                ~exists().where(models.MultipartUpload.version_id == parts.version_id),
                ~exists().where(models.ObjectVersion.version_id == parts.version_id),
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class AbortStaleUploads(BaseModel):
    """Payload of :data:`ABORT_UPLOADS_TASK`: the default age, in days, of an abandoned upload."""

    older_than_days: float = Field(default=DEFAULT_ABORT_AFTER_DAYS, gt=0)


def multipart_tasks(
    *,
    database: Database,
    backend: ObjectBackend,
    clock: Clock,
    abort_after_days: float = DEFAULT_ABORT_AFTER_DAYS,
) -> tuple[list[TaskDefinition[AbortStaleUploads]], list[PeriodicTask]]:
    """The cleanup of abandoned uploads and its daily schedule, for ``runtime/_tasks.py``."""

    def run(context: TaskContext, payload: AbortStaleUploads) -> None:
        abort_stale_uploads(
            database,
            backend,
            clock,
            older_than=timedelta(days=payload.older_than_days),
            rule_days=lambda bucket, key: lifecycle_abort_days(database, bucket, key),
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
