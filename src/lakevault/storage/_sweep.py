"""Removing blobs no version points to: writes a crash interrupted, deletions never finished.

Every blob is named in ``storage_blob_journal`` from just before its write until its version
commits (``writing``), and from the transaction that replaces or deletes its version until it is
gone (``deleting``). A journal row older than any upload can take therefore names a blob that
no committed version uses. The sweep is platform maintenance: it reads no object and decides
nothing about a tenant's data, so it runs as a background job without the gate
(docs/decisions/0151). Data keys exist only wrapped inside blobs and version rows, so a removed
orphan leaves no orphan data key.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import delete, select

from lakevault.core import Clock
from lakevault.db import Database, models
from lakevault.jobs import PeriodicTask, RetryPolicy, TaskContext, TaskDefinition
from lakevault.storage._backends import ObjectBackend
from lakevault.storage._inline import is_inline_blob

SWEEP_TASK = "storage.sweep-orphans"
#: Journal rows younger than this are uploads that may still be running.
DEFAULT_ORPHAN_AGE = timedelta(hours=24)


def delete_blob(backend: ObjectBackend, blob_path: str) -> None:
    """Delete one blob, or every part blob under a multipart version's prefix (a path ending in
    ``/``, docs/decisions/0160). Every deletion of a version's blob goes through here. An
    inline version's bytes (ADR 0272) went with its row: nothing to delete."""
    if is_inline_blob(blob_path):
        return
    if blob_path.endswith("/"):
        for path in list(backend.list_paths(blob_path)):
            backend.delete(path)
    else:
        backend.delete(blob_path)


def forget_blob(database: Database, backend: ObjectBackend, blob_path: str) -> bool:
    """Remove a blob and then its journal row; ``False`` if either step failed (retry later).

    A path ending in ``/`` is a multipart version's prefix: every part blob under it goes, then
    the part rows of that version, with the journal row (docs/decisions/0160).
    """
    try:
        delete_blob(backend, blob_path)
        with database.session() as session:
            if blob_path.endswith("/"):
                version_id = blob_path.rstrip("/").rpartition("/")[2]
                session.execute(
                    delete(models.MultipartPart).where(
                        models.MultipartPart.version_id == version_id
                    )
                )
            session.execute(
                delete(models.BlobJournal).where(models.BlobJournal.blob_path == blob_path)
            )
    except Exception:  # noqa: BLE001 - cleanup must not hide the caller's error; the row stays
        return False
    return True


def sweep_orphan_blobs(
    database: Database, backend: ObjectBackend, clock: Clock, *, older_than: timedelta
) -> int:
    """Remove every blob whose journal row is older than ``older_than``; return how many."""
    cutoff = clock.now() - older_than
    with database.read_session() as session:
        paths = session.scalars(
            select(models.BlobJournal.blob_path).where(models.BlobJournal.created_at < cutoff)
        ).all()
    return sum(forget_blob(database, backend, path) for path in paths)


#: Rows of pre-signed URLs are kept this long after they expire (for an inquiry), then go.
EXPIRED_URL_AGE = timedelta(days=1)


def forget_expired_presigned_urls(
    database: Database, clock: Clock, *, older_than: timedelta
) -> int:
    """Delete the rows of pre-signed URLs that expired more than ``older_than`` ago.

    An expired URL is refused by its signature's time check alone; the row only tells what the
    URL was (docs/decisions/0164). Returns how many rows went.
    """
    with database.session() as session:
        result = session.execute(
            delete(models.PresignedUrl).where(
                models.PresignedUrl.expires_at < clock.now() - older_than
            )
        )
    return int(getattr(result, "rowcount", 0) or 0)


class SweepOrphans(BaseModel):
    """Payload of :data:`SWEEP_TASK`: the age (seconds) past which a journalled blob is orphaned."""

    older_than_seconds: float = DEFAULT_ORPHAN_AGE.total_seconds()


def storage_tasks(
    *, database: Database, backend: ObjectBackend, clock: Clock
) -> tuple[list[TaskDefinition[SweepOrphans]], list[PeriodicTask]]:
    """The storage sweep and its hourly schedule, for ``runtime/_tasks.py``."""

    def sweep(context: TaskContext, payload: SweepOrphans) -> None:
        sweep_orphan_blobs(
            database, backend, clock, older_than=timedelta(seconds=payload.older_than_seconds)
        )
        forget_expired_presigned_urls(database, clock, older_than=EXPIRED_URL_AGE)

    return (
        [
            TaskDefinition(
                name=SWEEP_TASK,
                payload_model=SweepOrphans,
                handler=sweep,
                timeout_seconds=1800.0,
                retry=RetryPolicy(max_attempts=3, base_delay_seconds=60.0),
            )
        ],
        [
            PeriodicTask(
                name="storage-sweep-orphans",
                task_name=SWEEP_TASK,
                cron="17 * * * *",
                payload=SweepOrphans(),
                catch_up_seconds=3600.0,
            )
        ],
    )
