"""The platform's daily job aborts multipart uploads older than the configured days."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from lakevault.core import FixedClock, load_settings
from lakevault.db import models
from lakevault.runtime import Platform, initialise
from lakevault.storage import ABORT_UPLOADS_TASK, AbortStaleUploads


def test_the_abort_job_removes_old_uploads_with_their_parts_and_keeps_young_ones(
    tmp_path: Path,
) -> None:
    clock = FixedClock(datetime.now(UTC))
    platform = Platform.build(
        load_settings(
            {
                "LAKEVAULT_HOME": str(tmp_path / "home"),
                "LAKEVAULT_STORAGE_MULTIPART_ABORT_AFTER_DAYS": "3",
            }
        ),
        clock=clock,
    )
    initialise(platform)
    assert ABORT_UPLOADS_TASK in {task.name for task in platform.jobs.registry.tasks}
    (schedule,) = [s for s in platform.jobs.registry.periodic if s.task_name == ABORT_UPLOADS_TASK]
    assert isinstance(schedule.payload, AbortStaleUploads)
    assert schedule.payload.older_than_days == 3
    backend = platform.storage.backend
    account = "111111111111"
    with platform.database.session() as session:
        session.add(models.Tenant(account_id=account, name="t", created_at=clock.now()))
        session.add(
            models.Bucket(
                name="b",
                account_id=account,
                kms_key_id="key",
                versioning="Unversioned",
                tags={},
                block_public_access=True,
                created_at=clock.now(),
            )
        )

    def upload(upload_id: str, version_id: str) -> None:
        path = f"{account}/b/{version_id}/00001-aa"
        writer = backend.open_write(path)
        writer.write(memoryview(b"an encrypted part"))
        writer.commit()
        with platform.database.session() as session:
            session.add(
                models.MultipartUpload(
                    upload_id=upload_id,
                    version_id=version_id,
                    bucket_name="b",
                    account_id=account,
                    key="k",
                    content_type="binary/octet-stream",
                    user_metadata={},
                    kms_key_id="key",
                    key_version=1,
                    wrapped_data_key=b"wrapped",
                    initiator_arn=f"arn:aws:iam::{account}:user/u",
                    initiated_at=clock.now(),
                )
            )
            session.add(
                models.MultipartPart(
                    version_id=version_id,
                    part_number=1,
                    upload_id=upload_id,
                    blob_path=path,
                    size=17,
                    stored_size=17,
                    offset=0,
                    etag='"x"',
                    sha256="0" * 64,
                    last_modified=clock.now(),
                )
            )

    upload("old", "a" * 32)
    clock.advance(seconds=3 * 86400 + 1)
    upload("young", "b" * 32)
    with platform.database.session() as session:
        platform.jobs.enqueue(session, ABORT_UPLOADS_TASK, schedule.payload)
    platform.jobs.run_worker(name="t", until_idle=True)
    assert sorted(backend.list_paths(f"{account}/")) == [f"{account}/b/{'b' * 32}/00001-aa"]
    with platform.database.read_session() as session:
        assert list(session.scalars(select(models.MultipartUpload.upload_id))) == ["young"]
        assert list(session.scalars(select(models.MultipartPart.upload_id))) == ["young"]
        assert list(session.scalars(select(models.BlobJournal.blob_path))) == []
    platform.close()
